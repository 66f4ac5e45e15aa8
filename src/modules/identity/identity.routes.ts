import { Type } from "typebox";
import { csrfMatches } from "../../http/auth-session.js";
import { CSRF_HEADER, csrfTokenFor } from "../../http/authentication.js";
import type { App } from "../../http/route-types.js";
import { AppError } from "../../platform/errors.js";
import { requireUser } from "../access/authorize.js";
import { TotpEnrolmentView } from "../mfa/mfa.schemas.js";
import type { IdentityService } from "./identity.service.js";
import {
  Authenticated,
  CsrfView,
  EnrolledResult,
  LoginBody,
  LoginResult,
  MfaEnrolBody,
  MfaEnrolConfirmBody,
  MfaVerifyBody,
  PasswordChangeBody,
  SessionView,
} from "./identity.schemas.js";
import { verifyMfaToken } from "./mfa-token.js";
import { REFRESH_COOKIE, answerSignIn, clearSessionCookies, sendSession } from "./session-cookies.js";

export interface IdentityRouteOptions {
  identity: IdentityService;
  jwtSecret: string;
  secureCookies: boolean;
}

/** Sign-in (password, MFA), refresh, sign-out, and the caller's own account. */
export async function identityRoutes(app: App, opts: IdentityRouteOptions) {
  const { identity } = opts;
  const tags = ["auth"];
  const settings = { jwtSecret: opts.jwtSecret, secureCookies: opts.secureCookies };
  // Sign-in steps are public (no session yet): their credentials are in the body or the refresh cookie.
  const open = { public: true };

  app.post(
    "/v1/auth/login",
    { config: open, schema: { operationId: "login", tags, summary: "Sign in with email and password", body: LoginBody, response: { 200: LoginResult } } },
    async (request, reply) => answerSignIn(app, reply, settings, await identity.login(request.actor, request.body)),
  );

  app.post(
    "/v1/auth/mfa/verify",
    { config: open, schema: { operationId: "verifyMfa", tags, summary: "Complete a sign-in with a TOTP or recovery code", body: MfaVerifyBody, response: { 200: Authenticated } } },
    async (request, reply) => {
      const claims = verifyMfaToken(app, request.body.mfaToken, "verify");
      return sendSession(app, reply, settings, await identity.verifyMfa(request.actor, claims, request.body.code));
    },
  );

  app.post(
    "/v1/auth/mfa/enrol",
    { config: open, schema: { operationId: "beginMfaEnrolmentAtLogin", tags, summary: "Enrol TOTP during sign-in (tenant requires MFA): a new secret, shown once", body: MfaEnrolBody, response: { 200: TotpEnrolmentView } } },
    async (request, reply) => {
      const claims = verifyMfaToken(app, request.body.mfaToken, "enrol");
      reply.header("cache-control", "no-store");
      return identity.beginMfaEnrolment(request.actor, claims);
    },
  );

  app.post(
    "/v1/auth/mfa/enrol/confirm",
    { config: open, schema: { operationId: "confirmMfaEnrolmentAtLogin", tags, summary: "Activate TOTP with the app's code and complete the sign-in; recovery codes shown once", body: MfaEnrolConfirmBody, response: { 200: EnrolledResult } } },
    async (request, reply) => {
      const claims = verifyMfaToken(app, request.body.mfaToken, "enrol");
      const { recoveryCodes, ...signedIn } = await identity.confirmMfaEnrolment(request.actor, claims, request.body.code);
      return { ...sendSession(app, reply, settings, signedIn), recoveryCodes };
    },
  );

  app.post(
    "/v1/auth/refresh",
    { config: open, schema: { operationId: "refreshSession", tags, summary: "Rotate the refresh token and issue a new access cookie", response: { 200: Authenticated } } },
    async (request, reply) => {
      try {
        const signedIn = await identity.refresh(request.actor, request.cookies[REFRESH_COOKIE], (sid) => csrfMatches(opts.jwtSecret, sid, request.headers[CSRF_HEADER]));
        return sendSession(app, reply, settings, signedIn);
      } catch (err) {
        // A refresh token that cannot be used again is of no further use to the browser.
        if (err instanceof AppError && err.status === 401) clearSessionCookies(reply, settings);
        throw err;
      }
    },
  );

  app.post(
    "/v1/auth/logout",
    { schema: { operationId: "logout", tags, summary: "End the portal session (its access token stops working at once)", response: { 204: Type.Null() } } },
    async (request, reply) => {
      await identity.logout(request.actor);
      clearSessionCookies(reply, settings);
      return reply.status(204).send(null);
    },
  );

  app.get(
    "/v1/auth/csrf",
    { schema: { operationId: "getCsrfToken", tags, summary: `The ${CSRF_HEADER} value for the current session`, response: { 200: CsrfView } } },
    async (request) => ({ csrfToken: csrfTokenFor(opts.jwtSecret, requireUser(request.actor).sessionId) }),
  );

  app.get(
    "/v1/me",
    { schema: { operationId: "getMe", tags, summary: "The signed-in user, tenant and role", response: { 200: SessionView } } },
    async (request) => identity.me(request.actor),
  );

  app.post(
    "/v1/me/password",
    { schema: { operationId: "changePassword", tags, summary: "Change the password: ends every session of the account and starts a new one here", body: PasswordChangeBody, response: { 200: Authenticated } } },
    async (request, reply) => sendSession(app, reply, settings, await identity.changePassword(request.actor, request.body)),
  );
}
