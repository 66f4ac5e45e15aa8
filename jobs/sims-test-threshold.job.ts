import type { PrismaClient } from "../src/platform/db/database.js";
import type { JobRunner, Processor } from "../src/platform/jobs/job-runner.js";
import { appendAudit, systemActor } from "../src/modules/audit/audit.writer.js";
import { createOperation, startOperation } from "../src/modules/operations/operation-requests.js";
import { DEFAULT_TENANT_SETTINGS } from "../src/modules/tenants/tenants.schemas.js";

export const TEST_THRESHOLD_REASON = "test_threshold_reached";
const ACTOR = systemActor("test-threshold");
/** SIMs per operation; a run takes at most MAX_PER_RUN, the next run (a minute later) the rest. */
const PER_OPERATION = 10_000;
const MAX_PER_RUN = 100_000;

/**
 * `ready` SIMs (the test state) whose total usage (usage_daily, every day, bytes up + down) exceeds their
 * tenant's `testUsageThresholdBytes`, grouped by tenant. Left out: SIMs with an operation pending, either
 * marked on the SIM or still queued as an item of an open operation (an earlier run's activation that has not
 * started yet), so one SIM is never asked twice; and SIMs of tenants not active. A threshold of null never
 * activates; a tenant whose settings predate the setting gets the default.
 */
export async function selectOverThreshold(prisma: PrismaClient, limit = MAX_PER_RUN): Promise<Array<{ tenantId: string; simIds: string[] }>> {
  const rows = await prisma.$queryRaw<Array<{ tenantId: string; simId: string }>>`
    WITH open_items AS (
      SELECT i.sim_id FROM connectivity.operations o
      JOIN connectivity.operation_items i ON i.tenant_id = o.tenant_id AND i.operation_id = o.id AND i.state = 'pending'
      WHERE o.status IN ('queued', 'running')
    )
    SELECT s.tenant_id AS "tenantId", s.id AS "simId"
    FROM connectivity.sims s
    JOIN enterprise.tenants t ON t.id = s.tenant_id AND t.status = 'active'
    CROSS JOIN LATERAL (
      SELECT CASE WHEN t.settings ? 'testUsageThresholdBytes' THEN (t.settings->>'testUsageThresholdBytes')::bigint
                  ELSE ${DEFAULT_TENANT_SETTINGS.testUsageThresholdBytes}::bigint END AS bytes
    ) threshold
    WHERE s.status = 'ready' AND s.pending_operation_id IS NULL AND threshold.bytes IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM open_items oi WHERE oi.sim_id = s.id)
      AND (SELECT coalesce(sum(u.bytes_up + u.bytes_down), 0) FROM connectivity.usage_daily u
           WHERE u.tenant_id = s.tenant_id AND u.sim_id = s.id) > threshold.bytes
    ORDER BY s.tenant_id, s.iccid
    LIMIT ${limit}`;
  const byTenant = new Map<string, string[]>();
  for (const r of rows) {
    const ids = byTenant.get(r.tenantId) ?? [];
    ids.push(r.simId);
    byTenant.set(r.tenantId, ids);
  }
  return [...byTenant].map(([tenantId, simIds]) => ({ tenantId, simIds }));
}

/**
 * sims.test-threshold (every minute): asks an `activate` operation, per tenant, for the SIMs past their test
 * threshold; the lifecycle engine then activates them through the network connector, and each SIM's history
 * shows reason `test_threshold_reached`. Operations are started after their transaction commits.
 */
export function simsTestThresholdJob(deps: { prisma: PrismaClient; jobs: () => JobRunner }): Processor<"sims.test-threshold"> {
  return async (_data, ctx) => {
    const groups = await selectOverThreshold(deps.prisma);
    const operationIds: string[] = [];
    for (const { tenantId, simIds } of groups) {
      for (let i = 0; i < simIds.length; i += PER_OPERATION) {
        const chunk = simIds.slice(i, i + PER_OPERATION);
        const operationId = await deps.prisma.$transaction(async (tx) => {
          const { operationId } = await createOperation(tx, { tenantId, action: "activate", simIds: chunk, reasonCode: TEST_THRESHOLD_REASON, actor: ACTOR });
          await appendAudit(tx, ACTOR, { tenantId, action: "operation.created", targetType: "operation", targetId: operationId, data: { action: "activate", reasonCode: TEST_THRESHOLD_REASON, selection: "sims", total: chunk.length } });
          return operationId;
        });
        // After each commit, so a later tenant's failure does not hold back the operations already recorded.
        await startOperation(deps.jobs(), operationId);
        operationIds.push(operationId);
      }
    }
    const sims = groups.reduce((n, g) => n + g.simIds.length, 0);
    if (sims) ctx.log(`test threshold: ${sims} SIM(s) of ${groups.length} tenant(s) to activate in ${operationIds.length} operation(s)`);
    return { sims, operations: operationIds.length };
  };
}
