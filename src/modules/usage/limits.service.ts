import type { Db, PrismaClient } from "../../platform/db/database.js";
import { ConflictError, ValidationError, type FieldError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { findVisibleSim } from "../devices/sim-lookup.js";
import { startOperation } from "../operations/operation-requests.js";
import { createAuditedOperation } from "../operations/system-operations.js";
import { bigintOut } from "../sims/sims.view.js";
import { DATA_LIMIT_REASON, DEFAULT_THRESHOLDS, billingPeriod, type BillingPeriod } from "./limit-check.js";
import type { SimDataLimitBody, SimDataLimitView, UsageLimitsBody, UsageLimitsQuery, UsageLimitsView } from "./limits.schemas.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";

export type LimitsService = ReturnType<typeof createLimitsService>;

/** The reason code of the resume asked when a limit no longer holds a SIM it suspended. */
export const LIMIT_LIFTED_REASON = "data_limit_lifted";
const MAX_BIGINT = 2n ** 63n - 1n;

/** A byte count from the body (number or decimal string) as a bigint; null stays null. */
function parseByteCount(value: number | string | null, field: string, errors: FieldError[]): bigint | null {
  if (value === null) return null;
  const n = BigInt(value);
  if (n > MAX_BIGINT) errors.push({ field, reason: `must be at most ${MAX_BIGINT}` });
  return n;
}

/** Thresholds in ascending order; 100 must be there: reaching the limit always alerts. */
function parseThresholds(value: number[] | undefined, field: string, errors: FieldError[]): number[] {
  if (value === undefined) return DEFAULT_THRESHOLDS;
  const sorted = [...value].sort((a, b) => a - b);
  if (!sorted.includes(100)) errors.push({ field, reason: "must include 100 (the limit itself always raises an alert)" });
  return sorted;
}

function refuse(errors: FieldError[]): void {
  if (errors.length) throw new ValidationError(errors.map((e) => `${e.field} ${e.reason}`).join("; "), errors);
}

/** Percent of `limit` used, one decimal, rounded down (99.96 % is not yet 100 %). */
const percentOf = (used: bigint, limit: bigint | null): number | null => (limit === null || limit <= 0n ? null : Number((used * 1000n) / limit) / 10);

const periodView = (p: BillingPeriod) => ({ month: p.month, start: p.start.toISOString(), end: p.end.toISOString() });
const day = (d: Date) => d.toISOString().slice(0, 10);

/** Month-to-date bytes (up + down) of one SIM: its usage_daily rows of the period (primary key range). */
async function simUsage(db: Db, tenantId: string, simId: string, period: BillingPeriod): Promise<bigint> {
  const [row] = await db.$queryRaw<Array<{ used: bigint }>>`
    SELECT coalesce(sum(bytes_up + bytes_down), 0)::bigint AS used FROM connectivity.usage_daily
    WHERE tenant_id = ${tenantId}::uuid AND sim_id = ${simId}::uuid AND day >= ${day(period.start)}::date AND day < ${day(period.end)}::date`;
  return row?.used ?? 0n;
}

/** Month-to-date bytes of the whole tenant, from the hourly rollup (a few hundred rows a month). */
async function tenantUsage(db: Db, tenantId: string, period: BillingPeriod): Promise<bigint> {
  const [row] = await db.$queryRaw<Array<{ used: bigint }>>`
    SELECT coalesce(sum(bytes_up + bytes_down), 0)::bigint AS used FROM connectivity.usage_hourly
    WHERE tenant_id = ${tenantId}::uuid AND hour >= ${period.start}::timestamptz AND hour < ${period.end}::timestamptz`;
  return row?.used ?? 0n;
}

/**
 * Data limits: one SIM's (`update Sim`) and the tenant's policy (`read`/`update UsageLimit`): alert thresholds
 * for SIM limits and a pooled limit over the whole fleet. A change asks the limit check to run for the tenant
 * at once (after commit), so it does not wait for the 10-minute sweep.
 */
export function createLimitsService(deps: { prisma: PrismaClient; jobs: JobRunner }) {
  const { prisma, jobs } = deps;

  /** Whose policy: the caller's tenant, or (platform staff) the one named. One the caller may not see is 404. */
  async function policyTenant(actor: Actor, tenantId: string | undefined, own: string): Promise<string> {
    const id = tenantId ?? own;
    await requireVisibleTenant(prisma, actor, id, "UsageLimit", ["read", "update"]);
    return id;
  }

  async function policyView(db: Db, tenantId: string): Promise<UsageLimitsView> {
    const period = billingPeriod(new Date());
    const row = await db.usageLimit.findUnique({ where: { tenantId } });
    const pooled = row?.pooledLimitBytes ?? null;
    const used = await tenantUsage(db, tenantId, period);
    return {
      tenantId,
      simThresholds: row?.simThresholds?.length ? row.simThresholds : DEFAULT_THRESHOLDS,
      pooledLimitBytes: bigintOut(pooled),
      pooledThresholds: row?.pooledThresholds?.length ? row.pooledThresholds : DEFAULT_THRESHOLDS,
      updatedAt: row?.updatedAt.toISOString() ?? null,
      period: periodView(period),
      usedBytes: bigintOut(used)!,
      percentOfPooledLimit: percentOf(used, pooled),
    };
  }

  /** After commit: check the tenant's limits now (the new limit may already be crossed, or no longer). */
  const checkSoon = (tenantId: string) => jobs.enqueue("usage.limits", { tenantIds: [tenantId] });

  return {
    /**
     * Sets (or, with null, removes) a SIM's limit. A SIM suspended for its data limit that the new setting no
     * longer holds (no limit, no suspension at the limit, or this period's usage under the new limit) is
     * resumed through an operation with reason `data_limit_lifted`.
     */
    async setSimDataLimit(actor: Actor, iccid: string, body: SimDataLimitBody): Promise<SimDataLimitView> {
      authorize(actor, "update", "Sim");
      const errors: FieldError[] = [];
      const limit = parseByteCount(body.limitBytes, "/body/limitBytes", errors);
      refuse(errors);
      const visible = await findVisibleSim(prisma, actor, iccid);
      authorize(actor, "update", "Sim", visible);
      const period = billingPeriod(new Date());

      const done = await prisma.$transaction(async (tx) => {
        // Locked: a concurrent limit check or lifecycle change sees the limit either before or after.
        await tx.$queryRaw`SELECT id FROM connectivity.sims WHERE id = ${visible.id}::uuid FOR UPDATE`;
        const before = await tx.sim.findUniqueOrThrow({ where: { id: visible.id } });
        if (before.status === "terminated") throw new ConflictError("A terminated SIM's data limit cannot change.", "sim_terminated");
        const suspend = limit !== null && (body.suspendAtLimit ?? false);
        const sim = await tx.sim.update({ where: { id: before.id }, data: { dataLimitBytes: limit, dataLimitSuspend: suspend } });
        const used = await simUsage(tx, sim.tenantId, sim.id, period);

        const held = limit !== null && suspend && used >= limit;
        let operationId: string | null = null;
        if (before.status === "suspended" && before.statusReason === DATA_LIMIT_REASON && before.pendingOperationId === null && !held) {
          operationId = await createAuditedOperation(tx, { tenantId: sim.tenantId, action: "resume", simIds: [sim.id], reasonCode: LIMIT_LIFTED_REASON, actor });
        }
        await appendAudit(tx, actor, {
          tenantId: sim.tenantId,
          action: "sim.data_limit_set",
          targetType: "sim",
          targetId: sim.id,
          data: {
            iccid: sim.iccid,
            before: { limitBytes: bigintOut(before.dataLimitBytes), suspendAtLimit: before.dataLimitSuspend },
            after: { limitBytes: bigintOut(sim.dataLimitBytes), suspendAtLimit: sim.dataLimitSuspend },
            resumeOperationId: operationId,
          },
        });
        return { sim, used, operationId };
      });
      if (done.operationId) await startOperation(jobs, done.operationId);
      if (limit !== null) await checkSoon(done.sim.tenantId);
      return {
        iccid: done.sim.iccid,
        limitBytes: bigintOut(done.sim.dataLimitBytes),
        suspendAtLimit: done.sim.dataLimitSuspend,
        period: periodView(period),
        usedBytes: bigintOut(done.used)!,
        percentUsed: percentOf(done.used, done.sim.dataLimitBytes),
        resumeOperationId: done.operationId,
      };
    },

    async getUsageLimits(actor: Actor, query: UsageLimitsQuery): Promise<UsageLimitsView> {
      const principal = authorize(actor, "read", "UsageLimit");
      const tenantId = await policyTenant(actor, query.tenantId, principal.tenantId);
      return policyView(prisma, tenantId);
    },

    /** Replaces the tenant's policy; omitted thresholds go back to the default (80 and 100). */
    async setUsageLimits(actor: Actor, query: UsageLimitsQuery, body: UsageLimitsBody): Promise<UsageLimitsView> {
      const principal = authorize(actor, "update", "UsageLimit");
      const errors: FieldError[] = [];
      const simThresholds = parseThresholds(body.simThresholds, "/body/simThresholds", errors);
      const pooledThresholds = parseThresholds(body.pooledThresholds, "/body/pooledThresholds", errors);
      const pooledLimitBytes = parseByteCount(body.pooledLimitBytes, "/body/pooledLimitBytes", errors);
      refuse(errors);
      const tenantId = await policyTenant(actor, query.tenantId, principal.tenantId);
      // Visible (staff read every tenant's policy) but not theirs to change: 403.
      authorize(actor, "update", "UsageLimit", { tenantId });

      const view = await prisma.$transaction(async (tx) => {
        // Locked (or its absence claimed by the upsert's key), so `before` is what this change replaced.
        const [beforeRow] = await tx.$queryRaw<Array<{ simThresholds: number[] | null; pooledLimitBytes: bigint | null; pooledThresholds: number[] | null }>>`
          SELECT sim_thresholds AS "simThresholds", pooled_limit_bytes AS "pooledLimitBytes", pooled_thresholds AS "pooledThresholds"
          FROM connectivity.usage_limits WHERE tenant_id = ${tenantId}::uuid FOR UPDATE`;
        await tx.usageLimit.upsert({
          where: { tenantId },
          create: { tenantId, simThresholds, pooledLimitBytes, pooledThresholds },
          update: { simThresholds, pooledLimitBytes, pooledThresholds },
        });
        const before = {
          simThresholds: beforeRow?.simThresholds ?? DEFAULT_THRESHOLDS,
          pooledLimitBytes: bigintOut(beforeRow?.pooledLimitBytes ?? null),
          pooledThresholds: beforeRow?.pooledThresholds ?? DEFAULT_THRESHOLDS,
        };
        const after = { simThresholds, pooledLimitBytes: bigintOut(pooledLimitBytes), pooledThresholds };
        await appendAudit(tx, actor, { tenantId, action: "usage.limits_set", targetType: "tenant", targetId: tenantId, data: { before, after } });
        return policyView(tx, tenantId);
      });
      await checkSoon(tenantId);
      return view;
    },
  };
}
