import type { PrismaClient } from "../../platform/db/database.js";
import { decide, nextLabels, type Decision } from "./operation-decisions.js";
import { applyLabels, applyRatePlan, favourKeyLookups, lockSims, ratePlanActive, settleItems, type ChunkItem, type Counters, type Settlement } from "./engine.repository.js";
import type { RunningOperation } from "./engine.types.js";

const TX = { maxWait: 30_000, timeout: 60_000 };

/**
 * One chunk of `change_rate_plan` or `set_labels`: changes of our own records only, no network call, so the
 * whole chunk is one transaction (lock, decide, apply, history, items, counters): it happens entirely or not.
 */
export async function runLocalChunk(deps: { prisma: PrismaClient }, op: RunningOperation, items: ChunkItem[]): Promise<Counters> {
  const spec = { id: op.id, tenantId: op.tenantId, action: op.action, params: op.params };
  const history = { tenantId: op.tenantId, operationId: op.id, reasonCode: op.reasonCode, actorType: op.actorType, actorId: op.actorId };
  return deps.prisma.$transaction(async (tx) => {
    await favourKeyLookups(tx);
    const sims = await lockSims(tx, items.map((i) => i.simId));
    // The plan was active when the operation was requested; it may have been retired since.
    const planGone = op.action === "change_rate_plan" && !(await ratePlanActive(tx, op.params.ratePlanId ?? ""));
    const settlements: Settlement[] = [];
    const ratePlanChanges: Array<{ id: string; from: string | null }> = [];
    const labelChanges: Array<{ id: string; from: string[]; to: string[] }> = [];
    for (const item of items) {
      const sim = sims.get(item.simId);
      const d: Decision = planGone ? { outcome: "fail", reason: "rate_plan_not_active" } : decide(spec, sim);
      if (d.outcome !== "change" || !sim) {
        settlements.push({ seq: item.seq, state: d.outcome === "skip" ? "skipped" : "failed", reason: d.outcome === "change" ? "sim_not_found" : d.reason, from: sim?.status ?? null, to: null });
        continue;
      }
      if (op.action === "change_rate_plan") ratePlanChanges.push({ id: sim.id, from: sim.ratePlanId });
      else labelChanges.push({ id: sim.id, from: sim.labels, to: nextLabels(sim.labels, op.params) });
      settlements.push({ seq: item.seq, state: "succeeded", reason: null, from: sim.status, to: null });
    }
    await applyRatePlan(tx, history, op.params.ratePlanId ?? "", ratePlanChanges);
    await applyLabels(tx, history, labelChanges);
    return settleItems(tx, op.tenantId, op.id, settlements);
  }, TX);
}
