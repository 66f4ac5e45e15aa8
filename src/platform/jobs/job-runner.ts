import type { JobName, JobPayloads } from "../../../jobs/queues.js";

export interface EnqueueOptions {
  /** Deterministic id: enqueuing the same id twice runs the job once. */
  jobId?: string;
  delayMs?: number;
  attempts?: number;
}

export interface JobContext {
  /** Report progress 0-100 (shown by the API for long operations). */
  progress(percent: number): Promise<void>;
  attempt: number;
  log: (msg: string) => void;
}

export type Processor<N extends JobName = JobName> = (data: JobPayloads[N], ctx: JobContext) => Promise<unknown>;
export type Processors = { [N in JobName]: Processor<N> };

/**
 * Where jobs go. BullMQ on Redis when REDIS_URL is set; otherwise the same processors run in-process.
 * Enqueue only after the transaction that made the job necessary has committed.
 */
export interface JobRunner {
  readonly kind: "bullmq" | "in-process";
  enqueue<N extends JobName>(name: N, data: JobPayloads[N], opts?: EnqueueOptions): Promise<void>;
  /** Starts recurring schedules (SCHEDULES) and, for the in-process runner, the processors. */
  start(): Promise<void>;
  /** Stops taking jobs and waits for running ones to finish. */
  close(): Promise<void>;
  ping(): Promise<void>;
}

export const DEFAULT_ATTEMPTS = 5;
/** Exponential backoff: 1 s, 2 s, 4 s... */
export const BACKOFF_BASE_MS = 1000;
