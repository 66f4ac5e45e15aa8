import type { PrismaClient } from "../src/platform/db/database.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";

/**
 * Creates usage_records partitions for the current month and `monthsAhead` more, so records land in their
 * month's partition rather than the default one, and retention can drop whole months. Idempotent.
 */
export function usagePartitionsJob(deps: { prisma: PrismaClient }): Processor<"usage-partitions.ensure"> {
  return async ({ monthsAhead }, ctx) => {
    const [row] = await deps.prisma.$queryRaw<Array<{ created: number }>>`SELECT connectivity.ensure_usage_partitions(${monthsAhead}::int) AS created`;
    if (row?.created) ctx.log(`usage partitions: created ${row.created}`);
    return { created: row?.created ?? 0 };
  };
}
