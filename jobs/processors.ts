import type { Config } from "../src/config.js";
import type { Connectors } from "../src/connectors/connectors.js";
import type { Keyring } from "../src/platform/crypto.js";
import type { PrismaClient, SqlRunner } from "../src/platform/db/database.js";
import type { JobRunner, Processors } from "../src/platform/jobs/job-runner.js";
import { billingRunJob } from "./billing-run.job.js";
import { billingScheduleJob } from "./billing-schedule.job.js";
import { billingTenantJob } from "./billing-tenant.job.js";
import { idempotencySweepJob } from "./idempotency-sweep.job.js";
import { invoicesNotifyJob } from "./invoices-notify.job.js";
import { invoicesRenderJob } from "./invoices-render.job.js";
import { operationsRunJob } from "./operations-run.job.js";
import { ratePlansApplyChangesJob } from "./rate-plans-apply-changes.job.js";
import { simsTestThresholdJob } from "./sims-test-threshold.job.js";
import { usagePartitionsJob } from "./usage-partitions.job.js";
import { usageRollupJob } from "./usage-rollup.job.js";
import { usageLimitsJob } from "./usage-limits.job.js";
import { usagePeriodResetJob } from "./usage-period-reset.job.js";
import { webhooksDeliverJob } from "./webhooks-deliver.job.js";
import { webhooksSweepJob } from "./webhooks-sweep.job.js";

export interface ProcessorDeps {
  prisma: PrismaClient;
  /** Plain SQL on the same pool, for set-based hot paths (usage rollups). */
  sql: SqlRunner;
  config: Config;
  keyring: Keyring;
  connectors: Connectors;
  /** The runner these processors run in, for follow-up jobs (a getter: the runner is built from the processors). */
  jobs: () => JobRunner;
}

/** Every job's processor, wired with its dependencies: one table for the in-process runner and BullMQ workers. */
export function createProcessors(deps: ProcessorDeps): Processors {
  return {
    "usage-partitions.ensure": usagePartitionsJob(deps),
    // -- processors: operations --
    "operations.run": operationsRunJob(deps),
    // -- processors: sims --
    "sims.test-threshold": simsTestThresholdJob(deps),
    // -- processors: webhooks --
    "webhooks.deliver": webhooksDeliverJob(deps),
    "webhooks.sweep": webhooksSweepJob(deps),
    // -- processors: idempotency --
    "idempotency.sweep": idempotencySweepJob(deps),
    // -- processors: usage --
    "usage.rollup": usageRollupJob(deps),
    "usage.limits": usageLimitsJob(deps),
    "usage.period-reset": usagePeriodResetJob(deps),
    // -- processors: esim --
    // -- processors: billing-runs --
    "billing.run": billingRunJob(deps),
    "billing.tenant": billingTenantJob(deps),
    "billing.schedule": billingScheduleJob(deps),
    "invoices.notify": invoicesNotifyJob(deps),
    // -- processors: invoices --
    "invoices.render": invoicesRenderJob(deps),
    // -- processors: rate-plans --
    "rate-plans.apply-changes": ratePlansApplyChangesJob(deps),
  };
}
