import { createHash } from "node:crypto";
import type { PrismaClient } from "../src/platform/db/database.js";
import type { JobRunner, Processor } from "../src/platform/jobs/job-runner.js";
import { checkLimits } from "../src/modules/usage/limit-check.js";

/**
 * A tenant's triggered checks run at most this often in one worker process. Why: under steady ingestion the
 * rollup asks for a check every couple of seconds, and a check reads the month-to-date usage of every SIM with a
 * limit (about 1 s for 20,000 such SIMs at the end of a month); alerts a few seconds later cost nothing. Asks in
 * between are folded into one job, delayed until the tenant is due, so none is lost.
 */
export const TRIGGERED_EVERY_MS = 30_000;

/**
 * usage.limits: the data-limit check (src/modules/usage/limit-check.ts). The rollup enqueues it with the tenants
 * whose totals it just moved, so alerts follow usage within seconds; the 10-minute schedule runs it with no ids
 * as a sweep over every tenant with a limit, which also catches what a lost enqueue or a changed limit left.
 * Idempotent: running it again (a retry, two at once) raises nothing twice and suspends no SIM twice.
 */
export function usageLimitsJob(deps: { prisma: PrismaClient; jobs: () => JobRunner }): Processor<"usage.limits"> {
  /** When this process last checked each tenant on a trigger (the sweep checks every tenant regardless). */
  const lastChecked = new Map<string, number>();

  return async (data, ctx) => {
    let tenantIds = data.tenantIds;
    if (tenantIds) {
      const now = Date.now();
      const due: string[] = [];
      const later: string[] = [];
      let dueAt = Infinity;
      for (const id of new Set(tenantIds)) {
        const last = lastChecked.get(id);
        if (last === undefined || now - last >= TRIGGERED_EVERY_MS) due.push(id);
        else {
          later.push(id);
          dueAt = Math.min(dueAt, last + TRIGGERED_EVERY_MS);
        }
      }
      if (later.length) {
        // One delayed job per set and due second: the many asks of a busy window collapse into it.
        const set = createHash("sha256").update(later.sort().join(",")).digest("hex").slice(0, 16);
        await deps.jobs().enqueue("usage.limits", { tenantIds: later }, { jobId: `usage-limits-later-${set}-${Math.ceil(dueAt / 1000)}`, delayMs: Math.max(1, dueAt - now) });
      }
      for (const id of due) lastChecked.set(id, now);
      if (lastChecked.size > 10_000) for (const [id, at] of lastChecked) if (now - at >= TRIGGERED_EVERY_MS) lastChecked.delete(id);
      if (due.length === 0) return { tenants: 0, alerts: 0, suspensions: 0, operations: 0, deferred: later.length };
      tenantIds = due;
    }
    const result = await checkLimits({ prisma: deps.prisma, jobs: deps.jobs() }, { tenantIds });
    if (result.alerts || result.suspensions) {
      ctx.log(`usage limits: ${result.tenants} tenant(s) checked, ${result.alerts} alert(s) raised, ${result.suspensions} SIM(s) to suspend`);
    }
    return { tenants: result.tenants, alerts: result.alerts, suspensions: result.suspensions, operations: result.operationIds.length };
  };
}
