import type { Invitation } from "../../generated/prisma/client.js";
import { sha256Hex } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { isUniqueViolation } from "../../platform/db/prisma-errors.js";
import { ConflictError, GoneError, NotFoundError, UnauthenticatedError, ValidationError } from "../../platform/errors.js";
import { hashPassword, verifyPassword } from "../../platform/passwords.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { assertAcceptablePassword } from "../identity/password-policy.js";
import type { Account, SignIn, SignInStep } from "../identity/sign-in.js";
import type { InvitationAcceptBody } from "./invitations.schemas.js";

/**
 * Accepting an invitation (public: the token is the credential). A new account is created with the given name
 * and password; an existing account of the invited email must give its own password, since the invitation alone
 * must not take it over. The invitation is used up in the same transaction that adds the membership, and the
 * person is signed in as after a password (through MFA when the account or tenant needs it).
 */
export function createInvitationAccept(deps: { prisma: PrismaClient; signIn: SignIn }) {
  const { prisma, signIn } = deps;

  return async function accept(actor: Actor, input: InvitationAcceptBody): Promise<SignInStep> {
    const invitation = await prisma.invitation.findUnique({ where: { tokenHash: sha256Hex(input.token) }, include: { tenant: true } });
    if (!invitation) throw new NotFoundError("Invitation", "invitation_not_found");
    assertUsable(invitation, new Date());
    const { tenant } = invitation;
    if (tenant.status === "closed") throw new GoneError("The tenant of this invitation is closed.", "invitation_expired");

    const existing = await prisma.user.findUnique({ where: { email: invitation.email } });
    let passwordHash: string | null = null;
    if (existing) {
      const ok = await verifyPassword(input.password, existing.passwordHash);
      if (!ok || existing.status !== "active") throw new UnauthenticatedError("The password is wrong for the existing account of this email.", "invalid_credentials");
    } else {
      if (!input.name) throw new ValidationError("/body/name is required to create the account.", [{ field: "/body/name", reason: "is required for a new account" }]);
      assertAcceptablePassword(input.password, "/body/password", { email: invitation.email });
      passwordHash = await hashPassword(input.password);
    }
    const step = await signIn.nextStep(existing?.id ?? null, tenant);

    try {
      return await prisma.$transaction(async (tx) => {
        const now = new Date();
        // Conditional: of two concurrent acceptances only one uses the invitation.
        const { count } = await tx.invitation.updateMany({ where: { id: invitation.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: now } }, data: { acceptedAt: now } });
        if (count === 0) throw new GoneError("This invitation has just been used or revoked.", "invitation_used");
        const user = existing ?? (await tx.user.create({ data: { email: invitation.email, name: input.name as string, passwordHash: passwordHash as string } }));
        await tx.membership.create({ data: { tenantId: tenant.id, userId: user.id, role: invitation.role } });
        await appendAudit(tx, actor, {
          tenantId: tenant.id,
          action: "invitation.accepted",
          targetType: "invitation",
          targetId: invitation.id,
          subjectUserId: user.id,
          data: { userId: user.id, email: user.email, role: invitation.role, newAccount: !existing },
        });
        const account: Account = { user, tenant, role: invitation.role };
        return signIn.complete(tx, actor, account, step, { via: "invitation" });
      });
    } catch (err) {
      // The membership (or, in a race, the account) exists already; the transaction left the invitation unused.
      if (isUniqueViolation(err)) throw new ConflictError("This account is already a member of the tenant.", "already_member");
      throw err;
    }
  };
}

/** 410 with the reason when the invitation can no longer be used. */
function assertUsable(i: Invitation, now: Date): void {
  if (i.acceptedAt) throw new GoneError("This invitation has already been used.", "invitation_used");
  if (i.revokedAt) throw new GoneError("This invitation was revoked; ask for a new one.", "invitation_revoked");
  if (i.expiresAt <= now) throw new GoneError("This invitation has expired; ask for a new one.", "invitation_expired");
}
