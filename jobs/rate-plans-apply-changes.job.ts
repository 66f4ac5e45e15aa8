import type { PrismaClient } from "../src/platform/db/database.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import { APPLY_CHANGES_ACTOR, applyDueChanges, lockForApply } from "../src/modules/rate-plans/plan-assignments.js";

/**
 * Moves every SIM whose next-period plan change has come (an assignment in effect today that `sims.rate_plan_id`
 * does not show yet) onto its new plan, with a history row each, in one set-based statement. The exclusive advisory
 * lock keeps two runs (and single-SIM changes) apart; a second run finds nothing left. `now` picks the day (tests).
 */
export async function applyRatePlanChanges(prisma: PrismaClient, now: Date = new Date()): Promise<number> {
  const moved = await prisma.$transaction(
    async (tx) => {
      await lockForApply(tx);
      return applyDueChanges(tx, { today: now, actorId: APPLY_CHANGES_ACTOR });
    },
    { maxWait: 30_000, timeout: 300_000 },
  );
  return moved.length;
}

/** rate-plans.apply-changes (every 15 minutes): next-period plan changes take effect on the first of the month. */
export function ratePlansApplyChangesJob(deps: { prisma: PrismaClient }): Processor<"rate-plans.apply-changes"> {
  return async (_data, ctx) => {
    const sims = await applyRatePlanChanges(deps.prisma);
    if (sims) ctx.log(`rate plan changes: ${sims} SIM(s) moved to their next-period plan`);
    return { sims };
  };
}
