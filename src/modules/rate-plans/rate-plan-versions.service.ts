import { decodeCursor, encodeCursor } from "../../http/pagination.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { isUniqueViolation } from "../../platform/db/prisma-errors.js";
import { ConflictError, UnprocessableError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { monthStartUtc, toVersionViews } from "./plan-prices.js";
import { checkPrices, findVisibleRatePlan, pricesAudit, principalLabel, versionData } from "./rate-plan-versions.js";
import type { RatePlanVersionCreateBody, RatePlanVersionListQuery, RatePlanVersionView } from "./rate-plans.schemas.js";

export type RatePlanVersionsService = ReturnType<typeof createRatePlanVersionsService>;

/** A DATE column's value for "YYYY-MM-DD". */
const dateOf = (day: string) => new Date(`${day}T00:00:00Z`);

/**
 * An issued (or paid) invoice already billed this plan for a period from `effectiveFrom` on: a new version
 * would change prices of a period that is closed. Voided invoices and drafts do not count.
 */
async function invoicedFrom(db: Db, ratePlanId: string, effectiveFrom: string): Promise<string | null> {
  const [row] = await db.$queryRaw<Array<{ period: string }>>`
    SELECT to_char(i.period_start, 'YYYY-MM') AS period FROM enterprise.invoices i
    WHERE i.period_start >= ${effectiveFrom}::date AND i.status IN ('issued', 'paid')
      AND EXISTS (SELECT 1 FROM enterprise.invoice_lines l WHERE l.invoice_id = i.id AND l.rate_plan_id = ${ratePlanId}::uuid)
    ORDER BY i.period_start LIMIT 1`;
  return row?.period ?? null;
}

/**
 * A plan's price versions: every member reads them (the catalogue is public to members); platform owners, admins
 * and billing staff add versions from the current month on. Past months keep their prices: a billing period
 * always uses the version in effect on its first day, and versions start on a first day.
 */
export function createRatePlanVersionsService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  return {
    /** Every version, latest effectiveFrom first. A plan has one version a month at most, so the page is cut in memory. */
    async list(actor: Actor, id: string, query: RatePlanVersionListQuery): Promise<{ items: RatePlanVersionView[]; nextCursor: string | null }> {
      await findVisibleRatePlan(prisma, actor, id);
      const after = decodeCursor(query.cursor, ["effectiveFrom"] as const);
      const views = toVersionViews(await prisma.ratePlanVersion.findMany({ where: { ratePlanId: id } }));
      const rest = after ? views.filter((v) => v.effectiveFrom < after.effectiveFrom) : views;
      const items = rest.slice(0, query.limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rest.length > query.limit && last ? encodeCursor({ effectiveFrom: last.effectiveFrom }) : null };
    },

    async create(actor: Actor, id: string, body: RatePlanVersionCreateBody): Promise<RatePlanVersionView> {
      const plan = await findVisibleRatePlan(prisma, actor, id);
      const principal = authorize(actor, "update", "RatePlan", plan);
      const { effectiveFrom, ...prices } = body;
      checkPrices(prices, "/body");
      if (!effectiveFrom.endsWith("-01")) {
        throw new UnprocessableError(`effectiveFrom ${effectiveFrom} is not the first day of a month: prices change between billing periods only.`, "effective_from_not_period_start");
      }
      const thisMonth = monthStartUtc();
      if (effectiveFrom < thisMonth) {
        throw new UnprocessableError(`effectiveFrom ${effectiveFrom} is before the current month (${thisMonth}): past periods keep their prices.`, "effective_from_in_past");
      }

      try {
        const created = await prisma.$transaction(async (tx) => {
          // Locked: two versions added at once get distinct numbers, and neither misses the other's date.
          await tx.$queryRaw`SELECT id FROM enterprise.rate_plans WHERE id = ${id}::uuid FOR UPDATE`;
          const existing = await tx.ratePlanVersion.findMany({ where: { ratePlanId: id }, select: { version: true, effectiveFrom: true } });
          const same = existing.find((v) => v.effectiveFrom.getTime() === dateOf(effectiveFrom).getTime());
          if (same) throw new ConflictError(`Version ${same.version} of ${plan.code} already starts on ${effectiveFrom}.`, "version_exists", { version: same.version });
          const invoiced = await invoicedFrom(tx, id, effectiveFrom);
          if (invoiced) {
            throw new ConflictError(`${plan.code} is on an issued invoice for ${invoiced}: its prices from ${effectiveFrom} can no longer change.`, "period_already_invoiced", { period: invoiced });
          }
          const version = Math.max(0, ...existing.map((v) => v.version)) + 1;
          const row = await tx.ratePlanVersion.create({ data: { ratePlanId: id, version, effectiveFrom: dateOf(effectiveFrom), ...versionData(prices), createdBy: principalLabel(actor) } });
          await appendAudit(tx, actor, {
            tenantId: principal.tenantId,
            action: "rate_plan.version_created",
            targetType: "rate_plan",
            targetId: id,
            data: { code: plan.code, version, effectiveFrom, ...pricesAudit(prices) },
          });
          return row;
        });
        const all = await prisma.ratePlanVersion.findMany({ where: { ratePlanId: id } });
        return toVersionViews(all).find((v) => v.version === created.version)!;
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`A version of ${plan.code} starting on ${effectiveFrom} already exists.`, "version_exists");
        throw err;
      }
    },
  };
}
