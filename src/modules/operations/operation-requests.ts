import type { OperationAction } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import type { Actor } from "../access/principal.js";
import type { SystemActor } from "../audit/audit.writer.js";
import { insertItemsForSimIds, insertOperation, setTotals } from "./operations.repository.js";

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

/**
 * Attempts of one `operations.run` job. Each attempt resumes where the last stopped; after the last one the
 * engine gives up on the items still pending (see operation-engine.ts). Backoff 1, 2, 4, 8, 16 s.
 */
export const OPERATION_ATTEMPTS = 6;

/**
 * Records the operation and its items inside `tx`. Call `startOperation` after the transaction commits.
 * SIM ids that are not the tenant's are left out (the operation's total counts the SIMs it will process);
 * duplicates count once. An operation with no SIM completes as soon as it runs.
 */
export async function createOperation(tx: Db, request: OperationRequest): Promise<{ operationId: string }> {
  const simIds = [...new Set(request.simIds)];
  const operationId = await insertOperation(tx, {
    tenantId: request.tenantId,
    action: request.action,
    params: request.params ?? {},
    selection: { kind: "sims", count: simIds.length },
    reasonCode: request.reasonCode,
    actor: request.actor,
  });
  const total = await insertItemsForSimIds(tx, request.tenantId, operationId, simIds);
  await setTotals(tx, operationId, total, 0);
  return { operationId };
}

/**
 * After commit: queue the operation for the lifecycle engine. The job id is the operation's, so queuing it
 * again (a retried request, a recovery sweep) is harmless: one job per operation.
 */
export async function startOperation(jobs: JobRunner, operationId: string): Promise<void> {
  await jobs.enqueue("operations.run", { operationId }, { jobId: `operations.run-${operationId}`, attempts: OPERATION_ATTEMPTS });
}
