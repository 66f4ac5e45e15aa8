import type { JobRunner } from "../../platform/jobs/job-runner.js";

/**
 * Asks for a rollup soon after ingestion committed. The job id is per second, so a burst of requests enqueues
 * one rollup a second instead of one per request; the 5-second schedule catches an enqueue lost to a crash.
 */
export async function requestRollup(jobs: JobRunner, now = Date.now()): Promise<void> {
  await jobs.enqueue("usage.rollup", {}, { jobId: `usage-rollup-${Math.floor(now / 1000)}` });
}
