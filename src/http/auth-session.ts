import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Role, TenantKind } from "../generated/prisma/enums.js";
import { ForbiddenError, UnauthenticatedError } from "../platform/errors.js";
import type { Principal } from "../modules/access/principal.js";
import { CSRF_HEADER, SESSION_COOKIE, UNSAFE_METHODS, csrfTokenFor, type AuthenticationOptions, type SessionClaims } from "./authentication.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INVALID = "The session has expired or is invalid; sign in again.";
const ENDED = "The session is no longer valid; sign in again.";

/** Whether `sent` is the CSRF token of session `sessionId` (constant-time). */
export function csrfMatches(secret: string, sessionId: string, sent: unknown): boolean {
  const expected = csrfTokenFor(secret, sessionId);
  return typeof sent === "string" && sent.length === expected.length && timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
}

interface SessionRow {
  user_id: string;
  tenant_id: string;
  expires_at: Date;
  revoked_at: Date | null;
  email: string;
  user_status: string;
  tenant_kind: TenantKind;
  tenant_status: string;
  role: Role | null;
}

/**
 * The portal session: the cookie's JWT, the CSRF header on state changes, then the session row with its
 * account, tenant and membership in one query. The row is what makes sign-out, a password change, a disabled
 * account or a reused refresh token end the session at once rather than when the 15-minute token expires;
 * the role is read fresh, so a changed role applies to the next request.
 */
export async function resolveSessionPrincipal(app: FastifyInstance, opts: AuthenticationOptions, request: FastifyRequest): Promise<Principal | null> {
  const token = request.cookies[SESSION_COOKIE];
  if (!token) return null;
  let claims: SessionClaims;
  try {
    claims = app.jwt.verify<SessionClaims>(token);
  } catch {
    throw new UnauthenticatedError(INVALID, "session_invalid");
  }
  if (claims.typ !== "session" || typeof claims.sid !== "string" || !UUID.test(claims.sid)) throw new UnauthenticatedError(INVALID, "session_invalid");

  if (UNSAFE_METHODS.has(request.method) && !csrfMatches(opts.jwtSecret, claims.sid, request.headers[CSRF_HEADER])) {
    throw new ForbiddenError(`State-changing requests with a session cookie need the ${CSRF_HEADER} header returned at login.`, "csrf_token_invalid");
  }

  const [row] = await opts.prisma.$queryRaw<SessionRow[]>`
    SELECT s.user_id::text, s.tenant_id::text, s.expires_at, s.revoked_at,
           u.email, u.status::text AS user_status, t.kind::text AS tenant_kind, t.status::text AS tenant_status, m.role::text AS role
      FROM enterprise.sessions s
      JOIN enterprise.users u ON u.id = s.user_id
      JOIN enterprise.tenants t ON t.id = s.tenant_id
      LEFT JOIN enterprise.memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
     WHERE s.id = ${claims.sid}::uuid`;
  if (
    !row ||
    row.user_id !== claims.sub ||
    row.tenant_id !== claims.tid ||
    row.revoked_at !== null ||
    row.expires_at.getTime() <= Date.now() ||
    row.user_status !== "active" ||
    row.tenant_status === "closed" ||
    !row.role
  ) {
    throw new UnauthenticatedError(ENDED, "session_invalid");
  }
  return {
    kind: "user",
    userId: row.user_id,
    email: row.email,
    tenantId: row.tenant_id,
    tenantKind: row.tenant_kind,
    role: row.role,
    sessionId: claims.sid,
  };
}
