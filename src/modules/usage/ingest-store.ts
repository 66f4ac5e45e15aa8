import type { SqlRunner } from "../../platform/db/database.js";
import type { ValidUsageRecord } from "./usage-record.js";

import type { SimRef } from "./sim-directory.js";

export interface StoreOutcome {
  /** Records newly stored (and journalled for the rollup). */
  inserted: number;
  /** Records whose (tenant, sourceId, startedAt) was already stored, or came earlier in the same batch. */
  duplicates: number;
}

/** A valid record with its SIM resolved (src/modules/usage/sim-directory.ts). */
export interface ResolvedUsageRecord {
  record: ValidUsageRecord;
  sim: SimRef;
}

/** How often a statement that lost a deadlock or a serialization conflict is run again. */
const MAX_RETRIES = 3;
const RETRYABLE = new Set(["40P01", "40001"]);

/**
 * The whole store in ONE statement, its own implicit transaction: records and journal commit together, so the
 * rollup (which folds and deletes journal rows) counts each new record exactly once, and an acknowledged record
 * is durable. Steps, as CTEs:
 *  1. `input`: the records as parallel array parameters, unnest()ed (one parameter per column, whatever the
 *     batch size; pg sends each array as one text value). SIMs arrive resolved (the SIM directory), so the
 *     statement reads no other table: its cost is the insert's.
 *  2. `ins`: INSERT ... ON CONFLICT DO NOTHING into the partitioned usage_records (the partition follows
 *     started_at: late records land in their month, or in the default partition). Rows go in primary-key order,
 *     so concurrent requests with overlapping keys take their index locks in the same order and cannot
 *     deadlock on each other; `idx` last makes the earlier of two equal keys in one batch win, the later one
 *     counting as a duplicate.
 *  3. `journal`: one row per tenant with the inserted rows as parallel arrays (all aggregates of one group
 *     see the rows in the same order, so position i of every array is the same record).
 *  4. One row back: the count inserted, so a normal batch returns a few bytes whatever its size.
 * Plain, portable SQL: it runs unchanged on PostgreSQL 15 and on the embedded PGlite (PostgreSQL 18).
 */
const INGEST_SQL = `
WITH input AS (
  SELECT *
  FROM unnest($1::int4[], $2::text[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::timestamptz[],
              $7::int8[], $8::int8[], $9::int4[], $10::int4[], $11::text[], $12::text[], $13::text[])
       AS i(idx, source_id, tenant_id, sim_id, started_at, ended_at, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio)
),
ins AS (
  INSERT INTO connectivity.usage_records
    (tenant_id, source_id, started_at, ended_at, sim_id, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio)
  SELECT tenant_id, source_id, started_at, ended_at, sim_id, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio
  FROM input
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
SELECT (SELECT count(*) FROM ins)::int AS inserted
`;

/**
 * Stores valid records with their SIMs (any order; at most a request's worth) in one statement, retried on
 * deadlock or serialization failure. Per-record work in Node is only filling the column arrays.
 */
export async function storeUsageRecords(sql: SqlRunner, records: readonly ResolvedUsageRecord[]): Promise<StoreOutcome> {
  if (!records.length) return { inserted: 0, duplicates: 0 };
  const params = toColumns(records);
  for (let attempt = 0; ; attempt++) {
    try {
      const [row] = await sql.query<{ inserted: number }>(INGEST_SQL, params);
      return { inserted: row!.inserted, duplicates: records.length - row!.inserted };
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
 * (uuids, digits, ISO times, "262-01", "nb-iot"); the source id is always quoted, with `"` and `\` escaped.
 */
function toColumns(records: readonly ResolvedUsageRecord[]): unknown[] {
  const n = records.length;
  const idx = new Array<number>(n);
  const sourceId = new Array<string>(n);
  const tenantId = new Array<string>(n);
  const simId = new Array<string>(n);
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
    const { record: r, sim } = records[i]!;
    idx[i] = r.index;
    sourceId[i] = quoted(r.sourceId);
    tenantId[i] = sim.tenantId;
    simId[i] = sim.simId;
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
  const columns = [idx, sourceId, tenantId, simId, startedAt, endedAt, bytesUp, bytesDown, smsMo, smsMt, imei, network, radio];
  return columns.map((c) => `{${c.join(",")}}`);
}

/** An array element in double quotes; only `"` and `\` need a backslash inside them. */
function quoted(s: string): string {
  return s.indexOf('"') < 0 && s.indexOf("\\") < 0 ? `"${s}"` : `"${s.replace(/["\\]/g, "\\$&")}"`;
}
