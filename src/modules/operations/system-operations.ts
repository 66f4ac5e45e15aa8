import { Prisma } from "../../generated/prisma/client.js";
import type { OperationAction } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import { appendAudit, type SystemActor } from "../audit/audit.writer.js";
import { createOperation, type OperationRequest } from "./operation-requests.js";

/**
 * What the platform's own jobs share when they change SIMs in bulk (test-threshold activation, data-limit
 * period reset): which SIMs are free to ask, and one audited operation per tenant chunk.
 */

/**
 * A WHERE condition on `s` (connectivity.sims): no operation in flight for the SIM, neither marked on it nor
 * still queued as a pending item of an open operation (an earlier run's request that has not started yet), so
 * a SIM is never asked twice.
 */
export const SIM_NOT_IN_FLIGHT = Prisma.sql`s.pending_operation_id IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM connectivity.operations o
    JOIN connectivity.operation_items i ON i.tenant_id = o.tenant_id AND i.operation_id = o.id AND i.state = 'pending'
    WHERE o.status IN ('queued', 'running') AND i.sim_id = s.id
  )`;

export interface TenantSims {
  tenantId: string;
  simIds: string[];
}

/** Rows ordered by tenant into one group per tenant. */
export function groupByTenant(rows: ReadonlyArray<{ tenantId: string; simId: string }>): TenantSims[] {
  const byTenant = new Map<string, string[]>();
  for (const r of rows) {
    const ids = byTenant.get(r.tenantId);
    if (ids) ids.push(r.simId);
    else byTenant.set(r.tenantId, [r.simId]);
  }
  return [...byTenant].map(([tenantId, simIds]) => ({ tenantId, simIds }));
}

/** SIMs per operation a job asks for: big enough for few operations, small enough to show progress. */
export const SIMS_PER_SYSTEM_OPERATION = 10_000;

/**
 * One operation over these SIMs with its `operation.created` audit event, in the caller's transaction (start it
 * after the commit). `auditData` adds to the event's data (e.g. the billing period a limit was reached in).
 */
export async function createAuditedOperation(tx: Db, request: OperationRequest, auditData: Record<string, unknown> = {}): Promise<string> {
  const { operationId } = await createOperation(tx, request);
  await appendAudit(tx, request.actor, {
    tenantId: request.tenantId,
    action: "operation.created",
    targetType: "operation",
    targetId: operationId,
    data: { action: request.action, reasonCode: request.reasonCode, selection: "sims", total: request.simIds.length, ...auditData },
  });
  return operationId;
}

/**
 * One audited operation per chunk of one tenant's SIMs, in the caller's transaction. Returns their ids: start
 * them after the commit.
 */
export async function createSystemOperations(
  tx: Db,
  group: TenantSims,
  request: { action: OperationAction; reasonCode: string; actor: SystemActor },
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < group.simIds.length; i += SIMS_PER_SYSTEM_OPERATION) {
    ids.push(await createAuditedOperation(tx, { tenantId: group.tenantId, simIds: group.simIds.slice(i, i + SIMS_PER_SYSTEM_OPERATION), ...request }));
  }
  return ids;
}
