/**
 * Queue names and their typed payloads. Payloads carry ids, never secrets (STYLE.md).
 * Job ids are deterministic where a job must run once per subject (idempotency across retries and re-enqueues).
 */
export const QUEUES = {
  maintenance: "maintenance",
  /** Lifecycle operations (single SIM and bulk) through the network connector. */
  operations: "operations",
  /** SM-DP+ (ES2+) calls for eSIM orders. */
  esim: "esim",
  /** Usage rollups, limit checks and the period's resumptions. */
  usage: "usage",
  /** Outgoing webhook deliveries. */
  webhooks: "webhooks",
  /** Billing runs (one job per tenant), invoice PDFs and invoice mail. */
  billing: "billing",
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

type Empty = Record<string, never>;

export interface JobPayloads {
  /** Create the usage_records partitions for the coming months. */
  "usage-partitions.ensure": { monthsAhead: number };
  /** Run (or resume, after a crash) a lifecycle operation: its pending items, chunk by chunk. */
  "operations.run": { operationId: string };
  /** Activate `ready` SIMs whose usage passed their tenant's test threshold. */
  "sims.test-threshold": Empty;
  /** Deliver these webhook deliveries now (first attempt or manual redelivery). */
  "webhooks.deliver": { deliveryIds: string[]; manual?: boolean };
  /** Pick up deliveries whose retry time has come (and any whose first attempt was never queued). */
  "webhooks.sweep": Empty;
  /** Forget Idempotency-Key answers older than 24 hours. */
  "idempotency.sweep": Empty;
  /** Fold the rollup journal into usage_daily/usage_hourly and sims' last-seen, then check limits and IMEIs. */
  "usage.rollup": Empty;
  /** Check data limits (per SIM and pooled) of these tenants' SIMs; no tenant ids = every tenant (the sweep). */
  "usage.limits": { tenantIds?: string[] };
  /** At a new billing period: resume the SIMs suspended for their data limit in an earlier one. */
  "usage.period-reset": Empty;
  // -- jobs: esim --
  /** Plan a billing run: list the tenants to bill and enqueue one billing.tenant job each. */
  "billing.run": { runId: string };
  /** Bill one tenant for the run's period (exactly once: skipped when its invoice exists). */
  "billing.tenant": { runId: string; tenantId: string };
  /** Hourly: start the scheduled run for the month that ended `runDelayHours` ago, once per period. */
  "billing.schedule": Empty;
  /** Render an issued invoice's PDF and store it (once; the stored document is immutable). */
  "invoices.render": { invoiceId: string };
  /** Mail an issued invoice's billing contacts (after the issuing transaction committed). */
  "invoices.notify": { invoiceId: string };
  /** Move SIMs whose next-period rate plan change has come onto their new plan (sims.rate_plan_id). */
  "rate-plans.apply-changes": Empty;
  // -- jobs: billing --
}

export type JobName = keyof JobPayloads;

/** Which queue each job travels on. */
export const JOB_QUEUE: Record<JobName, QueueName> = {
  "usage-partitions.ensure": QUEUES.maintenance,
  "operations.run": QUEUES.operations,
  "sims.test-threshold": QUEUES.maintenance,
  "webhooks.deliver": QUEUES.webhooks,
  "webhooks.sweep": QUEUES.webhooks,
  "idempotency.sweep": QUEUES.maintenance,
  "usage.rollup": QUEUES.usage,
  "usage.limits": QUEUES.usage,
  "usage.period-reset": QUEUES.usage,
  // -- queues: esim --
  "billing.run": QUEUES.billing,
  "billing.tenant": QUEUES.billing,
  "billing.schedule": QUEUES.billing,
  "invoices.render": QUEUES.billing,
  "invoices.notify": QUEUES.billing,
  "rate-plans.apply-changes": QUEUES.maintenance,
  // -- queues: billing --
};

/** Recurring jobs: every instance of the service upserts these; the scheduler id keeps one copy. */
export const SCHEDULES: Array<{ id: string; job: JobName; everyMs: number; data: JobPayloads[JobName] }> = [
  { id: "usage-partitions-daily", job: "usage-partitions.ensure", everyMs: 24 * 3600_000, data: { monthsAhead: 3 } },
  { id: "sims-test-threshold", job: "sims.test-threshold", everyMs: 60_000, data: {} },
  { id: "webhooks-sweep", job: "webhooks.sweep", everyMs: 15_000, data: {} },
  { id: "idempotency-sweep", job: "idempotency.sweep", everyMs: 3600_000, data: {} },
  // A backstop: ingestion enqueues a rollup after each request; this catches any whose enqueue was lost.
  { id: "usage-rollup", job: "usage.rollup", everyMs: 5_000, data: {} },
  { id: "usage-limits-sweep", job: "usage.limits", everyMs: 10 * 60_000, data: {} },
  { id: "usage-period-reset", job: "usage.period-reset", everyMs: 15 * 60_000, data: {} },
  // -- schedules: esim --
  { id: "billing-schedule", job: "billing.schedule", everyMs: 3600_000, data: {} },
  { id: "rate-plans-apply-changes", job: "rate-plans.apply-changes", everyMs: 15 * 60_000, data: {} },
  // -- schedules: billing --
];
