import type { OperationAction, OperationItemState, SimStatus } from "../../generated/prisma/enums.js";
import { Prisma } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import { UUID_V7_SQL } from "../sims/sim-events.js";
import type { LockedSim } from "./engine.types.js";

/**
 * The lifecycle engine's statements. Each handles a whole chunk (up to 1000 SIMs) in one round trip:
 * arrays in, `unnest` inside, never one statement per SIM.
 */

/** History rows get time-ordered ids, like every other writer of sim_events (GET .../events pages by them). */
const NEW_EVENT_ID = Prisma.raw(UUID_V7_SQL);

export interface ChunkItem {
  seq: number;
  simId: string;
  iccid: string;
}

/**
 * Every chunk statement finds its (up to 1000) rows by key. With the default random_page_cost (4, tuned for
 * spinning disks) PostgreSQL prices 1000 index lookups above a scan of a 100,000-row table and scans it, once
 * per statement; measured on 100,000 SIMs that made each chunk 3 to 10 times slower. This transaction-local
 * setting (the SSD figure) makes the key lookups win; it ends with the transaction.
 */
export async function favourKeyLookups(tx: Db): Promise<void> {
  await tx.$executeRawUnsafe("SET LOCAL random_page_cost = 1.1");
}

/*
 * "Still pending" is tested as `processed_at IS NULL` in the per-chunk statements (an item gets its
 * processed_at exactly when it leaves `pending`; unknown ICCIDs are written settled). `state = 'pending'` says
 * the same but matches every column of the (tenant_id, operation_id, state) index, which holds all of the
 * operation's pending items: the planner then prefers it to the primary key (tenant_id, operation_id, seq) and
 * reads up to 100,000 entries per chunk. The engine also refreshes the statistics of a large new operation
 * (ANALYZE_FROM_ITEMS in operation-engine.ts), without which PostgreSQL takes it for a small one.
 */

/** The next pending items after `afterSeq`, in selection order (walks the primary key, skipping done items). */
export async function pendingChunk(db: Db, tenantId: string, operationId: string, afterSeq: number, size: number): Promise<ChunkItem[]> {
  return db.$queryRaw<ChunkItem[]>`
    SELECT seq, sim_id AS "simId", iccid FROM connectivity.operation_items
    WHERE tenant_id = ${tenantId}::uuid AND operation_id = ${operationId}::uuid AND seq > ${afterSeq}::int AND processed_at IS NULL
    ORDER BY seq LIMIT ${size}::int`;
}

/** Locks the chunk's SIMs until the transaction ends, in id order (two engines never deadlock on a pair). */
export async function lockSims(tx: Db, simIds: readonly string[]): Promise<Map<string, LockedSim>> {
  if (simIds.length === 0) return new Map();
  const rows = await tx.$queryRaw<LockedSim[]>`
    SELECT id, tenant_id AS "tenantId", iccid, imsi, msisdn, status::text AS status, pending_operation_id AS "pendingOperationId",
      rate_plan_id AS "ratePlanId", labels::text[] AS labels
    FROM connectivity.sims WHERE id = ANY(${simIds}::uuid[]) ORDER BY id FOR UPDATE`;
  return new Map(rows.map((r) => [r.id, r]));
}

/** Marks the SIMs as having this operation in flight: another lifecycle operation is refused meanwhile. */
export async function reserveSims(tx: Db, operationId: string, action: OperationAction, simIds: readonly string[]): Promise<void> {
  if (simIds.length === 0) return;
  await tx.$executeRaw`
    UPDATE connectivity.sims SET pending_operation_id = ${operationId}::uuid, pending_action = ${action}::connectivity."OperationAction", updated_at = now()
    WHERE id = ANY(${simIds}::uuid[]) AND (pending_operation_id IS NULL OR pending_operation_id = ${operationId}::uuid)`;
}

/** Clears this operation's mark on SIMs it will not change (refused, skipped, or refused by the network). */
export async function releaseSims(tx: Db, operationId: string, simIds: readonly string[]): Promise<void> {
  if (simIds.length === 0) return;
  await tx.$executeRaw`
    UPDATE connectivity.sims SET pending_operation_id = NULL, pending_action = NULL, updated_at = now()
    WHERE id = ANY(${simIds}::uuid[]) AND pending_operation_id = ${operationId}::uuid`;
}

export interface Settlement {
  seq: number;
  state: Exclude<OperationItemState, "pending">;
  reason: string | null;
  from: string | null;
  to: string | null;
}

export interface Counters {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

/**
 * Settles items and adds them to the operation's counters in one statement. Only items still pending change
 * (a second run over the same chunk after a crash counts nothing twice). Returns the operation's counters.
 */
export async function settleItems(tx: Db, tenantId: string, operationId: string, rows: readonly Settlement[]): Promise<Counters> {
  const [counters] = await tx.$queryRaw<Counters[]>`
    WITH u AS (
      SELECT * FROM unnest(${rows.map((r) => r.seq)}::int[], ${rows.map((r) => r.state)}::text[], ${rows.map((r) => r.reason)}::text[],
        ${rows.map((r) => r.from)}::text[], ${rows.map((r) => r.to)}::text[]) AS u(seq, state, reason, from_status, to_status)),
    upd AS (
      UPDATE connectivity.operation_items i
      SET state = u.state::connectivity."OperationItemState", reason = u.reason, from_status = u.from_status::connectivity."SimStatus",
        to_status = u.to_status::connectivity."SimStatus", processed_at = now()
      FROM u WHERE i.tenant_id = ${tenantId}::uuid AND i.operation_id = ${operationId}::uuid AND i.seq = ANY(${rows.map((r) => r.seq)}::int[])
        AND i.seq = u.seq AND i.processed_at IS NULL
      RETURNING i.state)
    UPDATE connectivity.operations o SET
      succeeded = o.succeeded + (SELECT count(*) FROM upd WHERE state = 'succeeded'),
      failed = o.failed + (SELECT count(*) FROM upd WHERE state = 'failed'),
      skipped = o.skipped + (SELECT count(*) FROM upd WHERE state = 'skipped')
    WHERE o.id = ${operationId}::uuid
    RETURNING o.total, o.succeeded, o.failed, o.skipped`;
  if (!counters) throw new Error(`operation ${operationId} vanished while it ran`);
  return counters;
}

export interface HistoryFields {
  tenantId: string;
  operationId: string;
  reasonCode: string;
  actorType: string;
  actorId: string | null;
}

export interface StatusChange {
  to: SimStatus;
  billingEffect: string;
  /** `status_reason`: why the SIM is suspended or terminated; cleared when it becomes active. */
  statusReason: string | null;
  setActivatedAt: boolean;
  setTerminatedAt: boolean;
  action: OperationAction;
}

/**
 * Applies a confirmed status change to the SIMs this operation still holds, clears the mark, and writes one
 * `state_changed` history row per SIM actually changed. `from` is the state read under the lock; a SIM no
 * longer held by this operation (another run of it already applied the change), or already in the target
 * state, is not touched, so no history row is ever written twice or for a change that did not happen. Returns the changed SIMs.
 */
export async function applyStatusChange(
  tx: Db,
  h: HistoryFields,
  change: StatusChange,
  sims: ReadonlyArray<{ id: string; from: SimStatus }>,
): Promise<Array<{ id: string; iccid: string; from: SimStatus }>> {
  if (sims.length === 0) return [];
  return tx.$queryRaw`
    WITH upd AS (
      UPDATE connectivity.sims s SET status = ${change.to}::connectivity."SimStatus", status_reason = ${change.statusReason},
        status_changed_at = now(),
        activated_at = CASE WHEN ${change.setActivatedAt}::boolean THEN now() ELSE s.activated_at END,
        terminated_at = CASE WHEN ${change.setTerminatedAt}::boolean THEN now() ELSE s.terminated_at END,
        pending_operation_id = NULL, pending_action = NULL, updated_at = now()
      FROM unnest(${sims.map((x) => x.id)}::uuid[], ${sims.map((x) => x.from)}::text[]) AS u(id, from_status)
      WHERE s.id = u.id AND s.pending_operation_id = ${h.operationId}::uuid AND s.status <> ${change.to}::connectivity."SimStatus"
      RETURNING s.id, s.iccid, u.from_status),
    ev AS (
      INSERT INTO connectivity.sim_events (id, tenant_id, sim_id, kind, from_status, to_status, reason_code, billing_effect, data, actor_type, actor_id, operation_id, at)
      SELECT ${NEW_EVENT_ID}, ${h.tenantId}::uuid, upd.id, 'state_changed', upd.from_status::connectivity."SimStatus", ${change.to}::connectivity."SimStatus", ${h.reasonCode},
        ${change.billingEffect}::connectivity."BillingEffect", jsonb_build_object('action', ${change.action}::text), ${h.actorType}, ${h.actorId},
        ${h.operationId}::uuid, now()
      FROM upd)
    SELECT id, iccid, from_status AS "from" FROM upd`;
}

/**
 * Moves the SIMs to the rate plan, with a `rate_plan_changed` history row each (`before`/`after`, as PATCH writes
 * labels), and records it as an immediate plan change for billing (sim_rate_plan_assignments, from today UTC, as
 * PUT /v1/sims/{iccid}/rate-plan does: an allocation today stays an allocation, a pending next-period change is
 * dropped). Without the assignment the rate-plans.apply-changes job would move the SIMs back.
 */
export async function applyRatePlan(tx: Db, h: HistoryFields, ratePlanId: string, sims: ReadonlyArray<{ id: string; from: string | null }>): Promise<void> {
  if (sims.length === 0) return;
  await tx.$executeRaw`
    WITH u AS (SELECT * FROM unnest(${sims.map((s) => s.id)}::uuid[], ${sims.map((s) => s.from)}::uuid[]) AS u(id, from_plan)),
    upd AS (
      UPDATE connectivity.sims s SET rate_plan_id = ${ratePlanId}::uuid, updated_at = now()
      FROM u WHERE s.id = u.id RETURNING s.id, s.tenant_id, u.from_plan),
    assigned AS (
      INSERT INTO connectivity.sim_rate_plan_assignments (sim_id, tenant_id, rate_plan_id, effective_from, kind, actor_type, actor_id)
      SELECT upd.id, upd.tenant_id, ${ratePlanId}::uuid, (now() AT TIME ZONE 'UTC')::date, 'immediate', ${h.actorType}, ${h.actorId} FROM upd
      ON CONFLICT (sim_id, effective_from) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, rate_plan_id = EXCLUDED.rate_plan_id,
        kind = CASE WHEN sim_rate_plan_assignments.kind = 'allocation' THEN 'allocation' ELSE EXCLUDED.kind END,
        actor_type = EXCLUDED.actor_type, actor_id = EXCLUDED.actor_id, created_at = now()),
    unscheduled AS (
      DELETE FROM connectivity.sim_rate_plan_assignments a USING upd
      WHERE a.sim_id = upd.id AND a.effective_from > (now() AT TIME ZONE 'UTC')::date)
    INSERT INTO connectivity.sim_events (id, tenant_id, sim_id, kind, reason_code, data, actor_type, actor_id, operation_id, at)
    SELECT ${NEW_EVENT_ID}, ${h.tenantId}::uuid, upd.id, 'rate_plan_changed', ${h.reasonCode},
      jsonb_build_object('before', jsonb_build_object('ratePlanId', upd.from_plan), 'after', jsonb_build_object('ratePlanId', ${ratePlanId}::uuid),
        'changed', jsonb_build_array('ratePlanId')), ${h.actorType}, ${h.actorId}, ${h.operationId}::uuid, now()
    FROM upd`;
}

/** Sets each SIM's labels, with a `labels_changed` history row each (`before`, `after`, `changed`, as PATCH /v1/sims does). */
export async function applyLabels(tx: Db, h: HistoryFields, sims: ReadonlyArray<{ id: string; from: string[]; to: string[] }>): Promise<void> {
  if (sims.length === 0) return;
  await tx.$executeRaw`
    WITH u AS (
      SELECT * FROM unnest(${sims.map((s) => s.id)}::uuid[], ${sims.map((s) => JSON.stringify(s.from))}::jsonb[], ${sims.map((s) => JSON.stringify(s.to))}::jsonb[])
        AS u(id, from_labels, to_labels)),
    upd AS (
      UPDATE connectivity.sims s
      SET labels = ARRAY(SELECT l.v FROM jsonb_array_elements_text(u.to_labels) WITH ORDINALITY AS l(v, i) ORDER BY l.i)::varchar(64)[], updated_at = now()
      FROM u WHERE s.id = u.id RETURNING s.id, u.from_labels, u.to_labels)
    INSERT INTO connectivity.sim_events (id, tenant_id, sim_id, kind, reason_code, data, actor_type, actor_id, operation_id, at)
    SELECT ${NEW_EVENT_ID}, ${h.tenantId}::uuid, upd.id, 'labels_changed', ${h.reasonCode},
      jsonb_build_object('before', jsonb_build_object('labels', upd.from_labels), 'after', jsonb_build_object('labels', upd.to_labels),
        'changed', jsonb_build_array('labels')), ${h.actorType}, ${h.actorId}, ${h.operationId}::uuid, now()
    FROM upd`;
}

/** True when the rate plan exists and is active; locks it (FOR SHARE) so it cannot be retired mid-chunk. */
export async function ratePlanActive(tx: Db, ratePlanId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<Array<{ ok: boolean }>>`
    SELECT status = 'active' AS ok FROM enterprise.rate_plans WHERE id = ${ratePlanId}::uuid FOR SHARE`;
  return rows[0]?.ok ?? false;
}
