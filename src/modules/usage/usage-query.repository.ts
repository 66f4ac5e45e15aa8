import type { SqlRunner } from "../../platform/db/database.js";
import type { Granularity, GroupBy } from "./usage-query.schemas.js";

/**
 * The usage API's SQL: plain statements on the shared pool (`Database.sql`), one per call.
 *
 * Sources (chosen by the service):
 * - `hourly`: connectivity.usage_hourly (tenant, UTC hour, network): the fleet's totals, no SIMs.
 * - `daily`:  connectivity.usage_daily (tenant, SIM, UTC day): per SIM, whole days.
 * - `raw`:    connectivity.usage_records (partitioned by month on started_at; index (tenant_id, sim_id,
 *             started_at)): per SIM per hour. A record counts in the hour (day, month) it started in, as the
 *             rollups count it.
 *
 * Buckets are computed on UTC wall-clock `timestamp`s (`x AT TIME ZONE 'UTC'`, `date_trunc`, `generate_series`
 * over `timestamp`), never on `timestamptz` arithmetic, which would follow the session's time zone (a month
 * added in Europe/Berlin across a DST change is 743 hours). Every counter leaves as text: sums of bigint are
 * numeric and can exceed 2^53, and the pg driver and PGlite would each map them differently.
 */

export type Source = "hourly" | "daily" | "raw";

/** SIM conditions; each narrows the SIMs counted (usage of the tenant's SIMs only, as they are now). */
export interface SimFilter {
  /** One SIM, by id (GET /v1/sims/{iccid}/usage). */
  simId?: string;
  iccid?: string;
  label?: string;
  ratePlanId?: string;
}

export interface Plan {
  tenantId: string;
  source: Source;
  granularity: Granularity;
  groupBy: GroupBy;
  filter: SimFilter;
}

/** [from, to), both on the granularity's UTC boundaries. */
export interface Window {
  from: Date;
  to: Date;
}

export interface CounterRow {
  bytes_up: string;
  bytes_down: string;
  sms_mo: string;
  sms_mt: string;
  records: string;
}

/**
 * A group's key as the SQL computes it: a SIM's id, a label, a rate plan id, an MCC-MNC; '' is "none"
 * (no label, no rate plan, unknown network). Labels and plan ids are never empty, so '' sorts first and
 * cannot collide with a real key.
 */
export interface SeriesRow extends CounterRow {
  key: string;
  start: Date;
}

export interface SimGroupRow {
  key: string;
  iccid: string;
  custom_name: string | null;
}

// ---------------------------------------------------------------------------------------------------------
// UTC bucket arithmetic (Date in, Date out), shared by the service (ranges) and the CSV pager (windows).

export function floorTo(d: Date, g: Granularity): Date {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (g === "month") return new Date(Date.UTC(y, m, 1));
  if (g === "day") return new Date(Date.UTC(y, m, d.getUTCDate()));
  return new Date(Date.UTC(y, m, d.getUTCDate(), d.getUTCHours()));
}

export function ceilTo(d: Date, g: Granularity): Date {
  const f = floorTo(d, g);
  return f.getTime() === d.getTime() ? f : addBuckets(f, g, 1);
}

/** `d` (on a boundary) plus n buckets. */
export function addBuckets(d: Date, g: Granularity, n: number): Date {
  if (g === "month") return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
  return new Date(d.getTime() + n * (g === "day" ? 86_400_000 : 3_600_000));
}

/** Buckets in [from, to), both on boundaries. */
export function countBuckets(from: Date, to: Date, g: Granularity): number {
  if (g === "month") return (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth();
  return Math.round((to.getTime() - from.getTime()) / (g === "day" ? 86_400_000 : 3_600_000));
}

// ---------------------------------------------------------------------------------------------------------

/** Positional parameters, each with its cast (pg infers nothing useful from `$n` alone inside expressions). */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

/** UTC wall clock, no zone: what a `timestamp` parameter must be given (a trailing Z would be ignored anyway). */
const wallClock = (d: Date) => d.toISOString().replace("T", " ").replace("Z", "");
const dayOf = (d: Date) => d.toISOString().slice(0, 10);

const SUMS = `coalesce(sum(bytes_up), 0)::text AS bytes_up, coalesce(sum(bytes_down), 0)::text AS bytes_down,
  coalesce(sum(sms_mo), 0)::text AS sms_mo, coalesce(sum(sms_mt), 0)::text AS sms_mt, coalesce(sum(records), 0)::text AS records`;

/** Only constant SQL text is interpolated below: units come from this map, values always go through Params. */
const UNIT: Record<Granularity, string> = { hour: "hour", day: "day", month: "month" };

interface BaseOptions {
  /** Only these groups (internal keys). */
  keys?: string[];
  /** Extra conditions on `u` (e.g. the lateral `u.sim_id = s.id`). */
  where?: string[];
  /** Leave the SIM filter to the caller (it applies it to its own `s`). */
  skipSimFilter?: boolean;
}

/**
 * The usage rows of one window, each with its group key and UTC bucket (a `timestamp`), un-aggregated.
 * Used as a subquery in FROM, which PostgreSQL pulls up: conditions on `key` reach the scan.
 */
function baseRows(plan: Plan, w: Window, p: Params, opts: BaseOptions = {}): string {
  const t = p.add(plan.tenantId, "uuid");
  const unit = UNIT[plan.granularity];
  const where = [`u.tenant_id = ${t}`];
  let from: string;
  let bucket: string;
  let records = "u.records";
  if (plan.source === "hourly") {
    from = "connectivity.usage_hourly u";
    where.push(`u.hour >= ${p.add(w.from.toISOString(), "timestamptz")}`, `u.hour < ${p.add(w.to.toISOString(), "timestamptz")}`);
    bucket = `date_trunc('${unit}', u.hour AT TIME ZONE 'UTC')`;
  } else if (plan.source === "daily") {
    from = "connectivity.usage_daily u";
    where.push(`u.day >= ${p.add(dayOf(w.from), "date")}`, `u.day < ${p.add(dayOf(w.to), "date")}`);
    bucket = `date_trunc('${unit}', u.day::timestamp)`;
  } else {
    from = "connectivity.usage_records u";
    where.push(`u.started_at >= ${p.add(w.from.toISOString(), "timestamptz")}`, `u.started_at < ${p.add(w.to.toISOString(), "timestamptz")}`);
    bucket = `date_trunc('${unit}', u.started_at AT TIME ZONE 'UTC')`;
    records = "1";
  }

  // The SIM's current attributes: labels and rate plan need the sims row itself.
  const joined = plan.groupBy === "label" || plan.groupBy === "ratePlan";
  const joins = joined ? ["JOIN connectivity.sims s ON s.id = u.sim_id AND s.tenant_id = u.tenant_id"] : [];
  let key: string;
  switch (plan.groupBy) {
    case "none":
      key = "''";
      break;
    case "network":
      key = "u.network::text";
      break;
    case "sim":
      // Grouped as a uuid (cheaper than text over millions of rows); callers see it as text.
      key = "u.sim_id";
      break;
    case "label":
      // A SIM counts in each of its labels; one without labels once, in the '' group.
      joins.push("LEFT JOIN LATERAL unnest(s.labels) AS l(label) ON true");
      key = "coalesce(l.label::text, '')";
      break;
    case "ratePlan":
      key = "coalesce(s.rate_plan_id::text, '')";
      break;
  }

  const f = plan.filter;
  if (f.simId) where.push(`u.sim_id = ${p.add(f.simId, "uuid")}`);
  const simConds = opts.skipSimFilter ? [] : simConditions(f, p);
  if (simConds.length) {
    if (joined) where.push(...simConds);
    else where.push(`u.sim_id IN (SELECT s.id FROM connectivity.sims s WHERE s.tenant_id = ${t} AND ${simConds.join(" AND ")})`);
  }
  if (opts.keys) {
    // Keep the indexable column bare where there is one.
    if (plan.groupBy === "sim") where.push(`u.sim_id = ANY(${p.add(opts.keys, "uuid[]")})`);
    else if (plan.groupBy === "network") where.push(`u.network = ANY(${p.add(opts.keys, "text[]")})`);
    else if (plan.groupBy !== "none") where.push(`${key} = ANY(${p.add(opts.keys, "text[]")})`);
  }
  where.push(...(opts.where ?? []));
  return `SELECT ${key} AS key, ${bucket} AS bucket, u.bytes_up, u.bytes_down, u.sms_mo, u.sms_mt, ${records} AS records
    FROM ${from} ${joins.join(" ")} WHERE ${where.join(" AND ")}`;
}

/** The filter's conditions on a sims row aliased `s`. */
function simConditions(f: SimFilter, p: Params): string[] {
  const conds: string[] = [];
  if (f.iccid) conds.push(`s.iccid = ${p.add(f.iccid, "text")}`);
  if (f.label) conds.push(`s.labels @> ARRAY[${p.add(f.label, "varchar")}]`);
  if (f.ratePlanId) conds.push(`s.rate_plan_id = ${p.add(f.ratePlanId, "uuid")}`);
  return conds;
}

export function createUsageQueryRepository(sql: SqlRunner) {
  return {
    /**
     * Per group per bucket in the window. `zeroFill`: every bucket of every key in `keys` (generate_series),
     * zeros where there was no usage, as a chart needs; else only the (bucket, group) pairs with usage.
     * `order`: by key then bucket (a group's series together) or by bucket then key (time first).
     */
    async series(plan: Plan, w: Window, opts: { keys?: string[]; zeroFill: boolean; order: "key" | "bucket" }): Promise<SeriesRow[]> {
      const p = new Params();
      const keys = plan.groupBy === "none" ? undefined : opts.keys;
      const base = baseRows(plan, w, p, keys ? { keys } : {});
      const agg = `a AS (SELECT key, bucket, ${SUMS} FROM (${base}) r GROUP BY key, bucket)`;
      if (!opts.zeroFill) {
        const order = opts.order === "key" ? "key, bucket" : "bucket, key";
        return sql.query<SeriesRow>(`WITH ${agg} SELECT key::text AS key, bucket AT TIME ZONE 'UTC' AS start, bytes_up, bytes_down, sms_mo, sms_mt, records FROM a ORDER BY ${order}`, p.values);
      }
      const keyList = p.add(plan.groupBy === "none" ? [""] : (opts.keys ?? []), "text[]");
      const buckets = `generate_series(${p.add(wallClock(w.from), "timestamp")}, ${p.add(wallClock(w.to), "timestamp")} - interval '1 microsecond', interval '1 ${UNIT[plan.granularity]}')`;
      const order = opts.order === "key" ? "k.key, b.bucket" : "b.bucket, k.key";
      return sql.query<SeriesRow>(
        `WITH ${agg}
         SELECT k.key, b.bucket AT TIME ZONE 'UTC' AS start,
           coalesce(a.bytes_up, '0') AS bytes_up, coalesce(a.bytes_down, '0') AS bytes_down, coalesce(a.sms_mo, '0') AS sms_mo,
           coalesce(a.sms_mt, '0') AS sms_mt, coalesce(a.records, '0') AS records
         FROM unnest(${keyList}) AS k(key) CROSS JOIN ${buckets} AS b(bucket)
         LEFT JOIN a ON a.key::text = k.key AND a.bucket = b.bucket
         ORDER BY ${order}`,
        p.values,
      );
    },

    /** The selection's totals over the window (no grouping). */
    async totals(plan: Plan, w: Window): Promise<CounterRow> {
      const p = new Params();
      const base = baseRows({ ...plan, groupBy: "none" }, w, p);
      const [row] = await sql.query<CounterRow>(`SELECT ${SUMS} FROM (${base}) r`, p.values);
      return row!;
    },

    /**
     * The keys of the groups with usage in the window: by key after `after` (keyset pages), or the `limit` with
     * the most bytes (ties by key). Keys only: ranking 100,000 SIMs over a month aggregates two sums per row, not five, and
     * the page's totals come from its series. Not for SIM pages by ICCID: see simGroups.
     */
    async groupKeys(plan: Plan, w: Window, opts: { order: "key" | "bytes"; after?: string; limit: number }): Promise<string[]> {
      const p = new Params();
      const base = baseRows(plan, w, p);
      const after = opts.after !== undefined ? `WHERE key::text > ${p.add(opts.after, "text")}` : "";
      // Two sums, not sum(bytes_up + bytes_down): a row's counts may each be near 2^63 (the feed accepts them),
      // and their bigint sum would overflow where the numeric sums cannot.
      const order = opts.order === "key" ? "key" : "sum(bytes_up) + sum(bytes_down) DESC, key";
      const rows = await sql.query<{ key: string }>(`SELECT key::text AS key FROM (${base}) r ${after} GROUP BY r.key ORDER BY ${order} LIMIT ${p.add(opts.limit, "int")}`, p.values);
      return rows.map((r) => r.key);
    },

    /**
     * A page of groups with their zero-filled series in ONE pass over the window: the per-(group, bucket) sums
     * are computed once (materialized: groups x buckets rows, small for labels, plans and networks), the page's
     * groups are picked from them (by key after `after`, or the `limit` with the most bytes, ties by key) and
     * only those are returned, in page order. For SIMs (100,000 groups) see groupKeys and simGroups.
     */
    async groupSeries(plan: Plan, w: Window, opts: { order: "key" | "bytes"; after?: string; limit: number }): Promise<SeriesRow[]> {
      const p = new Params();
      const base = baseRows(plan, w, p);
      const after = opts.after !== undefined ? `WHERE key::text > ${p.add(opts.after, "text")}` : "";
      const order = opts.order === "key" ? "key" : "sum(bu) + sum(bd) DESC, key";
      const buckets = `generate_series(${p.add(wallClock(w.from), "timestamp")}, ${p.add(wallClock(w.to), "timestamp")} - interval '1 microsecond', interval '1 ${UNIT[plan.granularity]}')`;
      return sql.query<SeriesRow>(
        `WITH a AS MATERIALIZED (
           SELECT key, bucket, sum(bytes_up) AS bu, sum(bytes_down) AS bd, sum(sms_mo) AS mo, sum(sms_mt) AS mt, sum(records) AS n
           FROM (${base}) r GROUP BY key, bucket
         ),
         k AS (SELECT key, row_number() OVER (ORDER BY ${order}) AS ord FROM a ${after} GROUP BY key ORDER BY ${order} LIMIT ${p.add(opts.limit, "int")})
         SELECT k.key::text AS key, b.bucket AT TIME ZONE 'UTC' AS start,
           coalesce(a.bu, 0)::text AS bytes_up, coalesce(a.bd, 0)::text AS bytes_down, coalesce(a.mo, 0)::text AS sms_mo,
           coalesce(a.mt, 0)::text AS sms_mt, coalesce(a.n, 0)::text AS records
         FROM k CROSS JOIN ${buckets} AS b(bucket)
         LEFT JOIN a ON a.key = k.key AND a.bucket = b.bucket
         ORDER BY k.ord, b.bucket`,
        p.values,
      );
    },

    /**
     * The tenant's SIMs with usage in the window, by ICCID after `after`: the sims index (tenant_id, iccid)
     * gives the order and each SIM's usage is one probe of (tenant_id, sim_id, day|started_at), so a page costs
     * its own SIMs, not the whole fleet's range.
     */
    async simGroups(plan: Plan, w: Window, opts: { after?: string; limit: number }): Promise<SimGroupRow[]> {
      const p = new Params();
      const base = baseRows({ ...plan, groupBy: "none" }, w, p, { where: ["u.sim_id = s.id"], skipSimFilter: true });
      const conds = [`s.tenant_id = ${p.add(plan.tenantId, "uuid")}`, ...simConditions(plan.filter, p)];
      if (opts.after !== undefined) conds.push(`s.iccid > ${p.add(opts.after, "text")}`);
      return sql.query<SimGroupRow>(
        `SELECT s.id::text AS key, s.iccid, s.custom_name FROM connectivity.sims s
         WHERE ${conds.join(" AND ")} AND EXISTS (${base})
         ORDER BY s.iccid LIMIT ${p.add(opts.limit, "int")}`,
        p.values,
      );
    },

    /** A page of the tenant's SIMs (matching the filter) by ICCID, for the CSV export grouped by SIM. */
    async simPage(tenantId: string, filter: SimFilter, opts: { after?: string; limit: number }): Promise<Array<{ id: string; iccid: string }>> {
      const p = new Params();
      const conds = [`s.tenant_id = ${p.add(tenantId, "uuid")}`, ...simConditions(filter, p)];
      if (opts.after !== undefined) conds.push(`s.iccid > ${p.add(opts.after, "text")}`);
      return sql.query(`SELECT s.id::text AS id, s.iccid FROM connectivity.sims s WHERE ${conds.join(" AND ")} ORDER BY s.iccid LIMIT ${p.add(opts.limit, "int")}`, p.values);
    },
  };
}

export type UsageQueryRepository = ReturnType<typeof createUsageQueryRepository>;
