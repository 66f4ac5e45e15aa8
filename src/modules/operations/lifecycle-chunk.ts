import type { NetworkConnector, NetworkResult } from "../../connectors/network/network-connector.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { BILLING_EFFECT, TRANSITIONS, type LifecycleAction } from "../sims/lifecycle.js";
import { emitWebhookEvents } from "../webhooks/webhook-events.js";
import { decide } from "./operation-decisions.js";
import { applyStatusChange, favourKeyLookups, lockSims, releaseSims, reserveSims, settleItems, type ChunkItem, type Counters, type Settlement } from "./engine.repository.js";
import type { LockedSim, RunningOperation } from "./engine.types.js";

/** Interactive transactions of one chunk: generous, since a chunk is up to 1000 rows per statement. */
const TX = { maxWait: 30_000, timeout: 60_000 };

/**
 * One chunk of a lifecycle operation (activate, suspend, resume, terminate), in three steps:
 *  1. one transaction: lock the SIMs, decide each, settle the refused ones, mark the accepted ones pending;
 *  2. the network connector, outside any transaction (it may take seconds; no row stays locked meanwhile);
 *  3. one transaction: apply what the network confirmed, history rows, items, counters, webhook outbox rows.
 * A crash between 1 and 3 leaves the accepted SIMs marked with this operation and their items pending: the
 * next run decides them again (a SIM marked with this operation is accepted again) and re-sends them, which
 * the network takes as a no-op. Returns the operation's counters and the webhook deliveries to hand over.
 */
export async function runLifecycleChunk(
  deps: { prisma: PrismaClient; network: NetworkConnector },
  op: RunningOperation,
  items: ChunkItem[],
): Promise<{ counters: Counters | null; deliveryIds: string[] }> {
  const { prisma, network } = deps;
  const action = op.action as LifecycleAction;
  const to = TRANSITIONS[action].to;
  const spec = { id: op.id, tenantId: op.tenantId, action: op.action, params: op.params };

  const reserved = await prisma.$transaction(async (tx) => {
    await favourKeyLookups(tx);
    const sims = await lockSims(tx, items.map((i) => i.simId));
    const refused: Settlement[] = [];
    const accepted: Array<{ item: ChunkItem; sim: LockedSim }> = [];
    for (const item of items) {
      const sim = sims.get(item.simId);
      const d = decide(spec, sim);
      if (d.outcome === "change" && sim) accepted.push({ item, sim });
      else refused.push({ seq: item.seq, state: d.outcome === "skip" ? "skipped" : "failed", reason: d.outcome === "change" ? null : d.reason, from: sim?.status ?? null, to: null });
    }
    let counters: Counters | null = null;
    if (refused.length) {
      counters = await settleItems(tx, op.tenantId, op.id, refused);
      // A single-SIM request marks its SIM when it is made: a refusal here must free it again.
      const acceptedIds = new Set(accepted.map((a) => a.sim.id));
      await releaseSims(tx, op.id, items.map((i) => i.simId).filter((id) => !acceptedIds.has(id)));
    }
    await reserveSims(tx, op.id, op.action, accepted.map((a) => a.sim.id));
    return { accepted, counters };
  }, TX);
  if (reserved.accepted.length === 0) return { counters: reserved.counters, deliveryIds: [] };

  const results = await network.apply(reserved.accepted.map(({ sim }) => ({ iccid: sim.iccid, imsi: sim.imsi, msisdn: sim.msisdn, action })));
  if (results.length !== reserved.accepted.length) {
    // A connector bug, not a per-SIM refusal: fail the attempt (retried) rather than guess which SIM is which.
    throw new Error(`network connector answered ${results.length} results for ${reserved.accepted.length} changes`);
  }
  const byIccid = new Map<string, NetworkResult>(results.map((r) => [r.iccid, r]));

  return prisma.$transaction(async (tx) => {
    await favourKeyLookups(tx);
    const confirmed = reserved.accepted.filter(({ sim }) => byIccid.get(sim.iccid)?.ok);
    // Locked first, in id order like every engine transaction, so two operations never deadlock on a pair of
    // SIMs; the state read under the lock is the `from` of the history row.
    const now = await lockSims(tx, confirmed.map((c) => c.sim.id));
    const changed = await applyStatusChange(
      tx,
      { tenantId: op.tenantId, operationId: op.id, reasonCode: op.reasonCode, actorType: op.actorType, actorId: op.actorId },
      {
        to,
        action: op.action,
        billingEffect: BILLING_EFFECT[to],
        statusReason: to === "suspended" || to === "terminated" ? op.reasonCode : null,
        setActivatedAt: action === "activate",
        setTerminatedAt: to === "terminated",
      },
      [...now.values()].map((sim) => ({ id: sim.id, from: sim.status })),
    );
    const changedById = new Map(changed.map((c) => [c.id, c]));
    // Refused by the network (or, in theory, already changed by someone else): the SIM is free again.
    await releaseSims(tx, op.id, reserved.accepted.filter((a) => !changedById.has(a.sim.id)).map((a) => a.sim.id));
    const settlements: Settlement[] = reserved.accepted.map(({ item, sim }) => {
      const result = byIccid.get(sim.iccid);
      const done = changedById.get(sim.id);
      if (done) return { seq: item.seq, state: "succeeded", reason: null, from: done.from, to };
      if (result && !result.ok) return { seq: item.seq, state: "failed", reason: result.reason.slice(0, 200), from: sim.status, to: null };
      if (!result) return { seq: item.seq, state: "failed", reason: "network_no_answer", from: sim.status, to: null };
      // Confirmed, but the SIM no longer carries this operation's mark (another run of this operation applied it
      // already: its item is settled and this row changes nothing) or already is in the target state.
      return { seq: item.seq, state: "failed", reason: "sim_changed_concurrently", from: sim.status, to: null };
    });
    const counters = await settleItems(tx, op.tenantId, op.id, settlements);
    const at = new Date();
    const deliveryIds = await emitWebhookEvents(
      tx,
      changed.map((c) => ({
        tenantId: op.tenantId,
        type: "sim.state_changed" as const,
        occurredAt: at,
        data: { iccid: c.iccid, from: c.from, to, action: op.action, reasonCode: op.reasonCode, operationId: op.id },
      })),
    );
    return { counters, deliveryIds };
  }, TX);
}
