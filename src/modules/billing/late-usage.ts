import type { SqlRunner } from "../../platform/db/database.js";
import type { PlanPrices } from "../rate-plans/plan-prices.js";
import type { SimCharge } from "./bill.types.js";
import { allowanceNote, label, line, max0, mb, microPrices, microsText, present, type PlanBill } from "./charges-lines.js";
import { loadSegments, type SimSegment } from "./charges.repository.js";
import { loadBilledUsage, loadLateCandidates, type BilledUsage } from "./late-usage.repository.js";
import { Money } from "./money.js";
import { isoDate, periodStartingOn, previousPeriod, type BillingPeriod } from "./period.js";

/**
 * Late usage (issue 6 item 2): usage of an invoiced period that arrived after it was billed goes on a later
 * invoice, once, as labelled `late_usage` lines. The rules are listed in charges.ts.
 */

/** How many earlier periods late usage looks back over. */
export const LATE_USAGE_PERIODS = 12;

/** An earlier period to adjust: its SIM segments recomputed with today's usage, and what was billed of it. */
export interface LatePeriod {
  q: BillingPeriod;
  segments: SimSegment[];
  billed: BilledUsage[];
}

/** The invoiced periods among the 12 before `period` whose usage may have grown, with what they need. */
export async function loadLatePeriods(sql: SqlRunner, tenantId: string, period: BillingPeriod): Promise<LatePeriod[]> {
  let from = period;
  for (let i = 0; i < LATE_USAGE_PERIODS; i++) from = previousPeriod(from);
  const late: LatePeriod[] = [];
  for (const start of await loadLateCandidates(sql, tenantId, from, period)) {
    const q = periodStartingOn(new Date(`${start}T00:00:00Z`));
    late.push({ q, segments: await loadSegments(sql, tenantId, q), billed: await loadBilledUsage(sql, tenantId, q, period) });
  }
  return late;
}

/**
 * One plan's late usage for an earlier period Q: Q's usage charges recomputed from today's usage_daily (Q's days,
 * Q's price version) minus what issued invoices already billed of Q. Positive differences are billed, per SIM
 * on a per-SIM allowance and per pool on a pooled one; each SIM's delta is recorded (even at no charge) so the
 * next computation subtracts it too.
 */
export function lateUsageBill(plan: PlanPrices, q: BillingPeriod, segments: readonly SimSegment[], billed: readonly BilledUsage[]): PlanBill {
  const v = plan;
  const m = microPrices(v, q.days);
  const pooled = v.dataAllowance === "pooled";
  const billedBySim = new Map(billed.filter((b) => b.ratePlanId === plan.ratePlanId).map((b) => [b.simId, b]));
  const none: BilledUsage = { simId: "", ratePlanId: plan.ratePlanId, bytes: 0n, overageBytes: 0n, smsMo: 0, smsMt: 0 };

  const usagePeriod = isoDate(q.start);
  const simCharges: SimCharge[] = [];
  let perSimOverage = 0n;
  for (const s of segments) {
    const b = billedBySim.get(s.simId) ?? none;
    const bytes = max0(s.bytes - b.bytes);
    const smsMo = Math.max(0, s.smsMo - b.smsMo);
    const smsMt = Math.max(0, s.smsMt - b.smsMt);
    if (bytes === 0n && smsMo === 0 && smsMt === 0) continue;
    const overage = pooled ? 0n : max0(max0(s.bytes - v.includedBytes) - b.overageBytes);
    perSimOverage += overage;
    simCharges.push({
      simId: s.simId,
      iccid: s.iccid,
      ratePlanId: plan.ratePlanId,
      usagePeriod,
      billableDays: 0,
      suspendedDays: 0,
      activated: false,
      bytes,
      includedBytes: 0n,
      overageBytes: overage,
      smsMo,
      smsMt,
      feeAmount: "0",
      activationAmount: "0",
      overageAmount: microsText(m.overage(overage)),
      smsAmount: microsText(m.sms(smsMo, smsMt)),
    });
  }

  const poolSims = segments.filter((s) => s.billableDays > 0).length;
  let overageBytes = perSimOverage;
  if (pooled) {
    const pool = v.includedBytes * BigInt(poolSims);
    const now = max0(segments.reduce((sum, s) => sum + s.bytes, 0n) - pool);
    const before = max0([...billedBySim.values()].reduce((sum, b) => sum + b.bytes, 0n) - pool);
    overageBytes = max0(now - before);
  }
  const smsMo = simCharges.reduce((sum, c) => sum + c.smsMo, 0);
  const smsMt = simCharges.reduce((sum, c) => sum + c.smsMt, 0);
  const late = `Late usage for ${q.key}:`;
  const lines = present([
    line(plan, "late_usage", `${late} data beyond the allowance – ${label(plan)}, ${allowanceNote(plan, poolSims)}`, mb(overageBytes), "MB", v.overagePerMb, usagePeriod),
    line(plan, "late_usage", `${late} SMS from devices (MO) – ${label(plan)}`, new Money(smsMo), "SMS", v.smsMoPrice, usagePeriod),
    line(plan, "late_usage", `${late} SMS to devices (MT) – ${label(plan)}`, new Money(smsMt), "SMS", v.smsMtPrice, usagePeriod),
  ]);
  return { lines, simCharges };
}
