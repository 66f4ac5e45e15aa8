/**
 * Queue names and their typed payloads. Payloads carry ids, never secrets (STYLE.md).
 * Job ids are deterministic where a job must run once per subject (idempotency across retries and re-enqueues).
 */
export const QUEUES = {
  maintenance: "maintenance",
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobPayloads {
  /** Create the usage_records partitions for the coming months. */
  "usage-partitions.ensure": { monthsAhead: number };
}

export type JobName = keyof JobPayloads;

/** Which queue each job travels on. */
export const JOB_QUEUE: Record<JobName, QueueName> = {
  "usage-partitions.ensure": QUEUES.maintenance,
};

/** Recurring jobs: every instance of the service upserts these; the scheduler id keeps one copy. */
export const SCHEDULES: Array<{ id: string; job: JobName; everyMs: number; data: JobPayloads[JobName] }> = [
  { id: "usage-partitions-daily", job: "usage-partitions.ensure", everyMs: 24 * 3600_000, data: { monthsAhead: 3 } },
];
