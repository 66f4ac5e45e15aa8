import type { FastifyInstance, FastifyReply } from "fastify";
import { JWT_AUDIENCE, JWT_ISSUER, SESSION_COOKIE, SESSION_TTL_SECONDS, csrfTokenFor, type SessionClaims } from "../../http/authentication.js";
import type { Authenticated, LoginResult } from "./identity.schemas.js";
import { signMfaToken } from "./mfa-token.js";
import type { SignedIn } from "./sessions.js";
import type { SignInStep } from "./sign-in.js";

/**
 * The HTTP form of a session: the access JWT in `conekt_session` (sent everywhere, at most 15 minutes) and the
 * refresh token in `conekt_refresh`, sent only to /v1/auth/* so it travels as rarely as possible.
 * Both HttpOnly, SameSite=Strict, Secure when PUBLIC_URL is https.
 */
export const REFRESH_COOKIE = "conekt_refresh";
const REFRESH_PATH = "/v1/auth";

export interface CookieSettings {
  jwtSecret: string;
  secureCookies: boolean;
}

const base = (s: CookieSettings) => ({ httpOnly: true, secure: s.secureCookies, sameSite: "strict" as const });
const secondsUntil = (at: Date, now: number) => Math.max(1, Math.floor((at.getTime() - now) / 1000));

/** Signs the access token, sets both cookies, and returns the `authenticated` answer. */
export function sendSession(app: FastifyInstance, reply: FastifyReply, settings: CookieSettings, signedIn: SignedIn): Authenticated {
  const { session, view } = signedIn;
  const now = Date.now();
  // An access token never outlives its session.
  const accessSeconds = Math.min(SESSION_TTL_SECONDS, secondsUntil(session.sessionExpiresAt, now));
  const claims: SessionClaims = { sub: session.userId, tid: session.tenantId, sid: session.sessionId, typ: "session" };
  const token = app.jwt.sign(claims, { expiresIn: accessSeconds, aud: JWT_AUDIENCE, iss: JWT_ISSUER });
  reply.setCookie(SESSION_COOKIE, token, { ...base(settings), path: "/", maxAge: accessSeconds });
  reply.setCookie(REFRESH_COOKIE, session.refreshToken, { ...base(settings), path: REFRESH_PATH, maxAge: secondsUntil(session.refreshExpiresAt, now) });
  // Session tokens must never be stored by a cache between us and the browser.
  reply.header("cache-control", "no-store");
  return {
    status: "authenticated",
    csrfToken: csrfTokenFor(settings.jwtSecret, session.sessionId),
    expiresAt: new Date(now + accessSeconds * 1000).toISOString(),
    sessionExpiresAt: session.sessionExpiresAt.toISOString(),
    session: view,
  };
}

export function clearSessionCookies(reply: FastifyReply, settings: CookieSettings): void {
  reply.clearCookie(SESSION_COOKIE, { ...base(settings), path: "/" });
  reply.clearCookie(REFRESH_COOKIE, { ...base(settings), path: REFRESH_PATH });
}

/** The answer to a verified password (login, invitation accepted): a session, or the MFA step it needs first. */
export function answerSignIn(app: FastifyInstance, reply: FastifyReply, settings: CookieSettings, step: SignInStep): LoginResult {
  if (step.kind === "session") return sendSession(app, reply, settings, step.signedIn);
  reply.header("cache-control", "no-store");
  const mfaToken = signMfaToken(app, step, step.purpose);
  return step.purpose === "verify" ? { status: "mfa_required", mfaToken } : { status: "mfa_enrollment_required", mfaToken };
}
