import type { ImeiEventKind, ImeiLockMode, ImeiMismatchAction, SimStatus } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { appendAudit } from "../audit/audit.writer.js";
import { startOperation } from "../operations/operation-requests.js";
import { deliverSoon } from "../webhooks/webhook-events.js";
import { IMEI_POLICY_ACTOR, recordImeiMismatches, type ImeiFollowUp, type ImeiMismatch } from "./imei-mismatch.js";
import { REPAIRABLE_MODES, violatesPolicy, type ImeiPolicyState } from "./imei-rules.js";

/** A device seen with a SIM: from a network event now, from usage records (issue 5). */
export interface ImeiObservation {
  tenantId: string;
  simId: string;
  /** Normalised: 15 digits with its check digit (validateImei). */
  imei: string;
  /** MCC-MNC, e.g. "262-01". */
  network?: string | null;
  at: Date;
  source: "usage" | "network_event";
}

/** The SIM columns the check reads, locked for the transaction. */
interface SimState {
  id: string;
  tenant_id: string;
  iccid: string;
  status: SimStatus;
  pending_operation_id: string | null;
  imei_lock_mode: ImeiLockMode;
  bound_imei: string | null;
  imei_allow_list: string[];
  imei_on_mismatch: ImeiMismatchAction;
  imei_repair_until: Date | null;
  last_seen_imei: string | null;
  last_seen_at: Date | null;
  last_network: string | null;
  now: Date;
}

/** A SIM's bound IMEI set by the check: a lock-first-seen binding or a repair. */
interface PolicyChange {
  sim: SimState;
  kind: "bound" | "repaired";
  imei: string;
  before: string | null;
  at: Date;
}

interface ImeiEventRow {
  tenantId: string;
  simId: string;
  kind: Exclude<ImeiEventKind, "mismatch">;
  imei: string;
  previousImei: string | null;
  source: ImeiObservation["source"];
  network: string | null;
  at: Date;
}

/**
 * The IMEI check, one batch at a time, inside the caller's transaction (network events now, usage ingestion
 * later at tens of thousands of records a second), so its cost is a fixed number of statements per batch:
 *
 * 1. the device inventory: one upsert for every (tenant, IMEI) of the batch;
 * 2. the batch's SIMs, read once and locked in id order (concurrent batches for the same SIM serialise, so an
 *    IMEI change is recorded once; the fixed order keeps them from deadlocking);
 * 3. per SIM, its observations in time order against its last seen IMEI and policy: most carry the IMEI the SIM
 *    already had and only move `last_seen_at`; a different IMEI is an event (first_seen, changed, bound,
 *    repaired or mismatch). Observations older than the SIM's last sighting (late records) only feed the device
 *    inventory: the SIM's state already reflects newer facts;
 * 4. one update of the SIMs that moved, one insert of the IMEI events, and for mismatches their alerts,
 *    webhooks and suspend operations (recordImeiMismatches).
 *
 * Returns what to do after commit: pass it to `afterImeiCheck`.
 */
export async function checkImeiObservations(tx: Db, observations: ImeiObservation[]): Promise<ImeiFollowUp> {
  if (observations.length === 0) return { operationIds: [], deliveryIds: [] };
  await upsertDevices(tx, observations);

  const bySim = new Map<string, ImeiObservation[]>();
  for (const o of observations) {
    const list = bySim.get(o.simId);
    if (list) list.push(o);
    else bySim.set(o.simId, [o]);
  }
  const sims = await lockSims(tx, [...bySim.keys()]);

  const simUpdates: Array<{ id: string; imei: string | null; at: Date | null; network: string | null; bound_imei: string | null; repair_until: Date | null }> = [];
  const events: ImeiEventRow[] = [];
  const mismatches: ImeiMismatch[] = [];
  const policyChanges: PolicyChange[] = [];

  for (const sim of sims) {
    const seen = (bySim.get(sim.id) ?? []).filter((o) => o.tenantId === sim.tenant_id).sort((a, b) => a.at.getTime() - b.at.getTime());
    let { last_seen_imei: lastImei, last_seen_at: lastAt, last_network: network, bound_imei: bound, imei_repair_until: repairUntil } = sim;
    let suspending = false;
    let moved = false;
    for (const o of seen) {
      if (lastAt && o.at < lastAt) continue;
      moved = true;
      const previous = lastImei;
      const obsNetwork = o.network ?? null;
      lastImei = o.imei;
      lastAt = o.at;
      network = obsNetwork ?? network;
      const repairable = REPAIRABLE_MODES.includes(sim.imei_lock_mode) && bound !== null;
      if (repairable && repairUntil && repairUntil > sim.now && o.imei !== bound) {
        // A new device inside the repair window: it becomes the bound one, and the window closes.
        events.push({ tenantId: sim.tenant_id, simId: sim.id, kind: "repaired", imei: o.imei, previousImei: bound, source: o.source, network: obsNetwork, at: o.at });
        policyChanges.push({ sim, kind: "repaired", imei: o.imei, before: bound, at: o.at });
        bound = o.imei;
        repairUntil = null;
        continue;
      }
      if (sim.imei_lock_mode === "lock_first_seen" && bound === null) {
        events.push({ tenantId: sim.tenant_id, simId: sim.id, kind: "bound", imei: o.imei, previousImei: previous, source: o.source, network: obsNetwork, at: o.at });
        policyChanges.push({ sim, kind: "bound", imei: o.imei, before: null, at: o.at });
        bound = o.imei;
        continue;
      }
      if (o.imei === previous) continue;
      const policy: ImeiPolicyState = { mode: sim.imei_lock_mode, boundImei: bound, allowList: sim.imei_allow_list };
      if (violatesPolicy(policy, o.imei)) {
        // One suspension per SIM: only when nothing else is in flight for it and it is live.
        const suspend: boolean = sim.imei_on_mismatch === "suspend" && !suspending && sim.status === "active" && sim.pending_operation_id === null;
        suspending ||= suspend;
        mismatches.push({ tenantId: sim.tenant_id, simId: sim.id, iccid: sim.iccid, imei: o.imei, previousImei: previous, network: obsNetwork, at: o.at, source: o.source, policy, action: suspend ? "suspend" : "alert" });
        continue;
      }
      events.push({ tenantId: sim.tenant_id, simId: sim.id, kind: previous === null ? "first_seen" : "changed", imei: o.imei, previousImei: previous, source: o.source, network: obsNetwork, at: o.at });
    }
    if (moved) simUpdates.push({ id: sim.id, imei: lastImei, at: lastAt, network, bound_imei: bound, repair_until: repairUntil });
  }

  if (simUpdates.length) {
    await tx.$executeRaw`
      UPDATE connectivity.sims s
      SET last_seen_imei = u.imei, last_seen_at = u.at, last_network = u.network, bound_imei = u.bound_imei, imei_repair_until = u.repair_until
      FROM jsonb_to_recordset(${JSON.stringify(simUpdates)}::jsonb) AS u(id uuid, imei text, at timestamptz, network text, bound_imei text, repair_until timestamptz)
      WHERE s.id = u.id`;
  }
  if (events.length) await tx.imeiEvent.createMany({ data: events });
  await recordPolicyChanges(tx, policyChanges);
  return recordImeiMismatches(tx, mismatches);
}

/** After the transaction committed: start the suspensions and dispatch the webhooks. */
export async function afterImeiCheck(jobs: JobRunner, followUp: ImeiFollowUp): Promise<void> {
  for (const id of followUp.operationIds) await startOperation(jobs, id);
  await deliverSoon(jobs, followUp.deliveryIds);
}

/** One row per (tenant, IMEI) of the batch, in key order (concurrent batches lock device rows in the same order). */
async function upsertDevices(tx: Db, observations: ImeiObservation[]): Promise<void> {
  const devices = new Map<string, { tenant_id: string; imei: string; first_at: Date; last_at: Date; sim_id: string }>();
  for (const o of observations) {
    const key = `${o.tenantId}:${o.imei}`;
    const d = devices.get(key);
    if (!d) devices.set(key, { tenant_id: o.tenantId, imei: o.imei, first_at: o.at, last_at: o.at, sim_id: o.simId });
    else {
      if (o.at < d.first_at) d.first_at = o.at;
      if (o.at >= d.last_at) {
        d.last_at = o.at;
        d.sim_id = o.simId;
      }
    }
  }
  const rows = [...devices.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
  await tx.$executeRaw`
    INSERT INTO connectivity.devices (tenant_id, imei, tac, first_seen_at, last_seen_at, last_sim_id)
    SELECT d.tenant_id, d.imei, substr(d.imei, 1, 8), d.first_at, d.last_at, d.sim_id
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS d(tenant_id uuid, imei text, first_at timestamptz, last_at timestamptz, sim_id uuid)
    ON CONFLICT (tenant_id, imei) DO UPDATE SET
      first_seen_at = LEAST(devices.first_seen_at, EXCLUDED.first_seen_at),
      last_sim_id = CASE WHEN EXCLUDED.last_seen_at >= devices.last_seen_at THEN EXCLUDED.last_sim_id ELSE devices.last_sim_id END,
      last_seen_at = GREATEST(devices.last_seen_at, EXCLUDED.last_seen_at)
    WHERE EXCLUDED.last_seen_at >= devices.last_seen_at OR EXCLUDED.first_seen_at < devices.first_seen_at`;
}

async function lockSims(tx: Db, ids: string[]): Promise<SimState[]> {
  return tx.$queryRaw<SimState[]>`
    SELECT id, tenant_id, iccid, status, pending_operation_id, imei_lock_mode, bound_imei, imei_allow_list, imei_on_mismatch,
           imei_repair_until, last_seen_imei, last_seen_at, last_network, now() AS now
    FROM connectivity.sims
    WHERE id IN (SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)
    ORDER BY id
    FOR UPDATE`;
}

/**
 * Bindings and repairs change SIMs' policies: each goes into its SIM's history (one insert for the batch), and
 * the audit log gets one event per tenant and kind listing the SIMs (a bulk binding must not cost thousands of
 * sequential appends to the tenant's chain).
 */
async function recordPolicyChanges(tx: Db, changes: PolicyChange[]): Promise<void> {
  if (changes.length === 0) return;
  const snapshot = (c: PolicyChange) => ({
    before: { boundImei: c.before, ...(c.kind === "repaired" && { repairUntil: c.sim.imei_repair_until?.toISOString() ?? null }) },
    after: { boundImei: c.imei, ...(c.kind === "repaired" && { repairUntil: null }) },
  });
  await tx.simEvent.createMany({
    data: changes.map((c) => ({ tenantId: c.sim.tenant_id, simId: c.sim.id, kind: "imei_policy_changed" as const, reasonCode: `imei_${c.kind}`, data: snapshot(c), actorType: "system", actorId: IMEI_POLICY_ACTOR.name, at: c.at })),
  });
  const groups = new Map<string, PolicyChange[]>();
  for (const c of changes) {
    const key = `${c.sim.tenant_id}:${c.kind}`;
    const group = groups.get(key);
    if (group) group.push(c);
    else groups.set(key, [c]);
  }
  for (const group of groups.values()) {
    const { sim, kind } = group[0]!;
    await appendAudit(tx, IMEI_POLICY_ACTOR, {
      tenantId: sim.tenant_id,
      action: `sim.imei_${kind}`,
      targetType: "sim",
      ...(group.length === 1 && { targetId: sim.id }),
      data: { count: group.length, sims: group.map((c) => ({ iccid: c.sim.iccid, ...snapshot(c) })) },
    });
  }
}
