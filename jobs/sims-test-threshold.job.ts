import type { PrismaClient } from "../src/platform/db/database.js";
import type { JobRunner, Processor } from "../src/platform/jobs/job-runner.js";
import { systemActor } from "../src/modules/audit/audit.writer.js";
import { startOperation } from "../src/modules/operations/operation-requests.js";
import { SIM_NOT_IN_FLIGHT, createSystemOperations, groupByTenant, type TenantSims } from "../src/modules/operations/system-operations.js";
import { DEFAULT_TENANT_SETTINGS } from "../src/modules/tenants/tenants.schemas.js";

export const TEST_THRESHOLD_REASON = "test_threshold_reached";
const ACTOR = systemActor("test-threshold");
/** A run takes at most this many SIMs; the next run (a minute later) the rest. */
const MAX_PER_RUN = 100_000;

/**
 * `ready` SIMs (the test state) whose total usage (usage_daily, every day, bytes up + down) exceeds their
 * tenant's `testUsageThresholdBytes`, grouped by tenant. Left out: SIMs with an operation in flight (so one SIM
 * is never asked twice) and SIMs of tenants not active. A threshold of null never
 * activates; a tenant whose settings predate the setting gets the default.
 */
export async function selectOverThreshold(prisma: PrismaClient, limit = MAX_PER_RUN): Promise<TenantSims[]> {
  const rows = await prisma.$queryRaw<Array<{ tenantId: string; simId: string }>>`
    SELECT s.tenant_id AS "tenantId", s.id AS "simId"
    FROM connectivity.sims s
    JOIN enterprise.tenants t ON t.id = s.tenant_id AND t.status = 'active'
    CROSS JOIN LATERAL (
      SELECT CASE WHEN t.settings ? 'testUsageThresholdBytes' THEN (t.settings->>'testUsageThresholdBytes')::bigint
                  ELSE ${DEFAULT_TENANT_SETTINGS.testUsageThresholdBytes}::bigint END AS bytes
    ) threshold
    WHERE s.status = 'ready' AND threshold.bytes IS NOT NULL AND ${SIM_NOT_IN_FLIGHT}
      AND (SELECT coalesce(sum(u.bytes_up + u.bytes_down), 0) FROM connectivity.usage_daily u
           WHERE u.tenant_id = s.tenant_id AND u.sim_id = s.id) > threshold.bytes
    ORDER BY s.tenant_id, s.iccid
    LIMIT ${limit}`;
  return groupByTenant(rows);
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
    for (const group of groups) {
      const ids = await deps.prisma.$transaction((tx) => createSystemOperations(tx, group, { action: "activate", reasonCode: TEST_THRESHOLD_REASON, actor: ACTOR }));
      // After each tenant's commit, so a later tenant's failure does not hold back the operations already recorded.
      for (const id of ids) await startOperation(deps.jobs(), id);
      operationIds.push(...ids);
    }
    const sims = groups.reduce((n, g) => n + g.simIds.length, 0);
    if (sims) ctx.log(`test threshold: ${sims} SIM(s) of ${groups.length} tenant(s) to activate in ${operationIds.length} operation(s)`);
    return { sims, operations: operationIds.length };
  };
}
