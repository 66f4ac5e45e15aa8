import type { BillingPeriod } from "./period.js";

/**
 * A SIM's days in a period, from its history: which days it was billable or suspended on which plan. Days are
 * bits of a 31-bit mask (bit 0 = the period's first UTC day; a month has at most 31), so unions, differences and
 * counts are integer operations.
 *
 * - A status span [from, to) between two state events touches the days from `from`'s date to the date of its last
 *   instant (a span ending at midnight does not touch that day); a zero-length span touches nothing.
 * - Billable day: active at some moment of it. Suspended day: suspended at some moment and never active.
 * - A SIM with no state event at all has had its current status since it was created.
 * - The plan of a day is the assignment with the greatest effective day on or before it; none: no plan.
 */

const DAY_MS = 86_400_000;
/** Bits 0..n-1 set (n <= 31). */
const below = (n: number) => (n <= 0 ? 0 : n >= 31 ? 0x7fffffff : (1 << n) - 1);
/** Bits lo..hi-1 set. */
const bits = (lo: number, hi: number) => below(hi) & ~below(lo);

export function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m; m &= m - 1) n++;
  return n;
}

/** What the statement reads per SIM (see charges.repository.ts). */
export interface SimHistory {
  /** The current status and creation time, for a SIM without state events. */
  status: string;
  createdMs: number;
  /** How many state events (allocated / state_changed with a billing effect) the SIM has at all. */
  events: number;
  /** Its events before the period's end in order, "b1725148800000,r1731...": effect initial (t, b, r, n) + epoch ms. */
  history: string | null;
  /** Its first-ever ready -> active move, epoch ms. */
  activatedMs: number | null;
  /** Its plan assignments effective before the period's end in order: "<plan id> <YYYY-MM-DD>,...". */
  plans: string | null;
}

export interface PlanDays {
  ratePlanId: string;
  billable: number;
  suspended: number;
  /** billable | suspended: the days its usage counts. */
  charged: number;
  activated: boolean;
}

/** The days of the period in a mask: the value of `charged` for a SIM charged on a plan every day. */
export const wholePeriod = (period: BillingPeriod) => below(period.days);

/** The day masks a status span [from, to) touches within the period, added to `acc` (no closures: a hot path). */
function touch(acc: { billable: number; reduced: number }, effect: string, from: number, to: number, start: number, end: number): void {
  const lo = from > start ? from : start;
  const hi = to < end ? to : end;
  if (hi <= lo || (effect !== "b" && effect !== "r")) return;
  const mask = bits(Math.floor((lo - start) / DAY_MS), Math.ceil((hi - start) / DAY_MS));
  if (effect === "b") acc.billable |= mask;
  else acc.reduced |= mask;
}

/** Per plan the SIM was charged on in the period (billable or suspended days), its days. */
export function simPlanDays(sim: SimHistory, period: BillingPeriod): PlanDays[] {
  const start = period.start.getTime();
  const end = period.end.getTime();
  const acc = { billable: 0, reduced: 0 };
  if (sim.events === 0) {
    touch(acc, sim.status === "active" ? "b" : sim.status === "suspended" ? "r" : "n", sim.createdMs, end, start, end);
  } else if (sim.history) {
    const events = sim.history.split(",");
    for (let i = 0; i < events.length; i++) {
      const next = events[i + 1];
      touch(acc, events[i]![0]!, Number(events[i]!.slice(1)), next === undefined ? end : Number(next.slice(1)), start, end);
    }
  }
  const billable = acc.billable;
  const suspended = acc.reduced & ~billable;
  if (!(billable | suspended) || !sim.plans) return [];

  const activatedDay = sim.activatedMs !== null && sim.activatedMs >= start && sim.activatedMs < end ? Math.floor((sim.activatedMs - start) / DAY_MS) : -1;
  const assignments = sim.plans.split(",");
  const days: PlanDays[] = [];
  for (let i = 0; i < assignments.length; i++) {
    const space = assignments[i]!.indexOf(" ");
    const from = Date.parse(`${assignments[i]!.slice(space + 1)}T00:00:00Z`);
    const next = assignments[i + 1];
    const to = next === undefined ? end : Date.parse(`${next.slice(next.indexOf(" ") + 1)}T00:00:00Z`);
    const lo = from > start ? from : start;
    const hi = to < end ? to : end;
    if (hi <= lo) continue;
    const mask = bits((lo - start) / DAY_MS, (hi - start) / DAY_MS);
    const charged = (billable | suspended) & mask;
    if (!charged) continue;
    const ratePlanId = assignments[i]!.slice(0, space);
    // Back on a plan it left earlier in the period: one entry for both stretches.
    const seen = days.find((d) => d.ratePlanId === ratePlanId);
    const entry = seen ?? { ratePlanId, billable: 0, suspended: 0, charged: 0, activated: false };
    entry.billable |= billable & mask;
    entry.suspended |= suspended & mask;
    entry.charged |= charged;
    entry.activated ||= activatedDay >= 0 && ((billable & mask) >> activatedDay) & 1 ? true : false;
    if (!seen) days.push(entry);
  }
  return days;
}
