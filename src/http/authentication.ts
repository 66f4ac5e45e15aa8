import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { PrismaClient } from "../platform/db/database.js";
import { ForbiddenError, UnauthenticatedError } from "../platform/errors.js";
import { defineAbilityFor } from "../modules/access/abilities.js";
import type { Actor, Principal } from "../modules/access/principal.js";

export const SESSION_COOKIE = "conekt_session";
export const CSRF_HEADER = "x-csrf-token";
export const SESSION_TTL_SECONDS = 15 * 60;
export const JWT_AUDIENCE = "conekt:portal";
export const JWT_ISSUER = "conekt";

/** Claims of a portal session token. `typ` stops any other token we sign from being used as a session. */
export interface SessionClaims {
  sub: string;
  tid: string;
  sid: string;
  typ: "session";
}

declare module "fastify" {
  interface FastifyRequest {
    /** The caller, resolved before the handler for every route not marked `config: { public: true }`. */
    actor: Actor;
  }
  interface FastifyContextConfig {
    /** Routes anyone may call (health, login): no credentials are read. */
    public?: boolean;
  }
}

/** The CSRF token is bound to the session id: a page on another origin can neither read nor forge it. */
export function csrfTokenFor(secret: string, sessionId: string): string {
  return createHmac("sha256", secret).update(`csrf:${sessionId}`).digest("base64url");
}

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Authentication: a portal session cookie holding a short-lived JWT (HS256 pinned, audience and type checked).
 * The member's role and the account's status are read fresh on every request, so a disabled user, a closed
 * tenant or a changed role takes effect at once rather than when the token expires.
 */
export const authenticationPlugin = fp(
  async (app: FastifyInstance, opts: { prisma: PrismaClient; jwtSecret: string }) => {
    app.decorateRequest("actor", null as unknown as Actor);

    app.addHook("onRequest", async (request) => {
      const principal = request.routeOptions.config.public ? null : await resolvePrincipal(request);
      request.actor = {
        principal,
        ability: defineAbilityFor(principal),
        ip: request.ip,
        userAgent: request.headers["user-agent"]?.slice(0, 512) ?? null,
        requestId: String(request.id),
      };
    });

    async function resolvePrincipal(request: FastifyRequest): Promise<Principal | null> {
      const token = request.cookies[SESSION_COOKIE];
      if (!token) return null;
      let claims: SessionClaims;
      try {
        claims = app.jwt.verify<SessionClaims>(token);
      } catch {
        throw new UnauthenticatedError("The session has expired or is invalid; sign in again.", "session_invalid");
      }
      if (claims.typ !== "session") throw new UnauthenticatedError("The session has expired or is invalid; sign in again.", "session_invalid");

      if (UNSAFE_METHODS.has(request.method)) {
        const sent = request.headers[CSRF_HEADER];
        const expected = csrfTokenFor(opts.jwtSecret, claims.sid);
        if (typeof sent !== "string" || sent.length !== expected.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(expected))) {
          throw new ForbiddenError(`State-changing requests with a session cookie need the ${CSRF_HEADER} header returned at login.`, "csrf_token_invalid");
        }
      }

      const membership = await opts.prisma.membership.findUnique({
        where: { tenantId_userId: { tenantId: claims.tid, userId: claims.sub } },
        include: { user: { select: { email: true, status: true, passwordChangedAt: true } }, tenant: { select: { kind: true, status: true } } },
      });
      if (!membership || membership.user.status !== "active" || membership.tenant.status === "closed") {
        throw new UnauthenticatedError("The session is no longer valid; sign in again.", "session_invalid");
      }
      return {
        kind: "user",
        userId: claims.sub,
        email: membership.user.email,
        tenantId: claims.tid,
        tenantKind: membership.tenant.kind,
        role: membership.role,
        sessionId: claims.sid,
      };
    }
  },
  { name: "authentication", dependencies: ["problem", "@fastify/cookie", "@fastify/jwt"] },
);
