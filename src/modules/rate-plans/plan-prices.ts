import type { RatePlanVersion } from "../../generated/prisma/client.js";
import type { SqlRunner } from "../../platform/db/database.js";
import { decimal, formatPrice, type Money } from "../billing/money.js";
import { isoDate } from "../billing/period.js";
import { bigintOut } from "../sims/sims.view.js";
import type { RatePlanVersionView } from "./rate-plans.schemas.js";

/** A plan's price list in effect on a day, with the plan's handle and currency (for invoice lines). */
export interface PlanPrices {
  ratePlanId: string;
  code: string;
  name: string;
  currency: string;
  version: number;
  /** "YYYY-MM-DD", the first day of a month. */
  effectiveFrom: string;
  monthlyFee: Money;
  suspendedFee: Money;
  prorate: boolean;
  includedBytes: bigint;
  dataAllowance: "per_sim" | "pooled";
  overagePerMb: Money;
  smsMoPrice: Money;
  smsMtPrice: Money;
  activationFee: Money;
}

interface PriceRow {
  rate_plan_id: string;
  code: string;
  name: string;
  currency: string;
  version: string;
  effective_from: string;
  monthly_fee: string;
  suspended_fee: string;
  prorate: string;
  included_bytes: string;
  data_allowance: string;
  overage_per_mb: string;
  sms_mo_price: string;
  sms_mt_price: string;
  activation_fee: string;
}

/**
 * The version of each plan in effect on `day` (the latest one starting on or before it): a billing period asks
 * for its first day. Plans without a version in effect that day are absent from the map.
 * Works on the pool (`db.sql`) and inside a Prisma transaction (`txSql(tx)`): every column is read as text.
 */
export async function pricesInEffect(sql: SqlRunner, ratePlanIds: readonly string[], day: Date | string): Promise<Map<string, PlanPrices>> {
  const prices = new Map<string, PlanPrices>();
  if (ratePlanIds.length === 0) return prices;
  const rows = await sql.query<PriceRow>(
    `SELECT DISTINCT ON (v.rate_plan_id)
       v.rate_plan_id::text AS rate_plan_id, p.code, p.name, p.currency::text AS currency, v.version::text AS version,
       to_char(v.effective_from, 'YYYY-MM-DD') AS effective_from, v.monthly_fee::text AS monthly_fee,
       v.suspended_fee::text AS suspended_fee, v.prorate::text AS prorate, v.included_bytes::text AS included_bytes,
       v.data_allowance::text AS data_allowance, v.overage_per_mb::text AS overage_per_mb, v.sms_mo_price::text AS sms_mo_price,
       v.sms_mt_price::text AS sms_mt_price, v.activation_fee::text AS activation_fee
     FROM enterprise.rate_plan_versions v JOIN enterprise.rate_plans p ON p.id = v.rate_plan_id
     WHERE v.rate_plan_id = ANY($1::uuid[]) AND v.effective_from <= $2::date
     ORDER BY v.rate_plan_id, v.effective_from DESC`,
    [[...new Set(ratePlanIds)], typeof day === "string" ? day : isoDate(day)],
  );
  for (const r of rows) {
    prices.set(r.rate_plan_id, {
      ratePlanId: r.rate_plan_id,
      code: r.code,
      name: r.name,
      currency: r.currency,
      version: Number(r.version),
      effectiveFrom: r.effective_from,
      monthlyFee: decimal(r.monthly_fee),
      suspendedFee: decimal(r.suspended_fee),
      prorate: r.prorate === "true",
      includedBytes: BigInt(r.included_bytes),
      dataAllowance: r.data_allowance === "pooled" ? "pooled" : "per_sim",
      overagePerMb: decimal(r.overage_per_mb),
      smsMoPrice: decimal(r.sms_mo_price),
      smsMtPrice: decimal(r.sms_mt_price),
      activationFee: decimal(r.activation_fee),
    });
  }
  return prices;
}

/** Today's date in UTC, "YYYY-MM-DD". */
export const todayUtc = (now: Date = new Date()): string => isoDate(now);

/** The first day of the month containing `now` (UTC), "YYYY-MM-01". */
export const monthStartUtc = (now: Date = new Date()): string => `${isoDate(now).slice(0, 7)}-01`;

/** The first day of the month after the one containing `now` (UTC). */
export function nextMonthStartUtc(now: Date = new Date()): string {
  return isoDate(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)));
}

/**
 * One plan's versions as the API shows them: `effectiveUntil` is the start of the version that follows it in time.
 * `versions` in any order; the answer is ordered by effectiveFrom, latest first.
 */
export function toVersionViews(versions: readonly RatePlanVersion[]): RatePlanVersionView[] {
  const byStart = [...versions].sort((a, b) => b.effectiveFrom.getTime() - a.effectiveFrom.getTime());
  return byStart.map((v, i) => toVersionView(v, byStart[i - 1]?.effectiveFrom ?? null));
}

export function toVersionView(v: RatePlanVersion, until: Date | null): RatePlanVersionView {
  return {
    version: v.version,
    effectiveFrom: isoDate(v.effectiveFrom),
    effectiveUntil: until ? isoDate(until) : null,
    monthlyFee: formatPrice(v.monthlyFee),
    suspendedFee: formatPrice(v.suspendedFee),
    prorate: v.prorate,
    includedBytes: bigintOut(v.includedBytes)!,
    dataAllowance: v.dataAllowance,
    overagePerMb: formatPrice(v.overagePerMb),
    smsMoPrice: formatPrice(v.smsMoPrice),
    smsMtPrice: formatPrice(v.smsMtPrice),
    activationFee: formatPrice(v.activationFee),
    createdAt: v.createdAt.toISOString(),
  };
}

/** The version in effect on `today` ("YYYY-MM-DD") and those that start later (soonest first). */
export function splitVersions(versions: readonly RatePlanVersion[], today: string): { prices: RatePlanVersionView | null; scheduledPrices: RatePlanVersionView[] } {
  const views = toVersionViews(versions);
  return {
    prices: views.find((v) => v.effectiveFrom <= today) ?? null,
    scheduledPrices: views.filter((v) => v.effectiveFrom > today).reverse(),
  };
}
