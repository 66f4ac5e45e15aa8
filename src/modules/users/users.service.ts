import type { Prisma } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { ConflictError, NotFoundError } from "../../platform/errors.js";
import { authorize, requireUser } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { revokeUserSessions } from "../identity/sessions.js";
import type { UserListQuery, UserPatchBody, UserView } from "./users.schemas.js";

export type UsersService = ReturnType<typeof createUsersService>;

const memberSelect = {
  tenantId: true,
  userId: true,
  role: true,
  createdAt: true,
  user: { select: { email: true, name: true, status: true, lastLoginAt: true, mfaFactor: { select: { confirmedAt: true } } } },
} satisfies Prisma.MembershipSelect;
type Member = Prisma.MembershipGetPayload<{ select: typeof memberSelect }>;

/**
 * The members of the caller's tenant. Every member may list them; owners and admins change roles and disable
 * accounts (admins never touch owners). The tenant always keeps an active owner, and nobody changes themselves.
 */
export function createUsersService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /** A member of the caller's tenant the caller may see, or 404 (another tenant's user is never disclosed). */
  async function findVisible(db: Db, actor: Actor, userId: string): Promise<Member> {
    const p = requireUser(actor);
    const member = await db.membership.findFirst({
      where: { AND: [accessibleBy(actor.ability, "read").ofType("Membership"), { tenantId: p.tenantId, userId }] },
      select: memberSelect,
    });
    if (!member) throw new NotFoundError("User");
    return member;
  }

  return {
    async list(actor: Actor, query: UserListQuery): Promise<{ items: UserView[]; nextCursor: string | null }> {
      // Members are people's business: API keys get 403 user_required, before any rule is consulted.
      const p = requireUser(actor);
      authorize(actor, "read", "Membership");
      const after = decodeCursor(query.cursor, ["id"] as const);
      const where: Prisma.MembershipWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("Membership"),
          { tenantId: p.tenantId },
          query.role ? { role: query.role } : {},
          query.status ? { user: { status: query.status } } : {},
          // User ids are UUIDv7: id order is account creation order, stable as members join.
          after ? { userId: { gt: after.id } } : {},
        ],
      };
      const rows = await prisma.membership.findMany({ where, select: memberSelect, orderBy: { userId: "asc" }, take: query.limit + 1 });
      const result = page(rows, query.limit, (m) => ({ id: m.userId }));
      return { items: result.items.map(toView), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, userId: string): Promise<UserView> {
      requireUser(actor);
      authorize(actor, "read", "Membership");
      return toView(await findVisible(prisma, actor, userId));
    },

    async update(actor: Actor, userId: string, patch: UserPatchBody): Promise<UserView> {
      const p = requireUser(actor);
      authorize(actor, "read", "Membership");
      const current = await findVisible(prisma, actor, userId);
      // The rule's conditions see the member as it is and as it would be: an admin can neither change an owner
      // nor make anyone one.
      authorize(actor, "update", "Membership", { tenantId: current.tenantId, userId, role: current.role });
      if (patch.role) authorize(actor, "update", "Membership", { tenantId: current.tenantId, userId, role: patch.role });
      if (userId === p.userId) throw new ConflictError("You cannot change your own role or status; ask another owner or admin.", "self_change");

      const changes: Record<string, { from: string; to: string }> = {};
      if (patch.role && patch.role !== current.role) changes.role = { from: current.role, to: patch.role };
      if (patch.status && patch.status !== current.user.status) changes.status = { from: current.user.status, to: patch.status };
      if (Object.keys(changes).length === 0) return toView(current);

      if (changes.status) {
        // An account is one login across tenants: one tenant's admins must not lock it out of another.
        const elsewhere = await prisma.membership.count({ where: { userId, tenantId: { not: current.tenantId } } });
        if (elsewhere) throw new ConflictError("This account also belongs to other tenants; its status can only be changed by platform support.", "shared_account");
      }

      const updated = await prisma.$transaction(async (tx) => {
        // Serialises changes to one tenant's members, so two concurrent demotions cannot leave it without an owner.
        await tx.$queryRaw`SELECT id FROM enterprise.tenants WHERE id = ${current.tenantId}::uuid FOR UPDATE`;
        const now = await findVisible(tx, actor, userId);
        const losesOwner = now.role === "owner" && now.user.status === "active" && ((patch.role && patch.role !== "owner") || patch.status === "disabled");
        if (losesOwner) {
          const others = await tx.membership.count({ where: { tenantId: now.tenantId, role: "owner", userId: { not: userId }, user: { status: "active" } } });
          if (others === 0) throw new ConflictError("This is the tenant's last active owner; make someone else owner first.", "last_owner");
        }
        if (changes.role) await tx.membership.update({ where: { tenantId_userId: { tenantId: now.tenantId, userId } }, data: { role: changes.role.to as UserView["role"] } });
        if (changes.status) await tx.user.update({ where: { id: userId }, data: { status: changes.status.to as UserView["status"] } });
        const event = { tenantId: now.tenantId, targetType: "user", targetId: userId };
        await appendAudit(tx, actor, { ...event, action: "user.updated", data: { changes } });
        if (changes.status?.to === "disabled") {
          const count = await revokeUserSessions(tx, userId, "user_disabled");
          if (count) await appendAudit(tx, actor, { ...event, action: "session.revoked", data: { reason: "user_disabled", count } });
        }
        return findVisible(tx, actor, userId);
      });
      return toView(updated);
    },
  };
}

function toView(m: Member): UserView {
  return {
    id: m.userId,
    email: m.user.email,
    name: m.user.name,
    role: m.role,
    status: m.user.status,
    mfaEnabled: Boolean(m.user.mfaFactor?.confirmedAt),
    lastLoginAt: m.user.lastLoginAt?.toISOString() ?? null,
    createdAt: m.createdAt.toISOString(),
  };
}
