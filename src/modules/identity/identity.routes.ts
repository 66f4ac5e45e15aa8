import { Type } from "typebox";
import { CSRF_HEADER, JWT_AUDIENCE, JWT_ISSUER, SESSION_COOKIE, SESSION_TTL_SECONDS, csrfTokenFor, type SessionClaims } from "../../http/authentication.js";
import type { App } from "../../http/route-types.js";
import { requireUser } from "../access/authorize.js";
import type { IdentityService } from "./identity.service.js";
import { CsrfView, LoginBody, LoginResult, SessionView } from "./identity.schemas.js";

export interface IdentityRouteOptions {
  identity: IdentityService;
  jwtSecret: string;
  secureCookies: boolean;
}

export async function identityRoutes(app: App, opts: IdentityRouteOptions) {
  const { identity } = opts;
  const cookieOptions = { httpOnly: true, secure: opts.secureCookies, sameSite: "strict" as const, path: "/" };

  app.post(
    "/v1/auth/login",
    {
      config: { public: true },
      schema: { operationId: "login", tags: ["auth"], summary: "Sign in with email and password", body: LoginBody, response: { 200: LoginResult } },
    },
    async (request, reply) => {
      const session = await identity.login(request.actor, request.body);
      const claims: SessionClaims = { sub: session.userId, tid: session.tenantId, sid: session.sessionId, typ: "session" };
      const token = app.jwt.sign(claims, { expiresIn: SESSION_TTL_SECONDS, aud: JWT_AUDIENCE, iss: JWT_ISSUER });
      reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions, maxAge: SESSION_TTL_SECONDS });
      return {
        status: "authenticated" as const,
        csrfToken: csrfTokenFor(opts.jwtSecret, session.sessionId),
        expiresAt: new Date(Date.now() + SESSION_TTL_SECONDS * 1000).toISOString(),
        session: session.view,
      };
    },
  );

  app.post(
    "/v1/auth/logout",
    { schema: { operationId: "logout", tags: ["auth"], summary: "End the portal session", response: { 204: Type.Null() } } },
    async (request, reply) => {
      await identity.logout(request.actor);
      reply.clearCookie(SESSION_COOKIE, cookieOptions);
      return reply.status(204).send(null);
    },
  );

  app.get(
    "/v1/auth/csrf",
    { schema: { operationId: "getCsrfToken", tags: ["auth"], summary: `The ${CSRF_HEADER} value for the current session`, response: { 200: CsrfView } } },
    async (request) => {
      return { csrfToken: csrfTokenFor(opts.jwtSecret, requireUser(request.actor).sessionId) };
    },
  );

  app.get(
    "/v1/me",
    { schema: { operationId: "getMe", tags: ["auth"], summary: "The signed-in user, tenant and role", response: { 200: SessionView } } },
    async (request) => identity.me(request.actor),
  );
}
