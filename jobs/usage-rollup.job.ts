import { rollUpJournal } from "../src/modules/usage/rollup.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * usage.rollup (after each ingestion request, job id per second; every 5 s as a backstop): folds the journal of
 * newly stored usage records into the daily and hourly rollups and the SIMs' last-seen fields, for up to ~10 s,
 * then hands over to a fresh job if records are still waiting. A run that finds another one at work returns.
 */
export function usageRollupJob(deps: Pick<ProcessorDeps, "prisma" | "jobs">): Processor<"usage.rollup"> {
  return async (_data, ctx) => {
    const result = await rollUpJournal({ prisma: deps.prisma, jobs: deps.jobs() });
    if (result.records) {
      const rate = Math.round(result.records / Math.max(result.ms / 1000, 0.001));
      ctx.log(
        `usage rollup: ${result.records} records (${result.rows} journal rows, ${result.slices} slices) in ${result.ms} ms, ${rate} records/s; ` +
          `${result.simsMoved} SIMs' last seen moved, ${result.imeiObservations} IMEI observations${result.outcome === "continued" ? "; more waiting, continued in a new job" : ""}`,
      );
    }
    return result;
  };
}
