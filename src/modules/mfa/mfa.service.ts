import type { MfaFactor } from "../../generated/prisma/client.js";
import type { Keyring } from "../../platform/crypto.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { ConflictError, ForbiddenError, RateLimitedError, UnauthenticatedError, ValidationError } from "../../platform/errors.js";
import { verifyPassword } from "../../platform/passwords.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { openSecret, sealSecret } from "./factor-secret.js";
import { clearFailures, lockFactor, lockedForSeconds, recordFailure } from "./mfa.lockout.js";
import { generateRecoveryCodes, hashRecoveryCode, normaliseRecoveryCode } from "./recovery-codes.js";
import { TOTP_CODE, generateTotpSecret, qrSvg, totpUri, verifyTotp } from "./totp.js";

/** The account whose factor is managed. `tenantId` is the audit chain the events are recorded in. */
export interface MfaUser {
  id: string;
  email: string;
  tenantId: string;
}

export type MfaService = ReturnType<typeof createMfaService>;

const INVALID_CODE = "The code is wrong or was already used.";

/**
 * TOTP second factor: enrolment, sign-in verification (called by the identity flow before a session exists),
 * recovery codes, and disabling. Every check that counts (replay, failures) runs with the factor row locked.
 *
 * Who may act: a signed-in user on their own account only; with no principal the caller is the identity flow
 * acting for an account whose password it has just verified (audited with the account as the actor).
 * A wrong password on disable/regenerate answers 403 `invalid_password`, not 401: the session is still good,
 * and clients treat 401 as "signed out". Those wrong passwords count towards the same lockout as wrong codes,
 * so a stolen session cannot be used to guess the password.
 */
export function createMfaService(deps: { prisma: PrismaClient; keyring: Keyring }) {
  const { prisma, keyring } = deps;

  function assertActsFor(actor: Actor, user: MfaUser): void {
    const p = actor.principal;
    if (p && (p.kind !== "user" || p.userId !== user.id)) throw new ForbiddenError("Only the account's owner manages its MFA.", "forbidden");
  }

  const audit = (user: MfaUser, action: string, data?: Record<string, unknown>) => ({
    tenantId: user.tenantId,
    action,
    targetType: "user",
    targetId: user.id,
    subjectUserId: user.id,
    ...(data && { data }),
  });

  async function replaceRecoveryCodes(tx: Db, userId: string): Promise<string[]> {
    const codes = generateRecoveryCodes();
    await tx.recoveryCode.deleteMany({ where: { userId } });
    await tx.recoveryCode.createMany({ data: codes.map((code) => ({ userId, codeHash: hashRecoveryCode(normaliseRecoveryCode(code) as string) })) });
    return codes;
  }

  /**
   * Password re-check for disable/regenerate: refuses while locked, counts a wrong password as a failure.
   * scrypt runs outside any transaction; only the counting takes the row lock.
   */
  async function requirePassword(actor: Actor, user: MfaUser, factor: MfaFactor, password: string, purpose: string): Promise<void> {
    const now = Date.now();
    const locked = lockedForSeconds(factor, now);
    if (locked) throw new RateLimitedError(locked, `Too many failed attempts; try again in ${locked} seconds.`);
    const account = await prisma.user.findUniqueOrThrow({ where: { id: user.id }, select: { passwordHash: true } });
    if (await verifyPassword(password, account.passwordHash)) return;
    const retry = await prisma.$transaction(async (tx) => {
      const current = await lockFactor(tx, user.id);
      if (!current) return 0;
      const lockedNow = lockedForSeconds(current, now);
      if (lockedNow) return lockedNow;
      await recordFailure(tx, actor, user, current, `bad_password:${purpose}`, now);
      return 0;
    });
    if (retry) throw new RateLimitedError(retry, `Too many failed attempts; try again in ${retry} seconds.`);
    throw new ForbiddenError("The password is wrong.", "invalid_password");
  }

  async function confirmedFactor(userId: string): Promise<MfaFactor> {
    const factor = await prisma.mfaFactor.findUnique({ where: { userId } });
    if (!factor?.confirmedAt) throw new ConflictError("MFA is not enabled for this account.", "mfa_not_enabled");
    return factor;
  }

  return {
    async status(userId: string): Promise<{ enabled: boolean; confirmedAt: string | null; recoveryCodesRemaining: number }> {
      const factor = await prisma.mfaFactor.findUnique({ where: { userId }, select: { confirmedAt: true } });
      if (!factor?.confirmedAt) return { enabled: false, confirmedAt: null, recoveryCodesRemaining: 0 };
      const remaining = await prisma.recoveryCode.count({ where: { userId, usedAt: null } });
      return { enabled: true, confirmedAt: factor.confirmedAt.toISOString(), recoveryCodesRemaining: remaining };
    },

    async hasConfirmedFactor(userId: string): Promise<boolean> {
      return (await prisma.mfaFactor.count({ where: { userId, confirmedAt: { not: null } } })) > 0;
    },

    /** Starts (or restarts) enrolment: a new secret, shown once. The failure count of a previous attempt stays. */
    async beginEnrolment(actor: Actor, user: MfaUser): Promise<{ secret: string; otpauthUri: string; qrSvg: string }> {
      assertActsFor(actor, user);
      const secret = generateTotpSecret();
      const sealed = sealSecret(keyring, user.id, secret);
      await prisma.$transaction(async (tx) => {
        const current = await lockFactor(tx, user.id);
        if (current?.confirmedAt) throw new ConflictError("MFA is already enabled; disable it first to enrol a new device.", "mfa_already_enabled");
        await tx.mfaFactor.upsert({
          where: { userId: user.id },
          create: { userId: user.id, ...sealed },
          update: { ...sealed, lastUsedStep: null, createdAt: new Date() },
        });
        await appendAudit(tx, actor, audit(user, "mfa.enrolment_started"));
      });
      const otpauthUri = totpUri(secret, user.email);
      return { secret, otpauthUri, qrSvg: await qrSvg(otpauthUri) };
    },

    /** The first code proves the app holds the secret; activates the factor and issues recovery codes. */
    async confirmEnrolment(actor: Actor, user: MfaUser, code: string): Promise<{ recoveryCodes: string[] }> {
      assertActsFor(actor, user);
      const now = Date.now();
      const outcome = await prisma.$transaction(async (tx) => {
        const factor = await lockFactor(tx, user.id);
        if (!factor) throw new ConflictError("No enrolment is in progress; start one with POST /v1/me/mfa/totp.", "mfa_enrolment_missing");
        if (factor.confirmedAt) throw new ConflictError("MFA is already enabled.", "mfa_already_enabled");
        const locked = lockedForSeconds(factor, now);
        if (locked) return { kind: "locked", retryAfter: locked } as const;
        const step = await verifyTotp(openSecret(keyring, factor), code, { afterStep: factor.lastUsedStep === null ? null : Number(factor.lastUsedStep), now });
        if (step === null) {
          await recordFailure(tx, actor, user, factor, "bad_code:confirm", now);
          return { kind: "wrong" } as const;
        }
        await tx.mfaFactor.update({ where: { userId: user.id }, data: { confirmedAt: new Date(now), lastUsedStep: BigInt(step), failedCount: 0, failWindowFrom: null } });
        const recoveryCodes = await replaceRecoveryCodes(tx, user.id);
        await appendAudit(tx, actor, audit(user, "mfa.enabled", { method: "totp" }));
        return { kind: "ok", recoveryCodes } as const;
      });
      if (outcome.kind === "locked") throw new RateLimitedError(outcome.retryAfter, `Too many wrong codes; try again in ${outcome.retryAfter} seconds.`);
      if (outcome.kind === "wrong") throw new ValidationError("The code does not match; enter the one your authenticator app shows now.", [{ field: "/body/code", reason: "is not the current code" }]);
      return { recoveryCodes: outcome.recoveryCodes };
    },

    /**
     * The second step of a sign-in: a TOTP code (each time step accepted once, one step of drift either way)
     * or an unused recovery code. Failures are committed and audited before the error is thrown.
     */
    async verifySecondFactor(actor: Actor, user: MfaUser, code: string): Promise<{ method: "totp" | "recovery_code" }> {
      assertActsFor(actor, user);
      const now = Date.now();
      const outcome = await prisma.$transaction(async (tx) => {
        const factor = await lockFactor(tx, user.id);
        if (!factor?.confirmedAt) throw new ConflictError("MFA is not enabled for this account.", "mfa_not_enabled");
        const locked = lockedForSeconds(factor, now);
        if (locked) return { kind: "locked", retryAfter: locked } as const;

        if (TOTP_CODE.test(code)) {
          const secret = openSecret(keyring, factor);
          const afterStep = factor.lastUsedStep === null ? null : Number(factor.lastUsedStep);
          const step = await verifyTotp(secret, code, { afterStep, now });
          if (step !== null) {
            await clearFailures(tx, user.id, { lastUsedStep: BigInt(step) });
            return { kind: "ok", method: "totp" } as const;
          }
          // Tell a replay apart in the audit trail: a code seen twice suggests it was observed or phished.
          const replayed = afterStep !== null && (await verifyTotp(secret, code, { now })) !== null;
          await recordFailure(tx, actor, user, factor, replayed ? "replayed_code" : "bad_code", now);
          return { kind: "wrong" } as const;
        }

        const canonical = normaliseRecoveryCode(code);
        if (canonical) {
          // Conditional update: two concurrent uses of one code cannot both succeed.
          const used = await tx.recoveryCode.updateMany({ where: { userId: user.id, codeHash: hashRecoveryCode(canonical), usedAt: null }, data: { usedAt: new Date(now) } });
          if (used.count === 1) {
            await clearFailures(tx, user.id);
            const remaining = await tx.recoveryCode.count({ where: { userId: user.id, usedAt: null } });
            await appendAudit(tx, actor, audit(user, "auth.recovery_code_used", { remaining }));
            return { kind: "ok", method: "recovery_code" } as const;
          }
        }
        await recordFailure(tx, actor, user, factor, "bad_recovery_code", now);
        return { kind: "wrong" } as const;
      });
      if (outcome.kind === "locked") throw new RateLimitedError(outcome.retryAfter, `Too many wrong codes; try again in ${outcome.retryAfter} seconds.`);
      if (outcome.kind === "wrong") throw new UnauthenticatedError(INVALID_CODE, "invalid_mfa_code");
      return { method: outcome.method };
    },

    /** Removes the factor and its recovery codes (the password is asked again). */
    async disable(actor: Actor, user: MfaUser, password: string): Promise<void> {
      assertActsFor(actor, user);
      const factor = await confirmedFactor(user.id);
      await requirePassword(actor, user, factor, password, "disable");
      await prisma.$transaction(async (tx) => {
        const { count } = await tx.mfaFactor.deleteMany({ where: { userId: user.id, confirmedAt: { not: null } } });
        if (count === 0) throw new ConflictError("MFA is not enabled for this account.", "mfa_not_enabled");
        await tx.recoveryCode.deleteMany({ where: { userId: user.id } });
        await appendAudit(tx, actor, audit(user, "mfa.disabled", { method: "totp" }));
      });
    },

    /** Ten fresh recovery codes; the old ones stop working (the password is asked again). */
    async regenerateRecoveryCodes(actor: Actor, user: MfaUser, password: string): Promise<{ recoveryCodes: string[] }> {
      assertActsFor(actor, user);
      const factor = await confirmedFactor(user.id);
      await requirePassword(actor, user, factor, password, "regenerate");
      const recoveryCodes = await prisma.$transaction(async (tx) => {
        const current = await lockFactor(tx, user.id);
        if (!current?.confirmedAt) throw new ConflictError("MFA is not enabled for this account.", "mfa_not_enabled");
        const codes = await replaceRecoveryCodes(tx, user.id);
        await appendAudit(tx, actor, audit(user, "mfa.recovery_codes_regenerated"));
        return codes;
      });
      return { recoveryCodes };
    },
  };
}
