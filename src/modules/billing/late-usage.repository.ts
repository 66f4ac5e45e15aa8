import type { SqlRunner } from "../../platform/db/database.js";
import { isoDate, type BillingPeriod } from "./period.js";

/**
 * Late usage's reads: which invoiced periods may have usage that arrived after they were billed, and what issued
 * invoices already billed of a period (their per-SIM charges for it). Values are selected as text, so the pool's
 * runner and `txSql(tx)` give the same strings.
 */

/**
 * The earlier periods whose usage may have grown since it was billed: each of the given range with an issued or
 * paid invoice (kind invoice) of the tenant, unless none of its usage changed since the last computation that
 * billed it. That computation is the period's own invoice (its draft's created_at: drafts are computed in the
 * transaction that creates them) or a later issued invoice created after the period was issued (its computation
 * looked at the period's late usage).
 *
 * "Changed" is read from usage_hourly, not usage_daily: the rollup writes both from the same records in one
 * statement with the same updated_at, and a month is ~720 hourly rows of the tenant against 30,000 daily ones
 * (twelve months of daily rows would cost more than the whole bill). The margin covers a rollup transaction that
 * stamped updated_at with its start time but committed after that computation read usage_daily. Skipping is
 * only a shortcut: a period that is looked at again bills nothing twice (the deltas subtract what was billed).
 */
const LATE_CANDIDATES_SQL = `
WITH inv AS (
  SELECT period_start, created_at, issued_at FROM enterprise.invoices
  WHERE tenant_id = $1::uuid AND kind = 'invoice' AND status IN ('issued', 'paid')
    AND period_start >= $2::date AND period_start < $3::date
),
q AS (
  SELECT period_start, min(issued_at) AS first_issued, min(created_at) AS computed FROM inv GROUP BY period_start
),
checked AS (
  SELECT q.period_start, q.period_start::timestamp AT TIME ZONE 'UTC' AS from_hour,
         greatest(q.computed, (SELECT max(l.created_at) FROM inv l WHERE l.period_start > q.period_start AND l.created_at > q.first_issued)) AS computed
  FROM q
)
SELECT c.period_start::text AS "periodStart"
FROM checked c
WHERE EXISTS (
  SELECT 1 FROM connectivity.usage_hourly u
  WHERE u.tenant_id = $1::uuid AND u.hour >= c.from_hour AND u.hour < c.from_hour + interval '1 month'
    AND u.updated_at > c.computed - $4::interval)
ORDER BY c.period_start`;

/** How long a rollup transaction may take between stamping usage_daily.updated_at and committing. */
export const LATE_USAGE_MARGIN = "1 hour";

/** First days ("YYYY-MM-DD") of the invoiced periods in [from, to) that may have late usage. */
export async function loadLateCandidates(sql: SqlRunner, tenantId: string, from: BillingPeriod, to: BillingPeriod): Promise<string[]> {
  const rows = await sql.query<{ periodStart: string }>(LATE_CANDIDATES_SQL, [tenantId, isoDate(from.start), isoDate(to.start), LATE_USAGE_MARGIN]);
  return rows.map((r) => r.periodStart);
}

/** What issued or paid invoices (kind invoice, before `before`) already billed of one period's usage, per SIM and plan. */
export interface BilledUsage {
  simId: string;
  ratePlanId: string;
  bytes: bigint;
  overageBytes: bigint;
  smsMo: number;
  smsMt: number;
}

const BILLED_SQL = `
SELECT c.sim_id AS "simId", c.rate_plan_id AS "ratePlanId", sum(c.bytes)::text AS bytes, sum(c.overage_bytes)::text AS "overageBytes",
       sum(c.sms_mo)::text AS "smsMo", sum(c.sms_mt)::text AS "smsMt"
FROM enterprise.invoices i
JOIN enterprise.invoice_sim_charges c ON c.invoice_id = i.id AND c.usage_period = $2::date
WHERE i.tenant_id = $1::uuid AND i.kind = 'invoice' AND i.status IN ('issued', 'paid')
  AND i.period_start >= $2::date AND i.period_start < $3::date
GROUP BY c.sim_id, c.rate_plan_id`;

export async function loadBilledUsage(sql: SqlRunner, tenantId: string, usagePeriod: BillingPeriod, before: BillingPeriod): Promise<BilledUsage[]> {
  const rows = await sql.query<{ simId: string; ratePlanId: string; bytes: string; overageBytes: string; smsMo: string; smsMt: string }>(BILLED_SQL, [
    tenantId,
    isoDate(usagePeriod.start),
    isoDate(before.start),
  ]);
  return rows.map((r) => ({ simId: r.simId, ratePlanId: r.ratePlanId, bytes: BigInt(r.bytes), overageBytes: BigInt(r.overageBytes), smsMo: Number(r.smsMo), smsMt: Number(r.smsMt) }));
}
