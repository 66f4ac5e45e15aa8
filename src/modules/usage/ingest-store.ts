import type { SqlRunner } from "../../platform/db/database.js";
import type { ValidUsageRecord } from "./usage-record.js";

/** Why the store did not take a record that parsed well. */
export type StoreRejectionCode = "unknown_sim" | "sim_mismatch";

export interface StoreRejection {
  index: number;
  code: StoreRejectionCode;
  /** The identifier at fault: the one that names no SIM (unknown_sim) or that names another SIM than the first (sim_mismatch). */
  field: "iccid" | "imsi" | "msisdn";
}

export interface StoreOutcome {
  /** Records newly stored (and journalled for the rollup). */
  inserted: number;
  /** Records whose (tenant, sourceId, startedAt) was already stored, or came earlier in the same batch. */
  duplicates: number;
  /** Records naming no SIM the caller may write for, or naming two SIMs; in no particular order. */
  rejected: StoreRejection[];
}

export interface StoreOptions {
  /** Only this tenant's SIMs resolve (a customer's key or member); null: any tenant's (the platform's feed). */
  tenantId: string | null;
}

/** How often a statement that lost a deadlock or a serialization conflict is run again. */
const MAX_RETRIES = 3;
const RETRYABLE = new Set(["40P01", "40001"]);

/**
 * The whole store in ONE statement, its own implicit transaction: records and journal commit together, so the
 * rollup (which folds and deletes journal rows) counts each new record exactly once, and an acknowledged record
 * is durable. Steps, as CTEs:
 *  1. `input`: the records as parallel array parameters, unnest()ed (one parameter per column, whatever the
 *     batch size; pg sends each array as one text value).
 *  2. `resolved`: each record's SIM through three LEFT JOINs on the unique iccid / imsi / msisdn indexes of
 *     connectivity.sims, restricted to the caller's tenant when it has one (another tenant's SIM then simply
 *     does not resolve: `unknown_sim`, nothing disclosed). A record whose given identifiers do not all name the
 *     same SIM is `sim_mismatch`; one naming none is `unknown_sim`.
 *  3. `ins`: INSERT ... ON CONFLICT DO NOTHING into the partitioned usage_records (the partition follows
 *     started_at: late records land in their month, or in the default partition). Rows go in primary-key order,
 *     so concurrent requests with overlapping keys take their index locks in the same order and cannot
 *     deadlock on each other; `idx` last makes the earlier of two equal keys in one batch win, the later one
 *     counting as a duplicate (per tenant, which Node could not tell before resolving the SIMs).
 *  4. `journal`: one row per tenant with the inserted rows as parallel arrays (all aggregates of one group
 *     see the rows in the same order, so position i of every array is the same record).
 *  5. One row back: the count inserted, the count of resolved records, and the rejected indexes, so a normal
 *     batch returns a few bytes whatever its size.
 * Plain, portable SQL: it runs unchanged on PostgreSQL 15 and on the embedded PGlite (PostgreSQL 18).
 */
const INGEST_SQL = `
WITH input AS (
  SELECT *
  FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
              $8::int8[], $9::int8[], $10::int4[], $11::int4[], $12::text[], $13::text[], $14::text[])
       AS i(idx, source_id, iccid, imsi, msisdn, started_at, ended_at, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio)
),
joined AS (
  SELECT i.*, a.id AS a_id, b.id AS b_id, c.id AS c_id,
         coalesce(a.id, b.id, c.id) AS sim_id, coalesce(a.tenant_id, b.tenant_id, c.tenant_id) AS tenant_id
  FROM input i
  LEFT JOIN connectivity.sims a ON a.iccid = i.iccid AND ($15::uuid IS NULL OR a.tenant_id = $15::uuid)
  LEFT JOIN connectivity.sims b ON b.imsi = i.imsi AND ($15::uuid IS NULL OR b.tenant_id = $15::uuid)
  LEFT JOIN connectivity.sims c ON c.msisdn = i.msisdn AND ($15::uuid IS NULL OR c.tenant_id = $15::uuid)
),
resolved AS (
  SELECT j.*,
         CASE
           WHEN j.sim_id IS NULL THEN 'unknown_sim'
           WHEN (j.iccid IS NOT NULL AND j.a_id IS DISTINCT FROM j.sim_id)
             OR (j.imsi IS NOT NULL AND j.b_id IS DISTINCT FROM j.sim_id)
             OR (j.msisdn IS NOT NULL AND j.c_id IS DISTINCT FROM j.sim_id) THEN 'sim_mismatch'
         END AS problem,
         CASE
           WHEN j.iccid IS NOT NULL AND j.a_id IS DISTINCT FROM j.sim_id THEN 'iccid'
           WHEN j.imsi IS NOT NULL AND j.b_id IS DISTINCT FROM j.sim_id THEN 'imsi'
           WHEN j.msisdn IS NOT NULL AND j.c_id IS DISTINCT FROM j.sim_id THEN 'msisdn'
           WHEN j.iccid IS NOT NULL THEN 'iccid'
           WHEN j.imsi IS NOT NULL THEN 'imsi'
           ELSE 'msisdn'
         END AS problem_field
  FROM joined j
),
ins AS (
  INSERT INTO connectivity.usage_records
    (tenant_id, source_id, started_at, ended_at, sim_id, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio)
  SELECT tenant_id, source_id, started_at, ended_at, sim_id, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio
  FROM resolved
  WHERE problem IS NULL
  ORDER BY tenant_id, source_id, started_at, idx
  ON CONFLICT DO NOTHING
  RETURNING tenant_id, sim_id, started_at, ended_at, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio
),
journal AS (
  INSERT INTO connectivity.usage_rollup_journal
    (tenant_id, sim_ids, started_ats, ended_ats, bytes_up, bytes_down, sms_mo, sms_mt, imeis, networks, radios)
  SELECT tenant_id, array_agg(sim_id), array_agg(started_at), array_agg(ended_at), array_agg(bytes_up),
         array_agg(bytes_down), array_agg(sms_mo), array_agg(sms_mt), array_agg(imei), array_agg(network), array_agg(radio)
  FROM ins
  GROUP BY tenant_id
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS inserted,
       (SELECT count(*) FROM resolved WHERE problem IS NULL)::int AS resolved,
       coalesce((SELECT array_agg(idx) FROM resolved WHERE problem IS NOT NULL), '{}') AS rejected_idx,
       coalesce((SELECT array_agg(problem) FROM resolved WHERE problem IS NOT NULL), '{}') AS rejected_code,
       coalesce((SELECT array_agg(problem_field) FROM resolved WHERE problem IS NOT NULL), '{}') AS rejected_field
`;

interface IngestRow {
  inserted: number;
  resolved: number;
  rejected_idx: number[];
  rejected_code: StoreRejectionCode[];
  rejected_field: StoreRejection["field"][];
}

/**
 * Stores parsed, valid records (any order; at most a request's worth) in one statement, retried on deadlock or
 * serialization failure. Per-record work in Node is only filling the column arrays.
 */
export async function storeUsageRecords(sql: SqlRunner, records: readonly ValidUsageRecord[], opts: StoreOptions): Promise<StoreOutcome> {
  if (!records.length) return { inserted: 0, duplicates: 0, rejected: [] };
  const params = toColumns(records, opts.tenantId);
  for (let attempt = 0; ; attempt++) {
    try {
      const [row] = await sql.query<IngestRow>(INGEST_SQL, params);
      const rejected = row!.rejected_idx.map((index, i) => ({ index, code: row!.rejected_code[i]!, field: row!.rejected_field[i]! }));
      return { inserted: row!.inserted, duplicates: row!.resolved - row!.inserted, rejected };
    } catch (err) {
      // Nothing of a failed statement was committed: running it again is safe.
      if (attempt >= MAX_RETRIES || !RETRYABLE.has((err as { code?: string }).code ?? "")) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt + Math.random() * 10));
    }
  }
}

/**
 * The column arrays of the statement, as PostgreSQL array literals built here ("{a,b,NULL}"): pg's generic
 * array serialisation (a prepareValue call and an escape per element) costs ~4 µs a record, several times
 * what this does. Bigints travel as decimal digits into ::int8[], times as ISO strings into ::timestamptz[].
 * Every element except the source id is validated to characters that need no quoting in an array literal
 * (digits, ISO times, "262-01", "nb-iot"); the source id is always quoted, with `"` and `\` escaped.
 */
function toColumns(records: readonly ValidUsageRecord[], tenantId: string | null): unknown[] {
  const n = records.length;
  const idx = new Array<number>(n);
  const sourceId = new Array<string>(n);
  const iccid = new Array<string>(n);
  const imsi = new Array<string>(n);
  const msisdn = new Array<string>(n);
  const startedAt = new Array<string>(n);
  const endedAt = new Array<string>(n);
  const bytesUp = new Array<string>(n);
  const bytesDown = new Array<string>(n);
  const smsMo = new Array<number>(n);
  const smsMt = new Array<number>(n);
  const imei = new Array<string>(n);
  const network = new Array<string>(n);
  const radio = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    idx[i] = r.index;
    sourceId[i] = quoted(r.sourceId);
    iccid[i] = r.iccid ?? "NULL";
    imsi[i] = r.imsi ?? "NULL";
    msisdn[i] = r.msisdn ?? "NULL";
    startedAt[i] = r.startedAt.toISOString();
    endedAt[i] = r.endedAt.toISOString();
    bytesUp[i] = r.bytesUp.toString();
    bytesDown[i] = r.bytesDown.toString();
    smsMo[i] = r.smsMo;
    smsMt[i] = r.smsMt;
    imei[i] = r.imei ?? "NULL";
    network[i] = r.network ?? "NULL";
    radio[i] = r.radio ?? "NULL";
  }
  const columns = [idx, sourceId, iccid, imsi, msisdn, startedAt, endedAt, bytesUp, bytesDown, smsMo, smsMt, imei, network, radio];
  return [...columns.map((c) => `{${c.join(",")}}`), tenantId];
}

/** An array element in double quotes; only `"` and `\` need a backslash inside them. */
function quoted(s: string): string {
  return s.indexOf('"') < 0 && s.indexOf("\\") < 0 ? `"${s}"` : `"${s.replace(/["\\]/g, "\\$&")}"`;
}
