import { createOperationEngine } from "../src/modules/operations/operation-engine.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * Runs or resumes one lifecycle operation (single SIM or bulk) through the network connector, chunk by chunk
 * (src/modules/operations/operation-engine.ts). A retry or a re-delivery after a crash continues with the
 * items still pending; the last attempt settles what is left as failed and ends the operation.
 */
export function operationsRunJob(deps: Pick<ProcessorDeps, "prisma" | "connectors" | "jobs">): Processor<"operations.run"> {
  const engine = createOperationEngine({ prisma: deps.prisma, network: deps.connectors.network, jobs: deps.jobs });
  return ({ operationId }, ctx) => engine.run(operationId, ctx);
}
