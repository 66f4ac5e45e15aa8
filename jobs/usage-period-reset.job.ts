import type { Db, PrismaClient } from "../src/platform/db/database.js";
import type { JobRunner, Processor } from "../src/platform/jobs/job-runner.js";
import { systemActor } from "../src/modules/audit/audit.writer.js";
import { startOperation } from "../src/modules/operations/operation-requests.js";
import { SIM_NOT_IN_FLIGHT, createSystemOperations, groupByTenant, type TenantSims } from "../src/modules/operations/system-operations.js";
import { DATA_LIMIT_REASON, billingPeriod } from "../src/modules/usage/limit-check.js";

export const PERIOD_RESET_REASON = "period_reset";
const ACTOR = systemActor("usage-period-reset");
/** A run takes at most this many SIMs; the next run (15 minutes later) the rest. */
const MAX_PER_RUN = 100_000;

/**
 * SIMs suspended for their data limit in an earlier billing period (reason `data_limit`, suspended before this
 * month began) and free of operations in flight, grouped by tenant; SIMs of tenants not active are left out.
 */
export async function selectToResume(db: Db, now: Date, limit = MAX_PER_RUN): Promise<TenantSims[]> {
  const { start } = billingPeriod(now);
  const rows = await db.$queryRaw<Array<{ tenantId: string; simId: string }>>`
    SELECT s.tenant_id AS "tenantId", s.id AS "simId"
    FROM connectivity.sims s
    JOIN enterprise.tenants t ON t.id = s.tenant_id AND t.status = 'active'
    WHERE s.status = 'suspended' AND s.status_reason = ${DATA_LIMIT_REASON} AND s.status_changed_at < ${start}::timestamptz
      AND ${SIM_NOT_IN_FLIGHT}
    ORDER BY s.tenant_id, s.iccid
    LIMIT ${limit}`;
  return groupByTenant(rows);
}

/** Transaction-level advisory lock: two runs at once (a retry beside the schedule) select one after the other. */
const RESET_LOCK_KEY = 0x75707273; // "uprs"

/**
 * Asks a `resume` operation (reason `period_reset`), per tenant, for the SIMs a past period's limit suspended;
 * the lifecycle engine resumes them through the network connector. Selection and operations are one
 * transaction under an advisory lock, so a second run at the same time waits and then finds those SIMs in open
 * operations: each SIM is asked once. Operations start after the commit. `now` picks the period (tests pass a
 * date in the next month).
 */
export async function resumeAfterPeriod(deps: { prisma: PrismaClient; jobs: JobRunner }, now: Date = new Date()): Promise<{ sims: number; operationIds: string[] }> {
  const { sims, operationIds } = await deps.prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${RESET_LOCK_KEY}::bigint)`;
      const groups = await selectToResume(tx, now);
      const ids: string[] = [];
      for (const group of groups) ids.push(...(await createSystemOperations(tx, group, { action: "resume", reasonCode: PERIOD_RESET_REASON, actor: ACTOR })));
      return { sims: groups.reduce((n, g) => n + g.simIds.length, 0), operationIds: ids };
    },
    { maxWait: 30_000, timeout: 120_000 },
  );
  for (const id of operationIds) await startOperation(deps.jobs, id);
  return { sims, operationIds };
}

/** usage.period-reset (every 15 minutes): a new billing period gives SIMs suspended at their limit their data back. */
export function usagePeriodResetJob(deps: { prisma: PrismaClient; jobs: () => JobRunner }): Processor<"usage.period-reset"> {
  return async (_data, ctx) => {
    const { sims, operationIds } = await resumeAfterPeriod({ prisma: deps.prisma, jobs: deps.jobs() });
    if (sims) ctx.log(`period reset: ${sims} SIM(s) to resume in ${operationIds.length} operation(s)`);
    return { sims, operations: operationIds.length };
  };
}
