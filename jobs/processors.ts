import type { PrismaClient } from "../src/platform/db/database.js";
import type { Processors } from "../src/platform/jobs/job-runner.js";
import { usagePartitionsJob } from "./usage-partitions.job.js";

/** Every job's processor, wired with its dependencies: one table for the in-process runner and BullMQ workers. */
export function createProcessors(deps: { prisma: PrismaClient }): Processors {
  return {
    "usage-partitions.ensure": usagePartitionsJob(deps),
  };
}
