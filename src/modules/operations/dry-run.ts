import type { Db } from "../../platform/db/database.js";
import { decide, type Decision, type OperationSpec } from "./operation-decisions.js";
import { simsByFilter, simsByIccid, type SelectedSim, type SimFilter } from "./operation-selection.js";
import { DRY_RUN_SAMPLE, type DryRunResult } from "./operations.schemas.js";

export type ResolvedSelection = { kind: "iccids" | "csv"; iccids: string[] } | { kind: "filter"; filter: SimFilter };

/**
 * What a bulk operation would do now, SIM by SIM, decided by the engine's own rule (operation-decisions.ts) on
 * the SIMs' current rows. Writes nothing: no operation, no item, no history. A real run later may differ where
 * SIMs change in between (and the network may still refuse some).
 */
export async function dryRun(db: Db, spec: OperationSpec, selection: ResolvedSelection): Promise<DryRunResult> {
  const decisions: Array<{ iccid: string; sim: SelectedSim | undefined; d: Decision }> = [];
  if (selection.kind === "filter") {
    for (const sim of await simsByFilter(db, spec.tenantId, selection.filter)) decisions.push({ iccid: sim.iccid, sim, d: decide(spec, sim) });
  } else {
    const sims = await simsByIccid(db, spec.tenantId, selection.iccids);
    for (const iccid of selection.iccids) {
      const sim = sims.get(iccid);
      decisions.push({ iccid, sim, d: sim ? decide(spec, sim) : { outcome: "fail", reason: "unknown_iccid" } });
    }
  }
  const counts = { change: 0, skip: 0, fail: 0 };
  const reasons = new Map<string, { outcome: "skip" | "fail"; reason: string; count: number }>();
  for (const { d } of decisions) {
    counts[d.outcome]++;
    if (d.outcome === "change") continue;
    const key = `${d.outcome}:${d.reason}`;
    const r = reasons.get(key) ?? { outcome: d.outcome, reason: d.reason, count: 0 };
    r.count++;
    reasons.set(key, r);
  }
  return {
    dryRun: true,
    action: spec.action,
    total: decisions.length,
    wouldChange: counts.change,
    wouldSkip: counts.skip,
    wouldFail: counts.fail,
    reasons: [...reasons.values()].sort((a, b) => b.count - a.count),
    // Refusals and skips first (each in selection order): they are what a caller checks before running it.
    sample: [...decisions.filter((x) => x.d.outcome !== "change"), ...decisions.filter((x) => x.d.outcome === "change")].slice(0, DRY_RUN_SAMPLE).map(({ iccid, sim, d }) => ({
      iccid,
      outcome: d.outcome,
      reason: d.outcome === "change" ? null : d.reason,
      status: sim?.status ?? null,
    })),
  };
}
