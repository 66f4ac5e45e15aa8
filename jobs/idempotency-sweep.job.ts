import { sweepExpiredIdempotencyKeys } from "../src/http/idempotency-store.js";
import type { PrismaClient } from "../src/platform/db/database.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";

/**
 * Deletes Idempotency-Key rows past their 24 hours (scheduled hourly, jobs/queues.ts). Until then an expired
 * row already counts as absent (src/http/idempotency-store.ts): the sweep only keeps the table small.
 * Idempotent: running it twice deletes nothing more.
 */
export function idempotencySweepJob(deps: { prisma: PrismaClient }): Processor<"idempotency.sweep"> {
  return async (_data, ctx) => {
    const deleted = await sweepExpiredIdempotencyKeys(deps.prisma);
    if (deleted) ctx.log(`idempotency: deleted ${deleted} expired keys`);
    return { deleted };
  };
}
