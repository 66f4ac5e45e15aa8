import type { Role, TenantKind } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import type { MfaService } from "../mfa/mfa.service.js";
import type { TenantSettings } from "../tenants/tenants.schemas.js";
import type { SessionView } from "./identity.schemas.js";
import type { MfaPurpose } from "./mfa-token.js";
import { createSession, type SignedIn } from "./sessions.js";

/** An account acting in one tenant, whose password (or invitation) has just been checked. */
export interface Account {
  user: { id: string; email: string; name: string };
  tenant: { id: string; slug: string; legalName: string; kind: TenantKind; settings: unknown };
  role: Role;
}

export type SignInStep = { kind: "session"; signedIn: SignedIn } | { kind: "mfa"; purpose: MfaPurpose; userId: string; tenantId: string };

export const sessionViewOf = (a: Account): SessionView => ({
  user: { id: a.user.id, email: a.user.email, name: a.user.name },
  tenant: { id: a.tenant.id, slug: a.tenant.slug, legalName: a.tenant.legalName, kind: a.tenant.kind },
  role: a.role,
});

/**
 * The member `userId` of `tenantId` while they may still sign in there (account active, tenant not closed), or
 * null. Read again at every step after the password, since an account can be disabled in between.
 */
export async function loadAccount(db: Db, userId: string, tenantId: string): Promise<Account | null> {
  const m = await db.membership.findUnique({
    where: { tenantId_userId: { tenantId, userId } },
    select: {
      role: true,
      user: { select: { id: true, email: true, name: true, status: true } },
      tenant: { select: { id: true, slug: true, legalName: true, kind: true, settings: true, status: true } },
    },
  });
  if (!m || m.user.status !== "active" || m.tenant.status === "closed") return null;
  return { user: m.user, tenant: m.tenant, role: m.role };
}

/**
 * What follows a verified password, shared by login and invitation acceptance: a second factor when the
 * account has one, MFA enrolment when the tenant requires MFA and the account has none, else a session.
 */
export function createSignIn(deps: { mfa: Pick<MfaService, "hasConfirmedFactor"> }) {
  const { mfa } = deps;

  /**
   * The step after the password for `userId` (null: an account about to be created) in `tenant`.
   * Read before the caller's transaction opens (it queries with the root client).
   */
  async function nextStep(userId: string | null, tenant: { settings: unknown }): Promise<"session" | MfaPurpose> {
    if (userId && (await mfa.hasConfirmedFactor(userId))) return "verify";
    return (tenant.settings as Partial<TenantSettings> | null)?.mfaRequired === true ? "enrol" : "session";
  }

  /** A session for an account already signed in (after a password change): the row and its refresh token. */
  async function renew(tx: Db, actor: Actor, account: Account): Promise<SignedIn> {
    const session = await createSession(tx, actor, { userId: account.user.id, tenantId: account.tenant.id });
    return { session, view: sessionViewOf(account) };
  }

  /** Issues the session of a sign-in: the row, its first refresh token, the last-login time and the audit event. */
  async function issue(tx: Db, actor: Actor, account: Account, data: Record<string, unknown> = {}): Promise<SignedIn> {
    const session = await createSession(tx, actor, { userId: account.user.id, tenantId: account.tenant.id });
    await tx.user.update({ where: { id: account.user.id }, data: { lastLoginAt: new Date() } });
    await appendAudit(tx, actor, {
      tenantId: account.tenant.id,
      action: "auth.login_succeeded",
      targetType: "user",
      targetId: account.user.id,
      subjectUserId: account.user.id,
      data: { sessionId: session.sessionId, ...data },
    });
    return { session, view: sessionViewOf(account) };
  }

  /** Carries out `step` inside the caller's transaction. */
  async function complete(tx: Db, actor: Actor, account: Account, step: "session" | MfaPurpose, data: Record<string, unknown> = {}): Promise<SignInStep> {
    if (step === "session") return { kind: "session", signedIn: await issue(tx, actor, account, data) };
    await appendAudit(tx, actor, {
      tenantId: account.tenant.id,
      action: "auth.mfa_required",
      targetType: "user",
      targetId: account.user.id,
      subjectUserId: account.user.id,
      data: { step: step === "verify" ? "verify" : "enrol", ...data },
    });
    return { kind: "mfa", purpose: step, userId: account.user.id, tenantId: account.tenant.id };
  }

  return { nextStep, issue, renew, complete };
}

export type SignIn = ReturnType<typeof createSignIn>;
