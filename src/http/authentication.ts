import { createHmac } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { PrismaClient } from "../platform/db/database.js";
import { defineAbilityFor } from "../modules/access/abilities.js";
import type { Actor, Principal } from "../modules/access/principal.js";
import { refuseCredentialsInUrl, resolveApiKeyPrincipal } from "./auth-api-key.js";
import { resolveSessionPrincipal } from "./auth-session.js";

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

export const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Authentication: a portal session cookie holding a short-lived JWT (HS256 pinned, audience and type checked).
 * The member's role and the account's status are read fresh on every request, so a disabled user, a closed
 * tenant or a changed role takes effect at once rather than when the token expires.
 */
export interface AuthenticationOptions {
  prisma: PrismaClient;
  jwtSecret: string;
}

export const authenticationPlugin = fp(
  async (app: FastifyInstance, opts: AuthenticationOptions) => {
    app.decorateRequest("actor", null as unknown as Actor);

    app.addHook("onRequest", async (request) => {
      // A key pasted into a URL is refused (and revoked) everywhere, public routes included: URLs end up in logs.
      await refuseCredentialsInUrl(opts.prisma, request);
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
      // An Authorization header means an API client: its key decides, and any cookie is ignored.
      if (request.headers.authorization !== undefined) return resolveApiKeyPrincipal(opts.prisma, request);
      return resolveSessionPrincipal(app, opts, request);
    }
  },
  { name: "authentication", dependencies: ["problem", "@fastify/cookie", "@fastify/jwt"] },
);
