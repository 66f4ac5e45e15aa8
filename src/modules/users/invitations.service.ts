import type { Invitation, Prisma } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import { randomToken, sha256Hex } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { ConflictError, NotFoundError } from "../../platform/errors.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import { authorize, requireUser } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import type { SignIn } from "../identity/sign-in.js";
import { createInvitationAccept } from "./invitation-accept.js";
import { invitationMail } from "./invitation-mail.js";
import type { InvitationCreateBody, InvitationListQuery, InvitationStatus, InvitationView } from "./invitations.schemas.js";

export type InvitationsService = ReturnType<typeof createInvitationsService>;

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

const withInviter = { invitedBy: { select: { id: true, name: true } } } satisfies Prisma.InvitationInclude;
type InvitationRow = Prisma.InvitationGetPayload<{ include: typeof withInviter }>;

/**
 * Invitations to join a tenant with a role: a single-use token (stored as SHA-256) mailed after the commit,
 * valid 7 days. Accepting is src/modules/users/invitation-accept.ts.
 */
export function createInvitationsService(deps: { prisma: PrismaClient; mailer: Pick<Mailer, "send">; signIn: SignIn; publicUrl: string }) {
  const { prisma, mailer, signIn } = deps;

  async function findVisible(actor: Actor, id: string): Promise<InvitationRow> {
    requireUser(actor);
    authorize(actor, "read", "Invitation");
    const row = await prisma.invitation.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Invitation"), { id }] }, include: withInviter });
    if (!row) throw new NotFoundError("Invitation");
    return row;
  }

  return {
    async create(actor: Actor, input: InvitationCreateBody): Promise<InvitationView> {
      // Inviting is a person's act (the mail names them): API keys get 403 user_required.
      const p = requireUser(actor);
      authorize(actor, "create", "Invitation");
      const tenantId = input.tenantId ?? p.tenantId;
      const tenant = await prisma.tenant.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Tenant"), { id: tenantId }] } });
      if (!tenant) throw new NotFoundError("Tenant");
      authorize(actor, "create", "Invitation", { tenantId, role: input.role });
      if (tenant.status === "closed") throw new ConflictError("A closed tenant takes no new members.", "tenant_closed");

      const email = input.email.trim().toLowerCase();
      const token = randomToken(32);
      const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
      const inviterId = p.userId;
      const { invitation, inviterName } = await prisma.$transaction(async (tx) => {
        // One invitation decision per (tenant, email) at a time: the checks below cannot race a twin request.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`invitation:${tenantId}:${email}`}))`;
        const member = await tx.membership.count({ where: { tenantId, user: { email } } });
        if (member) throw new ConflictError(`${email} is already a member of this tenant.`, "already_member");
        const pending = await tx.invitation.count({ where: { tenantId, email, acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } } });
        if (pending) throw new ConflictError(`${email} already has a pending invitation; revoke it to send a new one.`, "invitation_pending");
        const created = await tx.invitation.create({
          data: { tenantId, email, role: input.role, tokenHash: sha256Hex(token), invitedById: inviterId, expiresAt },
          include: withInviter,
        });
        await appendAudit(tx, actor, { tenantId, action: "user.invited", targetType: "invitation", targetId: created.id, data: { email, role: input.role } });
        return { invitation: created, inviterName: created.invitedBy?.name ?? null };
      });

      // After the commit: a mail cannot be rolled back, and no network call runs inside a transaction.
      await mailer.send(invitationMail({ publicUrl: deps.publicUrl, token, tenantId, tenantName: tenant.legalName, to: email, role: input.role, inviterName, expiresAt }));
      return toView(invitation);
    },

    async list(actor: Actor, query: InvitationListQuery): Promise<{ items: InvitationView[]; nextCursor: string | null }> {
      const p = requireUser(actor);
      authorize(actor, "read", "Invitation");
      const after = decodeCursor(query.cursor, ["id"] as const);
      const where: Prisma.InvitationWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("Invitation"),
          { tenantId: query.tenantId ?? p.tenantId },
          query.status ? statusWhere(query.status, new Date()) : {},
          after ? { id: { gt: after.id } } : {},
        ],
      };
      const rows = await prisma.invitation.findMany({ where, include: withInviter, orderBy: { id: "asc" }, take: query.limit + 1 });
      const result = page(rows, query.limit, (i) => ({ id: i.id }));
      return { items: result.items.map((i) => toView(i)), nextCursor: result.nextCursor };
    },

    async revoke(actor: Actor, id: string): Promise<void> {
      const current = await findVisible(actor, id);
      authorize(actor, "delete", "Invitation", current);
      await prisma.$transaction(async (tx) => {
        // Conditional: an invitation accepted a moment ago stays accepted.
        const { count } = await tx.invitation.updateMany({ where: { id, acceptedAt: null, revokedAt: null }, data: { revokedAt: new Date() } });
        if (count === 0) throw new ConflictError("Only a pending invitation can be revoked.", "invitation_not_pending");
        await appendAudit(tx, actor, { tenantId: current.tenantId, action: "invitation.revoked", targetType: "invitation", targetId: id, data: { email: current.email } });
      });
    },

    accept: createInvitationAccept({ prisma, signIn }),
  };
}

function statusWhere(status: InvitationStatus, now: Date): Prisma.InvitationWhereInput {
  switch (status) {
    case "accepted":
      return { acceptedAt: { not: null } };
    case "revoked":
      return { acceptedAt: null, revokedAt: { not: null } };
    case "expired":
      return { acceptedAt: null, revokedAt: null, expiresAt: { lte: now } };
    case "pending":
      return { acceptedAt: null, revokedAt: null, expiresAt: { gt: now } };
  }
}

function statusOf(i: Invitation, now: Date): InvitationStatus {
  if (i.acceptedAt) return "accepted";
  if (i.revokedAt) return "revoked";
  return i.expiresAt <= now ? "expired" : "pending";
}

function toView(i: InvitationRow): InvitationView {
  return {
    id: i.id,
    tenantId: i.tenantId,
    email: i.email,
    role: i.role,
    status: statusOf(i, new Date()),
    invitedBy: i.invitedBy ? { id: i.invitedBy.id, name: i.invitedBy.name } : null,
    createdAt: i.createdAt.toISOString(),
    expiresAt: i.expiresAt.toISOString(),
    acceptedAt: i.acceptedAt?.toISOString() ?? null,
    revokedAt: i.revokedAt?.toISOString() ?? null,
  };
}
