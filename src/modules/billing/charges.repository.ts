import type { SqlRunner } from "../../platform/db/database.js";
import { popcount, simPlanDays, wholePeriod, type SimHistory } from "./charges-days.js";
import { isoDate, type BillingPeriod } from "./period.js";

/**
 * The billing computation's main read: each SIM's days and usage on each plan in a period, in one or two
 * set-based statements per tenant (the run bills 1,000 tenants of 1,000 SIMs in a minute, so nothing here is per
 * SIM). Values come back as text, so the pool's runner and `txSql(tx)` give the same strings.
 */

/** One SIM's days and usage on one plan within a period (plan segments of a SIM merged per plan). */
export interface SimSegment {
  simId: string;
  iccid: string;
  ratePlanId: string;
  billableDays: number;
  suspendedDays: number;
  /** The SIM's first-ever ready -> active move happened in the period, on a day it was on this plan. */
  activated: boolean;
  /** Up + down, counted only on the segment's billable and suspended days. */
  bytes: bigint;
  smsMo: number;
  smsMt: number;
  /** The SIM was charged (billable or suspended days) on more than one plan in the period: fees prorated on each. */
  planChanged: boolean;
}

/*
 * One row per SIM of the tenant with a plan assignment before the period's end: its history in compact text (the
 * day arithmetic is in charges-days.ts) and its usage over the whole period. The four sources (SIMs, state
 * history, plan assignments, daily usage) are read once each through their tenant-leading index, stacked with
 * UNION ALL and folded by one GROUP BY sim_id: no joins at all. Joins between the per-SIM aggregates were the
 * first version; PostgreSQL cannot estimate how derived sets join (it guessed 1 row for 1,000 SIMs) and on the
 * benchmark's data chose nested loops that re-aggregated the tenant's history once per SIM: 4.9 s a tenant
 * instead of tens of milliseconds. A GROUP BY has no such estimate to get wrong. Usage is summed per SIM in its
 * own branch first, so the final sort groups ~5 rows a SIM rather than 30 (28-31 ms a tenant against 40-44). Each row is one text value, the
 * SIM's fields joined by "|": through Prisma's raw queries (txSql) decoding costs per value, and eleven thousand
 * of them cost more than the statement.
 */
const SIMS_SQL = `
SELECT concat_ws('|', x.sim_id, max(x.iccid), max(x.status), max(x.created_ms), count(*) FILTER (WHERE x.src = 'e'),
                 coalesce(string_agg(x.effect, ',' ORDER BY x.at, x.event_id) FILTER (WHERE x.src = 'e' AND x.at < $4::timestamptz), ''),
                 coalesce(min(x.activated_ms)::text, ''),
                 string_agg(x.plan, ',' ORDER BY x.effective_from) FILTER (WHERE x.src = 'a'),
                 coalesce((sum(x.bytes) FILTER (WHERE x.src = 'u'))::text, ''),
                 coalesce(sum(x.sms_mo) FILTER (WHERE x.src = 'u'), 0), coalesce(sum(x.sms_mt) FILTER (WHERE x.src = 'u'), 0)) AS sim
FROM (
  SELECT 's' AS src, s.id AS sim_id, s.iccid::text AS iccid, s.status::text AS status, (extract(epoch FROM s.created_at) * 1000)::bigint AS created_ms,
         NULL::text AS effect, NULL::timestamptz AS at, NULL::uuid AS event_id, NULL::bigint AS activated_ms,
         NULL::text AS plan, NULL::date AS effective_from, NULL::numeric AS bytes, NULL::bigint AS sms_mo, NULL::bigint AS sms_mt
  FROM connectivity.sims s
  WHERE s.tenant_id = $1::uuid
  UNION ALL
  SELECT 'e', e.sim_id, NULL, NULL, NULL, left(e.billing_effect::text, 1) || (extract(epoch FROM e.at) * 1000)::bigint, e.at, e.id,
         CASE WHEN e.kind = 'state_changed' AND e.from_status = 'ready' AND e.to_status = 'active' THEN (extract(epoch FROM e.at) * 1000)::bigint END,
         NULL, NULL, NULL, NULL, NULL
  FROM connectivity.sim_events e
  WHERE e.tenant_id = $1::uuid AND e.kind IN ('allocated', 'state_changed') AND e.billing_effect IS NOT NULL
  UNION ALL
  SELECT 'a', a.sim_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, a.rate_plan_id::text || ' ' || a.effective_from::text, a.effective_from, NULL, NULL, NULL
  FROM connectivity.sim_rate_plan_assignments a
  WHERE a.tenant_id = $1::uuid AND a.effective_from < $3::date
  UNION ALL
  SELECT 'u', d.sim_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, sum(d.bytes_up + d.bytes_down), sum(d.sms_mo), sum(d.sms_mt)
  FROM connectivity.usage_daily d
  WHERE d.tenant_id = $1::uuid AND d.day >= $2::date AND d.day < $3::date
  GROUP BY d.sim_id
) x
GROUP BY x.sim_id
HAVING count(*) FILTER (WHERE x.src = 's') > 0 AND count(*) FILTER (WHERE x.src = 'a') > 0`;

/** Usage of SIMs charged on only some days of a plan: bit i of the mask = the period's day i counts. */
const PARTIAL_USAGE_SQL = `
SELECT r.sim_id AS "simId", r.rate_plan_id AS "ratePlanId", (sum(d.bytes_up) + sum(d.bytes_down))::text AS bytes,
       sum(d.sms_mo)::int AS "smsMo", sum(d.sms_mt)::int AS "smsMt"
FROM unnest($2::uuid[], $3::uuid[], $4::int[]) AS r(sim_id, rate_plan_id, days)
JOIN connectivity.usage_daily d ON d.tenant_id = $1::uuid AND d.sim_id = r.sim_id AND d.day >= $5::date AND d.day < $6::date
WHERE (r.days >> (d.day - $5::date)) & 1 = 1
GROUP BY r.sim_id, r.rate_plan_id`;

type SimRow = SimHistory & { simId: string; iccid: string; bytes: string | null; smsMo: number; smsMt: number };

/** One row of SIMS_SQL: id|iccid|status|createdMs|events|history|activatedMs|plans|bytes|smsMo|smsMt. */
function simRow(line: string): SimRow {
  const f = line.split("|");
  return {
    simId: f[0]!,
    iccid: f[1]!,
    status: f[2]!,
    createdMs: Number(f[3]),
    events: Number(f[4]),
    history: f[5] || null,
    activatedMs: f[6] ? Number(f[6]) : null,
    plans: f[7] || null,
    bytes: f[8] || null,
    smsMo: Number(f[9]),
    smsMt: Number(f[10]),
  };
}

/** Every SIM of the tenant with a billable or suspended day on a plan in the period, one segment per plan. */
export async function loadSegments(sql: SqlRunner, tenantId: string, period: BillingPeriod): Promise<SimSegment[]> {
  const rows = (await sql.query<{ sim: string }>(SIMS_SQL, [tenantId, isoDate(period.start), isoDate(period.end), period.end.toISOString()])).map((r) => simRow(r.sim));
  const whole = wholePeriod(period);
  const segments: SimSegment[] = [];
  const partial: Array<{ segment: SimSegment; days: number }> = [];
  for (const r of rows) {
    const plans = simPlanDays(r, period);
    for (let i = 0; i < plans.length; i++) {
      const d = plans[i]!;
      const segment: SimSegment = {
        simId: r.simId,
        iccid: r.iccid,
        ratePlanId: d.ratePlanId,
        billableDays: popcount(d.billable),
        suspendedDays: popcount(d.suspended),
        activated: d.activated,
        bytes: 0n,
        smsMo: 0,
        smsMt: 0,
        // Charged on two plans in the period: both prorated.
        planChanged: plans.length > 1,
      };
      if (d.charged === whole) {
        segment.bytes = BigInt(r.bytes ?? 0);
        segment.smsMo = r.smsMo;
        segment.smsMt = r.smsMt;
      } else if (r.bytes !== null) {
        partial.push({ segment, days: d.charged });
      }
      segments.push(segment);
    }
  }
  if (partial.length) {
    const used = await sql.query<{ simId: string; ratePlanId: string; bytes: string; smsMo: number; smsMt: number }>(PARTIAL_USAGE_SQL, [
      tenantId,
      partial.map((p) => p.segment.simId),
      partial.map((p) => p.segment.ratePlanId),
      partial.map((p) => p.days),
      isoDate(period.start),
      isoDate(period.end),
    ]);
    const byKey = new Map(partial.map((p) => [`${p.segment.simId}/${p.segment.ratePlanId}`, p.segment]));
    for (const u of used) {
      const segment = byKey.get(`${u.simId}/${u.ratePlanId}`)!;
      segment.bytes = BigInt(u.bytes);
      segment.smsMo = u.smsMo;
      segment.smsMt = u.smsMt;
    }
  }
  // Sorted here: in SQL an ORDER BY iccid tempts the planner into walking the global ICCID index.
  return segments.sort((a, b) => (a.iccid < b.iccid ? -1 : a.iccid > b.iccid ? 1 : a.ratePlanId < b.ratePlanId ? -1 : a.ratePlanId > b.ratePlanId ? 1 : 0));
}
