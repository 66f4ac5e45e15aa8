import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ForbiddenError, UnauthenticatedError } from "../platform/errors.js";
import type { Principal } from "../modules/access/principal.js";
import { CSRF_HEADER, SESSION_COOKIE, UNSAFE_METHODS, csrfTokenFor, type AuthenticationOptions, type SessionClaims } from "./authentication.js";

/** The portal session: the cookie's JWT, the CSRF header on state changes, and the live membership. */
export async function resolveSessionPrincipal(app: FastifyInstance, opts: AuthenticationOptions, request: FastifyRequest): Promise<Principal | null> {
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
