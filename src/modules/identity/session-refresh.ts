import type { PrismaClient } from "../../platform/db/database.js";
import { ForbiddenError, UnauthenticatedError } from "../../platform/errors.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { addRefreshToken, refreshTokenHash, revokeSession, type SignedIn } from "./sessions.js";
import { loadAccount, sessionViewOf } from "./sign-in.js";

const SIGN_IN_AGAIN = "The session is no longer valid; sign in again.";

/**
 * Rotates the refresh token: the presented one is marked used (a conditional update, so of two concurrent uses
 * only one wins) and a new one issued. A used token presented again means it was copied: the whole session is
 * revoked, and its access token stops working at once (src/http/auth-session.ts reads the session row).
 * Reuse is acted on before the CSRF check: a used token is evidence of theft whoever presents it.
 */
export function createSessionRefresh(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  return async function refresh(actor: Actor, token: string | undefined, csrfValid: (sessionId: string) => boolean): Promise<SignedIn> {
    if (!token) throw new UnauthenticatedError("No refresh token was sent; sign in again.", "refresh_token_missing");
    const tokenHash = refreshTokenHash(token);
    const row = await prisma.refreshToken.findUnique({ where: { tokenHash }, include: { session: true } });
    if (!row) throw new UnauthenticatedError("The refresh token is not valid; sign in again.", "refresh_token_invalid");
    const { session } = row;

    /** Revokes the session (committed before the error is thrown) and returns the 401 to throw. */
    const reuse = async () => {
      await prisma.$transaction(async (tx) => {
        const revoked = await revokeSession(tx, session.id, "refresh_reuse");
        const event = { tenantId: session.tenantId, targetType: "session", targetId: session.id, subjectUserId: session.userId };
        await appendAudit(tx, actor, { ...event, action: "auth.refresh_reuse", data: { sessionId: session.id } });
        if (revoked) await appendAudit(tx, actor, { ...event, action: "session.revoked", data: { reason: "refresh_reuse", count: 1 } });
      });
      return new UnauthenticatedError("This refresh token was already used; the session has been ended. Sign in again.", "refresh_token_reused");
    };
    if (row.usedAt) throw await reuse();

    const now = new Date();
    if (session.revokedAt || session.expiresAt <= now || row.expiresAt <= now) throw new UnauthenticatedError(SIGN_IN_AGAIN, "session_invalid");
    if (!csrfValid(session.id)) throw new ForbiddenError("Refreshing needs the x-csrf-token header of the session.", "csrf_token_invalid");
    const account = await loadAccount(prisma, session.userId, session.tenantId);
    if (!account) throw new UnauthenticatedError(SIGN_IN_AGAIN, "session_invalid");

    const issued = await prisma.$transaction(async (tx) => {
      const { count } = await tx.refreshToken.updateMany({ where: { tokenHash, usedAt: null }, data: { usedAt: now } });
      if (count === 0) return null;
      await tx.session.update({ where: { id: session.id }, data: { lastSeenAt: now } });
      return addRefreshToken(tx, session, now.getTime());
    });
    // Lost the race to a concurrent use of the same token: that is a reuse too.
    if (!issued) throw await reuse();
    return { session: issued, view: sessionViewOf(account) };
  };
}
