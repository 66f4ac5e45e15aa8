import { failRun, planRun, RUN_ATTEMPTS } from "../src/modules/billing/billing-run-plan.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * billing.run: plans a billing run (its tenants, one `billing.tenant` job each; src/modules/billing/billing-run-plan.ts).
 * Re-running it resumes: the tenants still pending are queued again under their deterministic job ids. When the
 * last attempt fails, the run is marked failed with the reason.
 */
export function billingRunJob(deps: Pick<ProcessorDeps, "prisma" | "jobs">): Processor<"billing.run"> {
  return async ({ runId }, ctx) => {
    try {
      const planned = await planRun({ prisma: deps.prisma, jobs: deps.jobs() }, runId);
      ctx.log(`billing run ${runId}: ${planned.tenants} tenant(s), ${planned.queued} queued`);
      return planned;
    } catch (err) {
      if (ctx.attempt >= RUN_ATTEMPTS) await failRun(deps.prisma, runId, `planning failed: ${(err as Error).message}`);
      throw err;
    }
  };
}
