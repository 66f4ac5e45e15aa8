import type { PrismaClient } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { isoDate, periodStartingOn } from "./period.js";

/** Attempts of a run's planning job and of each tenant's billing job (backoff 1, 2, 4... s). */
export const RUN_ATTEMPTS = 5;
export const TENANT_ATTEMPTS = 4;
/** Tenant jobs enqueued at once (each an enqueue round trip to Redis). */
const ENQUEUE_PARALLEL = 50;

/** After the run row committed: plan it. The job id is the run's, so asking twice plans once. */
export async function startRun(jobs: JobRunner, runId: string): Promise<void> {
  await jobs.enqueue("billing.run", { runId }, { jobId: `billing.run-${runId}`, attempts: RUN_ATTEMPTS });
}

/** One tenant's billing job. Deterministic id: a re-planned run (a retried planner) queues each tenant once. */
export const enqueueTenant = (jobs: JobRunner, runId: string, tenantId: string) =>
  jobs.enqueue("billing.tenant", { runId, tenantId }, { jobId: `billing-tenant-${runId}-${tenantId}`, attempts: TENANT_ATTEMPTS });

/**
 * `billing.run`: lists the run's tenants once (every customer tenant not closed before the period began,
 * suspended ones included since their SIMs may have been active, and however recently created, since SIM
 * histories may predate the tenant's record: the computation finds whether there is anything to bill; or the
 * one tenant asked for), records them as pending and the run as running, then queues a `billing.tenant` job per
 * pending tenant. Resumable: a planner that crashed after the commit (or a re-delivered job) finds the run
 * planned and queues its still-pending tenants again (their job ids make that harmless). A run with no tenant
 * completes at once.
 */
export async function planRun(deps: { prisma: PrismaClient; jobs: JobRunner }, runId: string): Promise<{ tenants: number; queued: number }> {
  const planned = await deps.prisma.$transaction(async (tx) => {
    const [run] = await tx.$queryRaw<Array<{ status: string; period_start: Date; tenant_id: string | null }>>`
      SELECT status::text, period_start, tenant_id::text FROM enterprise.billing_runs WHERE id = ${runId}::uuid FOR UPDATE`;
    if (!run || run.status === "completed" || run.status === "failed") return null;
    if (run.status === "queued") {
      const period = periodStartingOn(run.period_start);
      const start = isoDate(period.start);
      const total = run.tenant_id
        ? await tx.$executeRaw`
            INSERT INTO enterprise.billing_run_tenants (run_id, tenant_id, state, updated_at)
            SELECT ${runId}::uuid, t.id, 'pending', now() FROM enterprise.tenants t WHERE t.id = ${run.tenant_id}::uuid AND t.kind = 'customer'
            ON CONFLICT DO NOTHING`
        : await tx.$executeRaw`
            INSERT INTO enterprise.billing_run_tenants (run_id, tenant_id, state, updated_at)
            SELECT ${runId}::uuid, t.id, 'pending', now() FROM enterprise.tenants t
            WHERE t.kind = 'customer' AND (t.status <> 'closed' OR t.closed_at >= ${start}::date)
            ON CONFLICT DO NOTHING`;
      await tx.$executeRaw`
        UPDATE enterprise.billing_runs SET tenants_total = ${total}::int, started_at = now(),
          status = (CASE WHEN ${total}::int = 0 THEN 'completed' ELSE 'running' END)::enterprise."BillingRunStatus",
          finished_at = CASE WHEN ${total}::int = 0 THEN now() END
        WHERE id = ${runId}::uuid`;
    }
    const pending = await tx.billingRunTenant.findMany({ where: { runId, state: "pending" }, select: { tenantId: true }, orderBy: { tenantId: "asc" } });
    return { tenantIds: pending.map((p) => p.tenantId), total: await tx.billingRunTenant.count({ where: { runId } }) };
  });
  if (!planned) return { tenants: 0, queued: 0 };
  for (let i = 0; i < planned.tenantIds.length; i += ENQUEUE_PARALLEL) {
    await Promise.all(planned.tenantIds.slice(i, i + ENQUEUE_PARALLEL).map((tenantId) => enqueueTenant(deps.jobs, runId, tenantId)));
  }
  return { tenants: planned.total, queued: planned.tenantIds.length };
}

/** The planner's last attempt failed: the run is failed with the reason (its tenants were never queued). */
export async function failRun(prisma: PrismaClient, runId: string, error: string): Promise<void> {
  await prisma.billingRun.updateMany({
    where: { id: runId, status: { in: ["queued", "running"] }, tenantsDone: 0 },
    data: { status: "failed", error: error.slice(0, 500), finishedAt: new Date() },
  });
}
