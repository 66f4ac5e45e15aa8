import type { Db, PrismaClient } from "../src/platform/db/database.js";
import type { JobRunner, Processor } from "../src/platform/jobs/job-runner.js";
import { appendAudit, systemActor } from "../src/modules/audit/audit.writer.js";
import { createOperation, startOperation } from "../src/modules/operations/operation-requests.js";
import { DATA_LIMIT_REASON, billingPeriod } from "../src/modules/usage/limit-check.js";

export const PERIOD_RESET_REASON = "period_reset";
const ACTOR = systemActor("usage-period-reset");
/** SIMs per operation; a run takes at most MAX_PER_RUN, the next run (15 minutes later) the rest. */
const PER_OPERATION = 10_000;
const MAX_PER_RUN = 100_000;

/**
 * SIMs suspended for their data limit in an earlier billing period (reason `data_limit`, suspended before this
 * month began), grouped by tenant. Left out, so a SIM is never asked twice: SIMs with an operation in flight,
 * either marked on the SIM or still queued as a pending item of an open operation (an earlier run's resume that
 * has not started yet); and SIMs of tenants not active.
 */
export async function selectToResume(db: Db, now: Date, limit = MAX_PER_RUN): Promise<Array<{ tenantId: string; simIds: string[] }>> {
  const { start } = billingPeriod(now);
  const rows = await db.$queryRaw<Array<{ tenantId: string; simId: string }>>`
    WITH open_items AS (
      SELECT i.sim_id FROM connectivity.operations o
      JOIN connectivity.operation_items i ON i.tenant_id = o.tenant_id AND i.operation_id = o.id AND i.state = 'pending'
      WHERE o.status IN ('queued', 'running')
    )
    SELECT s.tenant_id AS "tenantId", s.id AS "simId"
    FROM connectivity.sims s
    JOIN enterprise.tenants t ON t.id = s.tenant_id AND t.status = 'active'
    WHERE s.status = 'suspended' AND s.status_reason = ${DATA_LIMIT_REASON} AND s.status_changed_at < ${start}::timestamptz
      AND s.pending_operation_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM open_items oi WHERE oi.sim_id = s.id)
    ORDER BY s.tenant_id, s.iccid
    LIMIT ${limit}`;
  const byTenant = new Map<string, string[]>();
  for (const r of rows) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r.simId]);
  return [...byTenant].map(([tenantId, simIds]) => ({ tenantId, simIds }));
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
      for (const { tenantId, simIds } of groups) {
        for (let i = 0; i < simIds.length; i += PER_OPERATION) {
          const chunk = simIds.slice(i, i + PER_OPERATION);
          const { operationId } = await createOperation(tx, { tenantId, action: "resume", simIds: chunk, reasonCode: PERIOD_RESET_REASON, actor: ACTOR });
          await appendAudit(tx, ACTOR, { tenantId, action: "operation.created", targetType: "operation", targetId: operationId, data: { action: "resume", reasonCode: PERIOD_RESET_REASON, selection: "sims", total: chunk.length } });
          ids.push(operationId);
        }
      }
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
