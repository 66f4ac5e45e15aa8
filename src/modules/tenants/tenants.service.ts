import type { Prisma, Tenant } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { isUniqueViolation } from "../../platform/db/prisma-errors.js";
import { ConflictError, NotFoundError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import {
  DEFAULT_TENANT_SETTINGS,
  type TenantCreateBody,
  type TenantListQuery,
  type TenantPatchBody,
  type TenantSettings,
  type TenantView,
} from "./tenants.schemas.js";

export type TenantsService = ReturnType<typeof createTenantsService>;

/** Customer tenants: onboarding, changes and closing by platform staff; every member reads their own. */
export function createTenantsService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /** A tenant the caller may read, or 404: another tenant's existence is never disclosed. */
  async function findVisible(actor: Actor, id: string): Promise<Tenant> {
    authorize(actor, "read", "Tenant");
    const tenant = await prisma.tenant.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Tenant"), { id }] } });
    if (!tenant) throw new NotFoundError("Tenant");
    return tenant;
  }

  return {
    async create(actor: Actor, input: TenantCreateBody): Promise<TenantView> {
      authorize(actor, "create", "Tenant");
      const settings = { ...DEFAULT_TENANT_SETTINGS, ...input.settings };
      try {
        const tenant = await prisma.$transaction(async (tx) => {
          const created = await tx.tenant.create({
            data: {
              kind: "customer",
              slug: input.slug,
              legalName: input.legalName,
              country: input.country,
              vatId: input.vatId ?? null,
              billingAddress: input.billingAddress,
              billingEmail: input.billingEmail?.toLowerCase() ?? null,
              settings,
            },
          });
          await appendAudit(tx, actor, { tenantId: created.id, action: "tenant.created", targetType: "tenant", targetId: created.id, data: { slug: created.slug, legalName: created.legalName } });
          return created;
        });
        return toView(tenant);
      } catch (err) {
        if (isUniqueViolation(err, "slug")) throw new ConflictError(`A tenant with slug "${input.slug}" already exists.`, "slug_taken");
        throw err;
      }
    },

    async list(actor: Actor, query: TenantListQuery): Promise<{ items: TenantView[]; nextCursor: string | null }> {
      authorize(actor, "read", "Tenant");
      const after = decodeCursor(query.cursor, ["id"] as const);
      const where: Prisma.TenantWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("Tenant"),
          query.status ? { status: query.status } : {},
          query.kind ? { kind: query.kind } : {},
          query.q ? { OR: [{ slug: { contains: query.q, mode: "insensitive" } }, { legalName: { contains: query.q, mode: "insensitive" } }] } : {},
          // Ids are UUIDv7 (time-ordered), so id order is creation order and stays stable as tenants are added.
          after ? { id: { gt: after.id } } : {},
        ],
      };
      const rows = await prisma.tenant.findMany({ where, orderBy: { id: "asc" }, take: query.limit + 1 });
      const result = page(rows, query.limit, (t) => ({ id: t.id }));
      return { items: result.items.map(toView), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, id: string): Promise<TenantView> {
      return toView(await findVisible(actor, id));
    },

    async update(actor: Actor, id: string, patch: TenantPatchBody): Promise<TenantView> {
      const current = await findVisible(actor, id);
      authorize(actor, "update", "Tenant", current);
      if (current.status === "closed") throw new ConflictError("A closed tenant cannot be changed.", "tenant_closed");
      const settings = patch.settings ? { ...settingsOf(current), ...patch.settings } : undefined;
      const data: Prisma.TenantUpdateInput = {
        ...(patch.legalName !== undefined && { legalName: patch.legalName }),
        ...(patch.country !== undefined && { country: patch.country }),
        ...(patch.vatId !== undefined && { vatId: patch.vatId }),
        ...(patch.billingAddress !== undefined && { billingAddress: patch.billingAddress }),
        ...(patch.billingEmail !== undefined && { billingEmail: patch.billingEmail?.toLowerCase() ?? null }),
        ...(patch.status !== undefined && { status: patch.status }),
        ...(settings && { settings }),
      };
      const updated = await prisma.$transaction(async (tx) => {
        const row = await tx.tenant.update({ where: { id }, data });
        await appendAudit(tx, actor, { tenantId: id, action: "tenant.updated", targetType: "tenant", targetId: id, data: { changed: Object.keys(patch).sort() } });
        return row;
      });
      return toView(updated);
    },

    async close(actor: Actor, id: string, reason: string): Promise<TenantView> {
      const current = await findVisible(actor, id);
      authorize(actor, "close", "Tenant", current);
      const closed = await prisma.$transaction(async (tx) => {
        // Conditional update: two concurrent closes cannot both succeed (and audit twice).
        const { count } = await tx.tenant.updateMany({ where: { id, status: { not: "closed" } }, data: { status: "closed", closedAt: new Date() } });
        if (count === 0) throw new ConflictError("The tenant is already closed.", "tenant_closed");
        await appendAudit(tx, actor, { tenantId: id, action: "tenant.closed", targetType: "tenant", targetId: id, data: { reason } });
        return tx.tenant.findUniqueOrThrow({ where: { id } });
      });
      return toView(closed);
    },
  };
}

function settingsOf(t: Tenant): TenantSettings {
  return { ...DEFAULT_TENANT_SETTINGS, ...(t.settings as Partial<TenantSettings>) };
}

/** The fields allowed out; never the row itself. */
export function toView(t: Tenant): TenantView {
  return {
    id: t.id,
    kind: t.kind,
    slug: t.slug,
    legalName: t.legalName,
    country: t.country,
    vatId: t.vatId,
    billingAddress: t.billingAddress as TenantView["billingAddress"],
    billingEmail: t.billingEmail,
    status: t.status,
    settings: settingsOf(t),
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    closedAt: t.closedAt?.toISOString() ?? null,
  };
}
