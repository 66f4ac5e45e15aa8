import { randomToken, sha256Hex } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/database.js";
import type { Actor } from "../access/principal.js";
import type { SessionView } from "./identity.schemas.js";

/**
 * Portal sessions as rows: a `Session` (the `sid` of every access token it mints, absolute lifetime 12 h) and
 * its chain of refresh tokens, each used once and stored as SHA-256 (256 random bits: a slow hash adds
 * nothing). Revoking the row ends the session at once: src/http/auth-session.ts checks it on every request.
 */
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/**
 * A refresh token left unused this long expires (capped by the session's end): an open portal refreshes every
 * few minutes, so only an abandoned browser reaches it, and then it must sign in again.
 */
export const REFRESH_IDLE_MS = 2 * 60 * 60 * 1000;

export type RevokeReason = "logout" | "password_changed" | "user_disabled" | "refresh_reuse" | "admin";

/** A session just issued or refreshed: what the routes turn into cookies and the sign-in answer. */
export interface IssuedSession {
  sessionId: string;
  userId: string;
  tenantId: string;
  sessionExpiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

export interface SignedIn {
  session: IssuedSession;
  view: SessionView;
}

export const refreshTokenHash = (token: string): string => sha256Hex(token);

const refreshExpiry = (now: number, sessionExpiresAt: Date): Date => new Date(Math.min(now + REFRESH_IDLE_MS, sessionExpiresAt.getTime()));

/** Creates the session row and its first refresh token, inside the caller's transaction. */
export async function createSession(db: Db, actor: Actor, account: { userId: string; tenantId: string }): Promise<IssuedSession> {
  const now = Date.now();
  const session = await db.session.create({
    data: { userId: account.userId, tenantId: account.tenantId, expiresAt: new Date(now + SESSION_LIFETIME_MS), ip: actor.ip, userAgent: actor.userAgent },
  });
  return addRefreshToken(db, { id: session.id, userId: session.userId, tenantId: session.tenantId, expiresAt: session.expiresAt }, now);
}

/** The next link of a session's refresh chain (the caller has marked the previous one used). */
export async function addRefreshToken(
  db: Db,
  session: { id: string; userId: string; tenantId: string; expiresAt: Date },
  now = Date.now(),
): Promise<IssuedSession> {
  const refreshToken = randomToken(32);
  const refreshExpiresAt = refreshExpiry(now, session.expiresAt);
  await db.refreshToken.create({ data: { tokenHash: refreshTokenHash(refreshToken), sessionId: session.id, expiresAt: refreshExpiresAt } });
  return { sessionId: session.id, userId: session.userId, tenantId: session.tenantId, sessionExpiresAt: session.expiresAt, refreshToken, refreshExpiresAt };
}

/** Ends one session; false when it had already ended. */
export async function revokeSession(db: Db, sessionId: string, reason: RevokeReason): Promise<boolean> {
  const { count } = await db.session.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
  return count === 1;
}

/** Ends every live session of an account, in every tenant; returns how many were live. */
export async function revokeUserSessions(db: Db, userId: string, reason: RevokeReason): Promise<number> {
  const { count } = await db.session.updateMany({
    where: { userId, revokedAt: null, expiresAt: { gt: new Date() } },
    data: { revokedAt: new Date(), revokedReason: reason },
  });
  return count;
}
