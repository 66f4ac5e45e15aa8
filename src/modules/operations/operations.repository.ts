import type { OperationAction } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import { principalId, type Actor } from "../access/principal.js";
import type { SystemActor } from "../audit/audit.writer.js";

/**
 * The writes that create an operation and its items. Items are written set-based (one INSERT ... SELECT per
 * operation, whatever its size); `seq` is the SIM's position in the selection and the engine's chunk key.
 */


/** Who asked, as stored on the operation (and copied onto each SIM's history row). */
export interface ActorFields {
  actorType: "user" | "api_key" | "system";
  actorId: string | null;
  requestId: string | null;
}

export function actorFields(actor: Actor | SystemActor): ActorFields {
  if ("principal" in actor) {
    const p = actor.principal;
    return { actorType: p ? p.kind : "system", actorId: p ? principalId(p) : null, requestId: actor.requestId };
  }
  return { actorType: "system", actorId: actor.name, requestId: actor.requestId };
}

/** How the SIMs were chosen, as GET /v1/operations/{id} shows it. */
export type Selection =
  | { kind: "sim"; iccid: string }
  | { kind: "sims"; count: number }
  | { kind: "iccids" | "csv"; count: number; unknown: number }
  | { kind: "filter"; filter: Record<string, unknown> };

export interface NewOperation {
  tenantId: string;
  action: OperationAction;
  params: Record<string, unknown>;
  selection: Selection;
  reasonCode: string;
  actor: Actor | SystemActor;
}

export async function insertOperation(tx: Db, op: NewOperation): Promise<string> {
  const row = await tx.operation.create({
    data: {
      tenantId: op.tenantId,
      action: op.action,
      params: op.params as object,
      selection: op.selection as object,
      reasonCode: op.reasonCode,
      ...actorFields(op.actor),
    },
    select: { id: true },
  });
  return row.id;
}

/** Sets the operation's total (and the failures known at creation: unknown ICCIDs). */
export async function setTotals(tx: Db, operationId: string, total: number, failed: number): Promise<void> {
  await tx.operation.update({ where: { id: operationId }, data: { total, failed } });
}

/** Items for SIMs given by id (trusted callers): ids of another tenant or of no SIM are left out. */
export async function insertItemsForSimIds(tx: Db, tenantId: string, operationId: string, simIds: readonly string[]): Promise<number> {
  const ids = [...new Set(simIds)];
  if (ids.length === 0) return 0;
  return tx.$executeRaw`
    INSERT INTO connectivity.operation_items (tenant_id, operation_id, seq, sim_id, iccid)
    SELECT ${tenantId}::uuid, ${operationId}::uuid, u.ord, s.id, s.iccid
    FROM unnest(${ids}::uuid[]) WITH ORDINALITY AS u(id, ord)
    JOIN connectivity.sims s ON s.id = u.id AND s.tenant_id = ${tenantId}::uuid`;
}

/**
 * Items for ICCIDs in the caller's order (deduplicated by the caller). An ICCID that is not one of the tenant's
 * SIMs (unknown, or another tenant's: never disclosed, never touched) becomes a failed `unknown_iccid` item.
 */
export async function insertItemsForIccids(tx: Db, tenantId: string, operationId: string, iccids: readonly string[]): Promise<{ total: number; unknown: number }> {
  if (iccids.length === 0) return { total: 0, unknown: 0 };
  const [row] = await tx.$queryRaw<Array<{ total: number; unknown: number }>>`
    WITH ins AS (
      INSERT INTO connectivity.operation_items (tenant_id, operation_id, seq, sim_id, iccid, state, reason, processed_at)
      SELECT ${tenantId}::uuid, ${operationId}::uuid, u.ord, s.id, u.iccid,
        (CASE WHEN s.id IS NULL THEN 'failed' ELSE 'pending' END)::connectivity."OperationItemState",
        CASE WHEN s.id IS NULL THEN 'unknown_iccid' END,
        CASE WHEN s.id IS NULL THEN now() END
      FROM unnest(${iccids}::text[]) WITH ORDINALITY AS u(iccid, ord)
      LEFT JOIN connectivity.sims s ON s.iccid = u.iccid AND s.tenant_id = ${tenantId}::uuid
      RETURNING state)
    SELECT count(*)::int AS total, (count(*) FILTER (WHERE state = 'failed'))::int AS unknown FROM ins`;
  return row ?? { total: 0, unknown: 0 };
}
