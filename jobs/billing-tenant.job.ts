import { billRunTenant } from "../src/modules/billing/billing-run-tenant.js";
import { TENANT_ATTEMPTS } from "../src/modules/billing/billing-run-plan.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * billing.tenant: bills one tenant of a run, exactly once (src/modules/billing/billing-run-tenant.ts). Business
 * refusals are recorded on the run at once; other errors are retried, and recorded on the last attempt.
 */
export function billingTenantJob(deps: Pick<ProcessorDeps, "prisma" | "jobs">): Processor<"billing.tenant"> {
  return async ({ runId, tenantId }, ctx) => {
    const result = await billRunTenant({ prisma: deps.prisma, jobs: deps.jobs() }, runId, tenantId, { lastAttempt: ctx.attempt >= TENANT_ATTEMPTS });
    if (result?.outcome === "failed") ctx.log(`billing run ${runId}: tenant ${tenantId} failed: ${result.error}`);
    return result && { outcome: result.outcome };
  };
}
