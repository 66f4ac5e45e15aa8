import type { MfaFactor } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";

/**
 * Guessing limits for a factor: at most 10 failed attempts (wrong or replayed codes, wrong passwords on
 * disable/regenerate) per account per 15 minutes, from any IP. The window opens at the first failure and the
 * counter lives on the factor row, so every API process shares it. Callers hold the row lock
 * (`lockFactor`) while they check and count, so concurrent guesses cannot slip past the limit.
 */
export const MAX_FAILURES = 10;
export const FAILURE_WINDOW_MS = 15 * 60 * 1000;

export interface MfaSubject {
  id: string;
  tenantId: string;
}

/** Reads the factor row locked for the rest of the transaction (null when the user has none). */
export async function lockFactor(tx: Db, userId: string): Promise<MfaFactor | null> {
  await tx.$queryRaw`SELECT 1 FROM enterprise.mfa_factors WHERE user_id = ${userId}::uuid FOR UPDATE`;
  return tx.mfaFactor.findUnique({ where: { userId } });
}

/** Seconds until the factor accepts attempts again; 0 when it is not locked. */
export function lockedForSeconds(factor: Pick<MfaFactor, "failedCount" | "failWindowFrom">, now: number): number {
  if (factor.failedCount < MAX_FAILURES || !factor.failWindowFrom) return 0;
  const until = factor.failWindowFrom.getTime() + FAILURE_WINDOW_MS;
  return until > now ? Math.ceil((until - now) / 1000) : 0;
}

/**
 * Counts one failure (the row must be locked) and audits it; the failure that reaches the limit also records
 * `auth.mfa_locked`, exactly once per window. Returns the failures counted in the window so far.
 */
export async function recordFailure(tx: Db, actor: Actor, user: MfaSubject, factor: MfaFactor, reason: string, now: number): Promise<number> {
  const fresh = !factor.failWindowFrom || factor.failWindowFrom.getTime() + FAILURE_WINDOW_MS <= now;
  const windowFrom = fresh ? new Date(now) : (factor.failWindowFrom as Date);
  const failures = fresh ? 1 : factor.failedCount + 1;
  await tx.mfaFactor.update({ where: { userId: user.id }, data: { failedCount: failures, failWindowFrom: windowFrom } });
  const audit = { tenantId: user.tenantId, targetType: "user", targetId: user.id, subjectUserId: user.id };
  await appendAudit(tx, actor, { ...audit, action: "auth.mfa_failed", data: { reason, failures } });
  if (failures === MAX_FAILURES) {
    const until = new Date(windowFrom.getTime() + FAILURE_WINDOW_MS).toISOString();
    await appendAudit(tx, actor, { ...audit, action: "auth.mfa_locked", data: { failures, until } });
  }
  return failures;
}

/** A success clears the count: the limit is on guessing, not on legitimate use. */
export async function clearFailures(tx: Db, userId: string, extra: { lastUsedStep?: bigint } = {}): Promise<void> {
  await tx.mfaFactor.update({ where: { userId }, data: { failedCount: 0, failWindowFrom: null, ...extra } });
}
