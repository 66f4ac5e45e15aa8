import type { PrismaClient } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { appendAudit, systemActor } from "../audit/audit.writer.js";
import { UUID_V7_SQL } from "../sims/sim-events.js";
import { startRun } from "./billing-run-plan.js";
import { loadBillingSettings, missingIssuerDetails } from "./billing-settings.js";
import { isoDate, periodContaining, previousPeriod } from "./period.js";

export const SCHEDULE_ACTOR = systemActor("billing.schedule");

export type ScheduleResult =
  /** Not yet due, or due but waiting for the issuer's missing details (`waitingFor`): no run until staff set them. */
  | { due: false; period: string; waitingFor?: string[] }
  | { due: true; period: string; runId: string; created: boolean };

/**
 * `billing.schedule` (hourly, on every instance): once `runDelayHours` have passed since the previous month
 * ended, its scheduled run is created, once: the partial unique index on scheduled runs' period makes every
 * other instance's (and every later hour's) insert a no-op. The run is (re)queued whatever the insert did while
 * it is still queued, so a scheduler that died between its commit and its enqueue is made good an hour later.
 */
export async function scheduleBillingRun(deps: { prisma: PrismaClient; jobs: JobRunner }, now: Date = new Date()): Promise<ScheduleResult> {
  const settings = await loadBillingSettings(deps.prisma);
  const period = previousPeriod(periodContaining(now));
  if (now.getTime() < period.end.getTime() + settings.runDelayHours * 3600_000) return { due: false, period: period.key };
  // A run now would fail every tenant (issuing refuses an incomplete issuer); wait, hour by hour, for the details.
  const missing = missingIssuerDetails(settings.issuer);
  if (missing.length) return { due: false, period: period.key, waitingFor: missing };

  const created = await deps.prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRawUnsafe<Array<{ id: string }>>(
      `INSERT INTO enterprise.billing_runs (id, period_start, status, trigger, actor_type, actor_id, created_at)
       VALUES (${UUID_V7_SQL}, $1::date, 'queued', 'schedule', 'system', $2, now())
       ON CONFLICT (period_start) WHERE trigger = 'schedule' DO NOTHING
       RETURNING id::text`,
      isoDate(period.start),
      SCHEDULE_ACTOR.name,
    );
    if (!row) return null;
    // The platform's own trail records its runs (a fresh installation may have no platform tenant yet).
    const platform = await tx.tenant.findFirst({ where: { kind: "platform" }, orderBy: { createdAt: "asc" }, select: { id: true } });
    if (platform) await appendAudit(tx, SCHEDULE_ACTOR, { tenantId: platform.id, action: "billing_run.created", targetType: "billing_run", targetId: row.id, data: { period: period.key, trigger: "schedule" } });
    return row.id;
  });
  const run = created
    ? { id: created, status: "queued" }
    : await deps.prisma.billingRun.findFirstOrThrow({ where: { periodStart: period.start, trigger: "schedule" }, select: { id: true, status: true } });
  if (run.status === "queued") await startRun(deps.jobs, run.id);
  return { due: true, period: period.key, runId: run.id, created: created !== null };
}
