import type { Alert, Prisma } from "../../generated/prisma/client.js";
import { decodeTimeIdCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { NotFoundError, ValidationError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import { principalId, type Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import type { AlertListQuery, AlertPage, AlertView } from "./alerts.schemas.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";

export type AlertsService = ReturnType<typeof createAlertsService>;


function toAlertView(a: Alert, iccid: string | null): AlertView {
  return {
    id: a.id,
    tenantId: a.tenantId,
    kind: a.kind,
    severity: a.severity,
    message: a.message,
    iccid,
    data: a.data && typeof a.data === "object" && !Array.isArray(a.data) ? (a.data as Record<string, unknown>) : {},
    createdAt: a.createdAt.toISOString(),
    acknowledgedAt: a.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy: a.acknowledgedBy,
  };
}

/**
 * Alerts of every kind (IMEI mismatches, usage thresholds, data limits): who sees the fleet reads them (`read
 * Alert`, filtered in the query), owners, admins and operators acknowledge them (`update Alert`). Another
 * tenant's alert answers 404.
 */
export function createAlertsService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /** The ICCIDs of the alerts' SIMs, in one query (alerts keep the SIM id; the API speaks ICCIDs). */
  async function withIccids(alerts: Alert[]): Promise<AlertView[]> {
    const simIds = [...new Set(alerts.map((a) => a.simId).filter((id): id is string => id !== null))];
    const sims = simIds.length ? await prisma.sim.findMany({ where: { id: { in: simIds } }, select: { id: true, iccid: true } }) : [];
    const iccids = new Map(sims.map((s) => [s.id, s.iccid]));
    return alerts.map((a) => toAlertView(a, a.simId ? (iccids.get(a.simId) ?? null) : null));
  }

  async function findVisible(actor: Actor, id: string): Promise<Alert> {
    const alert = await prisma.alert.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Alert"), { id }] } });
    if (!alert) throw new NotFoundError("Alert");
    return alert;
  }

  return {
    async list(actor: Actor, query: AlertListQuery): Promise<AlertPage> {
      authorize(actor, "read", "Alert");
      if (query.tenantId) {
        await requireVisibleTenant(prisma, actor, query.tenantId, "Alert");
      }
      const from = query.from ? new Date(query.from) : undefined;
      const to = query.to ? new Date(query.to) : undefined;
      if (from && to && to < from) throw new ValidationError("`to` is before `from`.", [{ field: "/query/to", reason: "must not be before from" }]);
      const before = decodeTimeIdCursor(query.cursor);

      let simId: string | undefined;
      if (query.iccid) {
        // A SIM the caller cannot see has no alerts the caller can see: an empty page, nothing disclosed.
        const sim = await prisma.sim.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Sim"), { iccid: query.iccid }] }, select: { id: true } });
        if (!sim) return { items: [], nextCursor: null };
        simId = sim.id;
      }
      const where: Prisma.AlertWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("Alert"),
          query.tenantId ? { tenantId: query.tenantId } : {},
          query.kind?.length ? { kind: { in: query.kind } } : {},
          simId ? { simId } : {},
          query.acknowledged === undefined ? {} : query.acknowledged ? { acknowledgedAt: { not: null } } : { acknowledgedAt: null },
          from || to ? { createdAt: { ...(from && { gte: from }), ...(to && { lt: to }) } } : {},
          // Several alerts can share a millisecond (one check raises many): (createdAt, id) is the unique order.
          before ? { OR: [{ createdAt: { lt: before.at } }, { createdAt: before.at, id: { lt: before.id } }] } : {},
        ],
      };
      const rows = await prisma.alert.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: query.limit + 1 });
      const result = page(rows, query.limit, (a) => ({ at: a.createdAt.toISOString(), id: a.id }));
      return { items: await withIccids(result.items), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, id: string): Promise<AlertView> {
      authorize(actor, "read", "Alert");
      const [view] = await withIccids([await findVisible(actor, id)]);
      return view!;
    },

    /** Marks the alert seen. Again on an acknowledged alert: nothing changes (the first acknowledgement stands). */
    async acknowledge(actor: Actor, id: string): Promise<AlertView> {
      const principal = authorize(actor, "update", "Alert");
      const visible = await findVisible(actor, id);
      authorize(actor, "update", "Alert", visible);
      const alert = await prisma.$transaction(async (tx) => {
        const changed = await tx.alert.updateMany({ where: { id: visible.id, acknowledgedAt: null }, data: { acknowledgedAt: new Date(), acknowledgedBy: principalId(principal) } });
        const row = await tx.alert.findUniqueOrThrow({ where: { id: visible.id } });
        if (changed.count === 1) {
          await appendAudit(tx, actor, { tenantId: row.tenantId, action: "alert.acknowledged", targetType: "alert", targetId: row.id, data: { kind: row.kind, dedupeKey: row.dedupeKey } });
        }
        return row;
      });
      const [view] = await withIccids([alert]);
      return view!;
    },
  };
}
