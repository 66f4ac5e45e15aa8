import type { Prisma, RatePlan, RatePlanVersion } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { isUniqueViolation } from "../../platform/db/prisma-errors.js";
import { ConflictError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { monthStartUtc, splitVersions, todayUtc } from "./plan-prices.js";
import type { RatePlanCreateBody, RatePlanListQuery, RatePlanPatchBody, RatePlanView } from "./rate-plans.schemas.js";
import { checkPrices, findVisibleRatePlan, pricesAudit, principalLabel, versionData } from "./rate-plan-versions.js";

export type RatePlansService = ReturnType<typeof createRatePlansService>;

/**
 * The rate plan catalogue: every member reads it; platform owners, admins and billing staff create and change
 * plans. Plans belong to no tenant, so their audit events go to the chain of the staff member's tenant.
 */
export function createRatePlansService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  return {
    /** With `prices`, the plan gets version 1, in effect from the first day of the current month (UTC). */
    async create(actor: Actor, input: RatePlanCreateBody): Promise<RatePlanView> {
      const principal = authorize(actor, "create", "RatePlan");
      if (input.prices) checkPrices(input.prices, "/body/prices");
      try {
        const plan = await prisma.$transaction(async (tx) => {
          const created = await tx.ratePlan.create({ data: { code: input.code, name: input.name.trim(), description: input.description ?? null, currency: input.currency } });
          const effectiveFrom = monthStartUtc();
          if (input.prices) {
            await tx.ratePlanVersion.create({ data: { ratePlanId: created.id, version: 1, effectiveFrom: new Date(`${effectiveFrom}T00:00:00Z`), ...versionData(input.prices), createdBy: principalLabel(actor) } });
          }
          await appendAudit(tx, actor, {
            tenantId: principal.tenantId,
            action: "rate_plan.created",
            targetType: "rate_plan",
            targetId: created.id,
            data: { code: created.code, name: created.name, currency: created.currency, ...(input.prices && { prices: { version: 1, effectiveFrom, ...pricesAudit(input.prices) } }) },
          });
          return created;
        });
        return (await withPrices(prisma, [plan]))[0]!;
      } catch (err) {
        if (isUniqueViolation(err, "code")) throw new ConflictError(`A rate plan with code "${input.code}" already exists.`, "rate_plan_code_taken");
        throw err;
      }
    },

    async list(actor: Actor, query: RatePlanListQuery): Promise<{ items: RatePlanView[]; nextCursor: string | null }> {
      authorize(actor, "read", "RatePlan");
      const after = decodeCursor(query.cursor, ["code"] as const);
      const where: Prisma.RatePlanWhereInput = {
        AND: [accessibleBy(actor.ability, "read").ofType("RatePlan"), query.status ? { status: query.status } : {}, after ? { code: { gt: after.code } } : {}],
      };
      // By code: the order a catalogue is read in, and a unique key for the cursor.
      const rows = await prisma.ratePlan.findMany({ where, orderBy: { code: "asc" }, take: query.limit + 1 });
      const result = page(rows, query.limit, (p) => ({ code: p.code }));
      return { items: await withPrices(prisma, result.items), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, id: string): Promise<RatePlanView> {
      return (await withPrices(prisma, [await findVisibleRatePlan(prisma, actor, id)]))[0]!;
    },

    /** Retiring a plan keeps the SIMs on it where they are; it only stops new allocations to it. */
    async update(actor: Actor, id: string, patch: RatePlanPatchBody): Promise<RatePlanView> {
      const current = await findVisibleRatePlan(prisma, actor, id);
      const principal = authorize(actor, "update", "RatePlan", current);
      const updated = await prisma.$transaction(async (tx) => {
        const row = await tx.ratePlan.update({
          where: { id },
          data: {
            ...(patch.name !== undefined && { name: patch.name.trim() }),
            ...(patch.description !== undefined && { description: patch.description }),
            ...(patch.status !== undefined && { status: patch.status }),
          },
        });
        await appendAudit(tx, actor, { tenantId: principal.tenantId, action: "rate_plan.updated", targetType: "rate_plan", targetId: id, data: { code: row.code, changed: Object.keys(patch).sort(), ...(patch.status !== undefined && { status: patch.status }) } });
        return row;
      });
      return (await withPrices(prisma, [updated]))[0]!;
    },
  };
}

/** The plans' views with their prices: one query for every version of the page's plans (a handful each). */
export async function withPrices(db: Db, plans: readonly RatePlan[], now: Date = new Date()): Promise<RatePlanView[]> {
  const versions = plans.length ? await db.ratePlanVersion.findMany({ where: { ratePlanId: { in: plans.map((p) => p.id) } } }) : [];
  const byPlan = new Map<string, RatePlanVersion[]>();
  for (const v of versions) byPlan.set(v.ratePlanId, [...(byPlan.get(v.ratePlanId) ?? []), v]);
  const today = todayUtc(now);
  return plans.map((p) => toView(p, byPlan.get(p.id) ?? [], today));
}

export function toView(p: RatePlan, versions: readonly RatePlanVersion[], today: string): RatePlanView {
  return {
    id: p.id,
    code: p.code,
    name: p.name,
    description: p.description,
    currency: p.currency,
    status: p.status,
    ...splitVersions(versions, today),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
