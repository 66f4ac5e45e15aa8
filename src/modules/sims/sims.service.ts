import type { Prisma, SimEvent } from "../../generated/prisma/client.js";
import { decodeCursor, encodeCursor, invalidCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { NotFoundError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { eventActor } from "./sim-events.js";
import type { SimEventListQuery, SimEventView, SimListQuery, SimPatchBody, SimView } from "./sims.schemas.js";
import { SIM_INCLUDE, toSimEventView, toSimView, type SimRow } from "./sims.view.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";

export type SimsService = ReturnType<typeof createSimsService>;

/**
 * The SIM API: the fleet list with its filters, one SIM, its labels and name, and its history.
 * Lists are filtered in the query by the caller's CASL rules; another tenant's SIM answers 404.
 */
export function createSimsService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /** A SIM the caller may read, by ICCID, or 404: another tenant's SIM is never disclosed. */
  async function findVisible(actor: Actor, iccid: string): Promise<SimRow> {
    authorize(actor, "read", "Sim");
    const sim = await prisma.sim.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Sim"), { iccid }] }, include: SIM_INCLUDE });
    if (!sim) throw new NotFoundError("SIM");
    return sim;
  }

  /** `tenantId` narrows a platform list; a tenant the caller may not read answers 404, as on the audit log. */
  async function checkTenantFilter(actor: Actor, tenantId: string): Promise<void> {
    await requireVisibleTenant(prisma, actor, tenantId, "Sim");
  }

  return {
    async list(actor: Actor, query: SimListQuery): Promise<{ items: SimView[]; nextCursor: string | null }> {
      authorize(actor, "read", "Sim");
      if (query.tenantId) await checkTenantFilter(actor, query.tenantId);
      const after = decodeCursor(query.cursor, ["iccid"] as const);
      const q = query.q;
      const where: Prisma.SimWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("Sim"),
          query.tenantId ? { tenantId: query.tenantId } : {},
          query.status?.length ? { status: { in: query.status } } : {},
          query.label?.length ? { labels: { hasEvery: query.label } } : {},
          query.ratePlanId ? { ratePlanId: query.ratePlanId } : {},
          query.formFactor ? { formFactor: query.formFactor } : {},
          // Digits only (the schema says so), so a prefix LIKE needs no escaping; startsWith covers exact matches.
          q
            ? { OR: [{ iccid: { startsWith: q } }, { imsi: { startsWith: q } }, { msisdn: { startsWith: q } }, { boundImei: { startsWith: q } }, { lastSeenImei: { startsWith: q } }] }
            : {},
          // Keyset on the unique ICCID: SIMs added while a client pages never shift the pages after its cursor,
          // so none is skipped or repeated (one added before the cursor is simply not on a later page).
          after ? { iccid: { gt: after.iccid } } : {},
        ],
      };
      const rows = await prisma.sim.findMany({ where, orderBy: { iccid: "asc" }, take: query.limit + 1, include: SIM_INCLUDE });
      const result = page(rows, query.limit, (s) => ({ iccid: s.iccid }));
      return { items: result.items.map(toSimView), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, iccid: string): Promise<SimView> {
      return toSimView(await findVisible(actor, iccid));
    },

    /** Labels and name only. A change writes its history row and its audit event in one transaction. */
    async update(actor: Actor, iccid: string, patch: SimPatchBody): Promise<SimView> {
      const current = await findVisible(actor, iccid);
      authorize(actor, "update", "Sim", current);
      const updated = await prisma.$transaction(async (tx) => {
        // Locked, so `before` is what this change replaced even when two edits race.
        const [locked] = await tx.$queryRaw<Array<{ labels: string[] | null; custom_name: string | null }>>`
          SELECT labels, custom_name FROM connectivity.sims WHERE id = ${current.id}::uuid FOR UPDATE`;
        if (!locked) throw new NotFoundError("SIM");
        const before = { labels: locked.labels ?? [], customName: locked.custom_name };
        const after = { labels: patch.labels ?? before.labels, customName: patch.customName === undefined ? before.customName : patch.customName };
        const changed = (Object.keys(after) as Array<keyof typeof after>).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
        if (changed.length === 0) return tx.sim.findUniqueOrThrow({ where: { id: current.id }, include: SIM_INCLUDE });
        const row = await tx.sim.update({ where: { id: current.id }, data: { labels: after.labels, customName: after.customName }, include: SIM_INCLUDE });
        const by = eventActor(actor);
        await tx.simEvent.create({
          data: { tenantId: row.tenantId, simId: row.id, kind: "labels_changed", data: { before, after, changed }, actorType: by.type, actorId: by.id },
        });
        await appendAudit(tx, actor, { tenantId: row.tenantId, action: "sim.updated", targetType: "sim", targetId: row.iccid, data: { changed, before, after } });
        return row;
      });
      return toSimView(updated);
    },

    /** The SIM's history under its current owner, newest first. */
    async listEvents(actor: Actor, iccid: string, query: SimEventListQuery): Promise<{ items: SimEventView[]; nextCursor: string | null }> {
      const sim = await findVisible(actor, iccid);
      const before = decodeCursor(query.cursor, ["at", "id"] as const);
      const beforeAt = before ? new Date(before.at) : undefined;
      if (before && (Number.isNaN(beforeAt!.getTime()) || !/^[0-9a-f-]{36}$/.test(before.id))) {
        throw invalidCursor();
      }
      const where: Prisma.SimEventWhereInput = {
        AND: [
          // Tenant first: the (tenant_id, sim_id, at) index, and the inventory period's rows (the platform's) stay out.
          { tenantId: sim.tenantId, simId: sim.id },
          query.kind?.length ? { kind: { in: query.kind } } : {},
          // Several rows can share a millisecond (allocation writes two): (at, id) is the unique order.
          beforeAt ? { OR: [{ at: { lt: beforeAt } }, { at: beforeAt, id: { lt: before!.id } }] } : {},
        ],
      };
      const rows: SimEvent[] = await prisma.simEvent.findMany({ where, orderBy: [{ at: "desc" }, { id: "desc" }], take: query.limit + 1 });
      const items = rows.slice(0, query.limit);
      const last = items[items.length - 1];
      return { items: items.map(toSimEventView), nextCursor: rows.length > query.limit && last ? encodeCursor({ at: last.at.toISOString(), id: last.id }) : null };
    },
  };
}
