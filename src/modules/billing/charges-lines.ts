import type { BillLine, LineKind, SimCharge } from "./bill.types.js";
import type { PlanPrices } from "../rate-plans/plan-prices.js";
import type { SimSegment } from "./charges.repository.js";
import { Money, toMinor } from "./money.js";
import { isoDate, type BillingPeriod } from "./period.js";

/**
 * Pure arithmetic of the billing computation: one plan's segments (SIM days and usage) and prices (the version in
 * effect on the period's first day) in, its invoice lines and per-SIM charges out. No I/O; the rules themselves
 * are listed in charges.ts, late usage's arithmetic is in late-usage.ts.
 */

export interface PlanBill {
  lines: BillLine[];
  simCharges: SimCharge[];
}

const BYTES_PER_MB = new Money(1_000_000);
const QUANTITY_PLACES = 6;

const round6 = (d: Money) => d.toDecimalPlaces(QUANTITY_PLACES, Money.ROUND_HALF_UP);
export const mb = (bytes: bigint) => new Money(bytes.toString()).div(BYTES_PER_MB);
export const max0 = (n: bigint) => (n > 0n ? n : 0n);

/*
 * Per-SIM shares are counted in millionths (bigint): prices have at most 6 places (NUMERIC(18,6)), so a thousand
 * SIMs' shares cost integer operations, not a thousand decimal.js objects. Half-up rounding to 6 places is the
 * same as round6 on the exact decimal.
 */
const MILLION = 1_000_000n;

/** 2.5 -> 2500000n (a NUMERIC(18,6) price, never negative). */
function micros(price: Money): bigint {
  const [int = "0", frac = ""] = price.toFixed(6).split(".");
  return BigInt(int) * MILLION + BigInt(frac.padEnd(6, "0").slice(0, 6));
}

/** a / b rounded half-up, for a >= 0 and b > 0. */
const divHalfUp = (a: bigint, b: bigint) => (2n * a + b) / (2n * b);

/** 2500000n -> "2.5", 5000000n -> "5", 0n -> "0": the exact decimal without trailing zeros. */
export function microsText(n: bigint): string {
  const frac = (n % MILLION).toString().padStart(6, "0").replace(/0+$/, "");
  return frac ? `${n / MILLION}.${frac}` : `${n / MILLION}`;
}

/** A price version in millionths, and the shares computed from it. */
export function microPrices(v: PlanPrices, periodDays: number) {
  const p = {
    monthly: micros(v.monthlyFee),
    suspended: micros(v.suspendedFee),
    activation: micros(v.activationFee),
    overage: micros(v.overagePerMb),
    smsMo: micros(v.smsMoPrice),
    smsMt: micros(v.smsMtPrice),
  };
  /** fee x days / periodDays, rounded to 6 places. */
  const share = (fee: bigint, days: number) => divHalfUp(fee * BigInt(days), BigInt(periodDays));
  /** An overage of `bytes` at the per-MB price, rounded to 6 places. */
  const overage = (bytes: bigint) => (bytes === 0n ? 0n : divHalfUp(bytes * p.overage, MILLION));
  const sms = (mo: number, mt: number) => BigInt(mo) * p.smsMo + BigInt(mt) * p.smsMt;
  return { ...p, share, overage, sms };
}

/** 1234567.5 -> "1,234,567.5" (descriptions only). */
function grouped(d: Money): string {
  const [int = "0", frac] = d.toFixed().split(".");
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac ? `.${frac}` : "");
}

export const label = (plan: PlanPrices) => `${plan.code} (${plan.name})`;
const plural = (n: number, one: string) => `${grouped(new Money(n))} ${one}${n === 1 ? "" : "s"}`;

export function allowanceNote(plan: PlanPrices, pooledSims: number): string {
  const included = `${grouped(mb(plan.includedBytes))} MB`;
  return plan.dataAllowance === "pooled" ? `pooled: ${plural(pooledSims, "SIM")} × ${included}` : `${included} per SIM`;
}

/** A line, or null when its quantity or price is zero (nothing to show). Net is rounded here, once. */
export function line(plan: PlanPrices, kind: LineKind, description: string, quantity: Money, unit: string, price: Money, adjustsPeriod: string | null = null): BillLine | null {
  const qty = round6(quantity);
  if (qty.isZero() || price.isZero()) return null;
  return {
    kind,
    description: description.length > 300 ? `${description.slice(0, 299)}…` : description,
    ratePlanId: plan.ratePlanId,
    ratePlanVersion: plan.version,
    quantity: qty.toFixed(),
    unit,
    unitPrice: price.toFixed(),
    netMinor: toMinor(qty.mul(price), plan.currency),
    adjustsPeriod,
  };
}

export const present = (lines: Array<BillLine | null>): BillLine[] => lines.filter((l): l is BillLine => l !== null);

/** Fees by days (prorated plan, or a SIM that changed plan during the period) or a whole month for any day. */
const proratedFor = (plan: PlanPrices, s: SimSegment) => plan.prorate || s.planChanged;

/** One plan's lines and per-SIM charges for its own period. */
export function periodBill(plan: PlanPrices, period: BillingPeriod, segments: readonly SimSegment[]): PlanBill {
  const v = plan;
  const m = microPrices(v, period.days);
  const pooled = v.dataAllowance === "pooled";

  let feeWhole = 0;
  let feeDays = 0;
  let anyFeeByDays = false;
  let suspendedWhole = 0;
  let suspendedDays = 0;
  let anySuspendedByDays = false;
  let activated = 0;
  let billable = 0;
  let bytes = 0n;
  let perSimOverage = 0n;
  let smsMo = 0;
  let smsMt = 0;
  const usagePeriod = isoDate(period.start);
  const activationText = microsText(m.activation);
  // A thousand SIMs share a handful of (days, proration) cases: their fee texts are computed once each.
  const feeTexts = new Map<number, string>();
  /** A SIM's monthly and suspended fee shares (6 places) as text. */
  const feeText = (byDays: boolean, billableDays: number, suspendedDays: number): string => {
    const key = (byDays ? 4096 : 0) + billableDays * 64 + suspendedDays;
    let text = feeTexts.get(key);
    if (text === undefined) {
      let fee = 0n;
      if (billableDays > 0) fee += byDays ? m.share(m.monthly, billableDays) : m.monthly;
      // A whole month's fee covers the month: a SIM that was also active does not pay the suspended fee on top.
      if (suspendedDays > 0) fee += byDays ? m.share(m.suspended, suspendedDays) : billableDays === 0 ? m.suspended : 0n;
      feeTexts.set(key, (text = microsText(fee)));
    }
    return text;
  };
  const simCharges: SimCharge[] = [];
  for (const s of segments) {
    const byDays = proratedFor(plan, s);
    if (s.billableDays > 0) {
      billable++;
      if (!byDays) feeWhole++;
      else {
        feeDays += s.billableDays;
        anyFeeByDays = true;
      }
    }
    if (s.suspendedDays > 0) {
      if (byDays) {
        suspendedDays += s.suspendedDays;
        anySuspendedByDays = true;
      } else if (s.billableDays === 0) suspendedWhole++;
    }
    if (s.activated) activated++;
    const overage = pooled ? 0n : max0(s.bytes - v.includedBytes);
    bytes += s.bytes;
    perSimOverage += overage;
    smsMo += s.smsMo;
    smsMt += s.smsMt;
    simCharges.push({
      simId: s.simId,
      iccid: s.iccid,
      ratePlanId: plan.ratePlanId,
      usagePeriod,
      billableDays: s.billableDays,
      suspendedDays: s.suspendedDays,
      activated: s.activated,
      bytes: s.bytes,
      // Pooled: what the SIM adds to the pool (it does when it pays a monthly fee).
      includedBytes: pooled && s.billableDays === 0 ? 0n : v.includedBytes,
      overageBytes: overage,
      smsMo: s.smsMo,
      smsMt: s.smsMt,
      feeAmount: feeText(byDays, s.billableDays, s.suspendedDays),
      activationAmount: s.activated ? activationText : "0",
      overageAmount: overage === 0n ? "0" : microsText(m.overage(overage)),
      smsAmount: s.smsMo === 0 && s.smsMt === 0 ? "0" : microsText(m.sms(s.smsMo, s.smsMt)),
    });
  }
  const overageBytes = pooled ? max0(bytes - v.includedBytes * BigInt(billable)) : perSimOverage;

  const days = new Money(period.days);
  const fee = `Monthly fee – ${label(plan)}`;
  const byDaysWhy = v.prorate ? "" : " (plan changed during the period)";
  const suspended = `Suspended fee – ${label(plan)}`;
  const lines = present([
    line(plan, "monthly_fee", anyFeeByDays ? `${fee}, full month` : fee, new Money(feeWhole), "SIM-month", v.monthlyFee),
    line(plan, "monthly_fee", `${fee}, prorated by active days${byDaysWhy}`, new Money(feeDays).div(days), "SIM-month", v.monthlyFee),
    line(plan, "suspended_fee", anySuspendedByDays ? `${suspended}, full month` : suspended, new Money(suspendedWhole), "SIM-month", v.suspendedFee),
    line(plan, "suspended_fee", `${suspended}, prorated by suspended days${byDaysWhy}`, new Money(suspendedDays).div(days), "SIM-month", v.suspendedFee),
    line(plan, "activation_fee", `Activation fee – ${label(plan)}`, new Money(activated), "SIM", v.activationFee),
    line(plan, "data_overage", `Data beyond the allowance – ${label(plan)}, ${allowanceNote(plan, billable)}`, mb(overageBytes), "MB", v.overagePerMb),
    line(plan, "sms_mo", `SMS from devices (MO) – ${label(plan)}`, new Money(smsMo), "SMS", v.smsMoPrice),
    line(plan, "sms_mt", `SMS to devices (MT) – ${label(plan)}`, new Money(smsMt), "SMS", v.smsMtPrice),
  ]);
  return { lines, simCharges };
}
