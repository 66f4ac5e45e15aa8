import type { PrismaClient } from "../../platform/db/database.js";
import { ConflictError, ForbiddenError, UnauthenticatedError, ValidationError } from "../../platform/errors.js";
import { burnPasswordCheck, hashPassword, verifyPassword } from "../../platform/passwords.js";
import { requireUser } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import type { MfaService } from "../mfa/mfa.service.js";
import type { LoginBody, PasswordChangeBody, SessionView } from "./identity.schemas.js";
import { assertAcceptablePassword } from "./password-policy.js";
import { createSessionRefresh } from "./session-refresh.js";
import { revokeSession, revokeUserSessions, type SignedIn } from "./sessions.js";
import { loadAccount, sessionViewOf, type Account, type SignIn, type SignInStep } from "./sign-in.js";

export type IdentityService = ReturnType<typeof createIdentityService>;

const BAD_CREDENTIALS = "The email or password is wrong.";
const SIGN_IN_AGAIN = "The session is no longer valid; sign in again.";

/**
 * Sign-in (password, then MFA when due), session refresh (src/modules/identity/session-refresh.ts), sign-out,
 * and the caller's own account (profile, password). The routes turn sessions into cookies.
 */
export function createIdentityService(deps: { prisma: PrismaClient; signIn: SignIn; mfa: Pick<MfaService, "verifySecondFactor" | "beginEnrolment" | "confirmEnrolment"> }) {
  const { prisma, signIn, mfa } = deps;

  /** The account an `mfaToken` names, if it may still sign in. */
  async function accountFor(userId: string, tenantId: string): Promise<Account> {
    const account = await loadAccount(prisma, userId, tenantId);
    if (!account) throw new UnauthenticatedError("This account can no longer sign in here.", "mfa_token_invalid");
    return account;
  }

  const mfaUser = (a: Account) => ({ id: a.user.id, email: a.user.email, tenantId: a.tenant.id });

  return {
    async login(actor: Actor, input: LoginBody): Promise<SignInStep> {
      const email = input.email.trim().toLowerCase();
      const user = await prisma.user.findUnique({
        where: { email },
        include: { memberships: { include: { tenant: true }, orderBy: { createdAt: "asc" } } },
      });
      if (!user) {
        // Same work and the same answer as a wrong password: whether an account exists stays secret.
        await burnPasswordCheck(input.password);
        throw new UnauthenticatedError(BAD_CREDENTIALS, "invalid_credentials");
      }
      const passwordOk = await verifyPassword(input.password, user.passwordHash);
      const failed = async (reason: string, tenantId = user.memberships[0]?.tenantId) => {
        if (!tenantId) return;
        await prisma.$transaction((tx) =>
          appendAudit(tx, actor, { tenantId, action: "auth.login_failed", targetType: "user", targetId: user.id, subjectUserId: user.id, data: { reason } }),
        );
      };
      if (!passwordOk || user.status !== "active") {
        await failed(passwordOk ? "user_disabled" : "bad_password");
        throw new UnauthenticatedError(BAD_CREDENTIALS, "invalid_credentials");
      }

      const live = user.memberships.filter((m) => m.tenant.status !== "closed");
      const membership = input.tenant ? live.find((m) => m.tenant.slug === input.tenant) : live.length === 1 ? live[0] : undefined;
      if (!membership) {
        if (input.tenant || live.length === 0) {
          await failed("no_tenant_access");
          throw new ForbiddenError("This account has no access to that tenant.", "no_tenant_access");
        }
        throw new ConflictError("This account belongs to several tenants; say which with `tenant`.", "tenant_required", {
          tenants: live.map((m) => m.tenant.slug),
        });
      }
      const account: Account = { user, tenant: membership.tenant, role: membership.role };
      const step = await signIn.nextStep(user.id, membership.tenant);
      return prisma.$transaction((tx) => signIn.complete(tx, actor, account, step));
    },

    /** Second step of a sign-in: a TOTP or recovery code for the account the `mfaToken` names. */
    async verifyMfa(actor: Actor, claims: { userId: string; tenantId: string }, code: string): Promise<SignedIn> {
      const account = await accountFor(claims.userId, claims.tenantId);
      const { method } = await mfa.verifySecondFactor(actor, mfaUser(account), code);
      return prisma.$transaction((tx) => signIn.issue(tx, actor, account, { mfa: method }));
    },

    /** Enrolment during sign-in, for a tenant that requires MFA: a new secret for the app. */
    async beginMfaEnrolment(actor: Actor, claims: { userId: string; tenantId: string }) {
      return mfa.beginEnrolment(actor, mfaUser(await accountFor(claims.userId, claims.tenantId)));
    },

    /** The app's first code activates the factor; the sign-in completes and the recovery codes are shown once. */
    async confirmMfaEnrolment(actor: Actor, claims: { userId: string; tenantId: string }, code: string): Promise<SignedIn & { recoveryCodes: string[] }> {
      const account = await accountFor(claims.userId, claims.tenantId);
      const { recoveryCodes } = await mfa.confirmEnrolment(actor, mfaUser(account), code);
      const signedIn = await prisma.$transaction((tx) => signIn.issue(tx, actor, account, { mfa: "totp", enrolled: true }));
      return { ...signedIn, recoveryCodes };
    },

    refresh: createSessionRefresh({ prisma }),

    async logout(actor: Actor): Promise<void> {
      const p = requireUser(actor);
      await prisma.$transaction(async (tx) => {
        await revokeSession(tx, p.sessionId, "logout");
        await appendAudit(tx, actor, { tenantId: p.tenantId, action: "auth.logout", targetType: "session", targetId: p.sessionId, data: { sessionId: p.sessionId } });
      });
    },

    async me(actor: Actor): Promise<SessionView> {
      const p = requireUser(actor);
      const account = await loadAccount(prisma, p.userId, p.tenantId);
      if (!account) throw new UnauthenticatedError(SIGN_IN_AGAIN, "session_invalid");
      return sessionViewOf(account);
    },

    /**
     * A new password ends every session of the account (a thief's included) and gives the caller a fresh one,
     * so the person changing it stays signed in on this device only.
     */
    async changePassword(actor: Actor, input: PasswordChangeBody): Promise<SignedIn> {
      const p = requireUser(actor);
      const user = await prisma.user.findUniqueOrThrow({ where: { id: p.userId } });
      if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
        throw new ValidationError("/body/currentPassword is not the account's current password.", [{ field: "/body/currentPassword", reason: "is not your current password" }]);
      }
      assertAcceptablePassword(input.newPassword, "/body/newPassword", { email: user.email });
      if (input.newPassword === input.currentPassword) {
        throw new ValidationError("/body/newPassword must differ from the current password.", [{ field: "/body/newPassword", reason: "must differ from the current password" }]);
      }
      const passwordHash = await hashPassword(input.newPassword);
      const account = await loadAccount(prisma, p.userId, p.tenantId);
      if (!account) throw new UnauthenticatedError(SIGN_IN_AGAIN, "session_invalid");
      return prisma.$transaction(async (tx) => {
        await tx.user.update({ where: { id: user.id }, data: { passwordHash, passwordChangedAt: new Date() } });
        const count = await revokeUserSessions(tx, user.id, "password_changed");
        const signedIn = await signIn.renew(tx, actor, account);
        const event = { tenantId: p.tenantId, targetType: "user", targetId: user.id };
        await appendAudit(tx, actor, { ...event, action: "user.password_changed", data: { sessionsRevoked: count, newSessionId: signedIn.session.sessionId } });
        if (count) await appendAudit(tx, actor, { ...event, action: "session.revoked", data: { reason: "password_changed", count } });
        return signedIn;
      });
    },
  };
}
