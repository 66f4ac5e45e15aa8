import type { OperationAction } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import type { Actor } from "../access/principal.js";
import type { SystemActor } from "../audit/audit.writer.js";

/**
 * The way any module asks for a lifecycle change (the IMEI policy suspending a SIM, the test-usage threshold
 * activating one, usage limits suspending): an operation, like a customer's, so the change goes through the
 * network connector and lands in the SIM's history with its reason code. No authorization here: callers are
 * trusted code acting on SIMs they already resolved; routes authorize before calling.
 */
export interface OperationRequest {
  tenantId: string;
  action: OperationAction;
  simIds: string[];
  /** Written on each SIM's history, e.g. "imei_mismatch", "test_threshold_reached", "data_limit". */
  reasonCode: string;
  params?: Record<string, unknown>;
  actor: Actor | SystemActor;
}

/** Records the operation and its items inside `tx`. Call `startOperation` after the transaction commits. */
export async function createOperation(tx: Db, request: OperationRequest): Promise<{ operationId: string }> {
  void tx;
  void request;
  throw new Error("createOperation: being implemented (issue 4, operations module)");
}

/** After commit: queue the operation for the lifecycle engine. */
export async function startOperation(jobs: JobRunner, operationId: string): Promise<void> {
  void jobs;
  void operationId;
  throw new Error("startOperation: being implemented (issue 4, operations module)");
}
