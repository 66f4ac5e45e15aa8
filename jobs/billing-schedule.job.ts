import { scheduleBillingRun } from "../src/modules/billing/billing-schedule.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import type { ProcessorDeps } from "./processors.js";

/** billing.schedule (hourly): the previous month's scheduled run, once per period (src/modules/billing/billing-schedule.ts). */
export function billingScheduleJob(deps: Pick<ProcessorDeps, "prisma" | "jobs">): Processor<"billing.schedule"> {
  return async (_data, ctx) => {
    const result = await scheduleBillingRun({ prisma: deps.prisma, jobs: deps.jobs() });
    if (result.due && result.created) ctx.log(`billing: scheduled run ${result.runId} for ${result.period} created`);
    if (!result.due && result.waitingFor) ctx.log(`billing: the run for ${result.period} waits for the issuer's ${result.waitingFor.join(", ")} (PUT /v1/billing/settings)`);
    return result;
  };
}
