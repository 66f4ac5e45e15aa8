import type { SqlRunner } from "../../platform/db/database.js";
import { UnprocessableError } from "../../platform/errors.js";
import { pricesInEffect, type PlanPrices } from "../rate-plans/plan-prices.js";
import type { BillLine, CurrencyBill, SimCharge, TenantBill } from "./bill.types.js";
import { periodBill, type PlanBill } from "./charges-lines.js";
import { loadSegments, type SimSegment } from "./charges.repository.js";
import { lateUsageBill, loadLatePeriods } from "./late-usage.js";
import { isoDate, type BillingPeriod } from "./period.js";

/**
 * What a tenant owes for a period: the product's billing policy.
 *
 * Inputs
 * - The tenant's SIMs and their history (connectivity.sim_events of kinds `allocated` and `state_changed` with a
 *   billing effect: test = ready, billable = active, reduced = suspended, none = inventory or terminated). A SIM's
 *   status at an instant is the effect of its last such event at or before it; a SIM with no such event at all
 *   has had its current status since its created_at.
 * - Plan assignments (connectivity.sim_rate_plan_assignments): the plan in effect on a day is the row with the
 *   greatest effective_from on or before it; none means no plan, and nothing is billed that day.
 * - Prices: the version of each plan in effect on the period's first day. A plan with a SIM to charge (a billable
 *   or suspended day) and no version refuses the whole bill: 422 `rate_plan_unpriced` naming the plan.
 * - Usage: connectivity.usage_daily of the period's days (a record belongs to the UTC day it started on).
 *
 * Days (UTC)
 * - Billable day: the SIM was active at some moment of it. Suspended day: suspended at some moment and never
 *   active. Usage counts only on billable and suspended days with a plan: a day only in test (ready), inventory
 *   or terminated state, or without a plan, bills nothing.
 * - A SIM's period is cut by plan (a plan change applies from its effective day); its days on one plan form one
 *   segment (a SIM back on a plan it left has one segment for both stretches).
 *
 * Lines, per plan (with its version), in this order; a line with a zero quantity or a zero price is left out
 * - monthly_fee: a whole fee per SIM with a billable day ("SIM-month"); on a prorated plan, and for a SIM whose
 *   plan changed during the period (charged days on two plans: both are prorated), billableDays / daysInPeriod
 *   per SIM, the sum rounded to 6 places.
 *   Whole and prorated SIMs of one plan are separate lines, the descriptions say which.
 * - suspended_fee: the same with suspended days and the suspended fee; a whole suspended fee only for a SIM with
 *   no billable day (its monthly fee covers the month).
 * - activation_fee: SIMs whose first-ever ready -> active move fell in the period, on a day on this plan ("SIM").
 * - data_overage ("MB", 1 MB = 1,000,000 bytes, 6 places): per-SIM allowance: the sum of each SIM's
 *   max(0, bytes - included) (allowances are not prorated); pooled: max(0, total bytes - included x SIMs with a
 *   billable day).
 * - sms_mo, sms_mt: counts ("SMS").
 * Net = quantity x unit price, rounded half-up to the currency's minor unit once per line.
 * Per-SIM charges: one per SIM and segment, with days, activation, bytes, allowance (pooled: its contribution to
 * the pool), its own overage (pooled: 0, the pool's overage is only on the line), SMS, and the exact shares
 * (6 places) of fee, activation, overage and SMS.
 * One CurrencyBill per currency of the plans involved.
 *
 * Late usage: for each of the 12 previous periods Q with an issued or paid invoice of the tenant, Q's usage
 * charges (overage and SMS, with Q's days and prices) are recomputed from today's usage_daily and what issued or
 * paid invoices already billed of Q (their per-SIM charges for Q) is subtracted. Positive differences become
 * `late_usage` lines ("Late usage for 2026-10: ...", adjustsPeriod = Q's first day), per SIM on a per-SIM
 * allowance, per pool on a pooled one; each SIM's delta becomes a per-SIM charge for Q even when it costs
 * nothing, so the next computation subtracts it. Q is skipped without recomputing when none of its usage
 * changed since the last computation that billed it (late-usage.repository.ts).
 *
 * Pure read: nothing is written. `sql` is the pool's runner, or `txSql(tx)` in the issuing transaction that holds
 * the tenant's billing lock (so late usage and what was billed are read consistently with the new invoice).
 */

export interface ComputeBillOptions {
  /** Add late-usage lines for the previous 12 invoiced periods (default true). */
  lateUsage?: boolean;
}

export async function computeTenantBill(sql: SqlRunner, tenantId: string, period: BillingPeriod, opts: ComputeBillOptions = {}): Promise<TenantBill> {
  const segments = await loadSegments(sql, tenantId, period);

  const late = opts.lateUsage === false ? [] : await loadLatePeriods(sql, tenantId, period);

  const bills = new Map<string, CurrencyBill>();
  const add = (plan: PlanPrices, part: PlanBill) => {
    if (!part.lines.length && !part.simCharges.length) return;
    const bill = bills.get(plan.currency) ?? { currency: plan.currency, lines: [] as BillLine[], simCharges: [] as SimCharge[] };
    bills.set(plan.currency, bill);
    bill.lines.push(...part.lines);
    bill.simCharges.push(...part.simCharges);
  };
  for (const [plan, segs] of await pricedGroups(sql, segments, period)) add(plan, periodBill(plan, period, segs));
  for (const l of late) {
    for (const [plan, segs] of await pricedGroups(sql, l.segments, l.q)) add(plan, lateUsageBill(plan, l.q, segs, l.billed));
  }
  return { tenantId, period, bills: [...bills.values()].sort((a, b) => a.currency.localeCompare(b.currency)) };
}

function segmentsByPlan(segments: readonly SimSegment[]): Map<string, SimSegment[]> {
  const byPlan = new Map<string, SimSegment[]>();
  for (const s of segments) {
    const list = byPlan.get(s.ratePlanId);
    if (list) list.push(s);
    else byPlan.set(s.ratePlanId, [s]);
  }
  return byPlan;
}

/** The period's plans in code order with their prices; an unpriced plan with SIMs to charge refuses the bill. */
async function pricedGroups(sql: SqlRunner, segments: readonly SimSegment[], period: BillingPeriod): Promise<Array<[PlanPrices, SimSegment[]]>> {
  const byPlan = segmentsByPlan(segments);
  if (!byPlan.size) return [];
  const prices = await pricesInEffect(sql, [...byPlan.keys()], period.start);
  const groups: Array<[PlanPrices, SimSegment[]]> = [];
  for (const [ratePlanId, segs] of byPlan) {
    const plan = prices.get(ratePlanId);
    if (!plan) {
      const [named] = await sql.query<{ code: string }>("SELECT code FROM enterprise.rate_plans WHERE id = $1::uuid", [ratePlanId]);
      throw new UnprocessableError(
        `Rate plan ${named?.code ?? ratePlanId} has no price version in effect on ${isoDate(period.start)} but SIMs to bill for ${period.key}: add a version effective on or before that day.`,
        "rate_plan_unpriced",
      );
    }
    groups.push([plan, segs]);
  }
  return groups.sort(([a], [b]) => a.code.localeCompare(b.code) || a.ratePlanId.localeCompare(b.ratePlanId));
}
