import type { Db } from "../../platform/db/database.js";
import type { ImeiObservation } from "../devices/imei-check.js";

/** Key of the transaction-level advisory lock that lets one rollup run at a time (any process, any node). */
export const ROLLUP_LOCK_KEY = 0x75736167; // "usag"

/**
 * Below this, a newer sighting of a SIM on the same network does not rewrite its row.
 *
 * Why: at 50,000 records/s over 100,000 SIMs every SIM reports every few seconds, so moving `last_seen_at` to
 * the newest record in every slice would rewrite tens of thousands of `sims` rows a second (WAL, vacuum and
 * lock traffic on the fleet's hottest table, for a figure people read as "seen a moment ago"). With the
 * threshold a busy SIM's row changes about once a minute; those updates touch no indexed column, so with the
 * page room `fillfactor = 90` leaves they are HOT (no new index entries). A new network always goes through.
 */
export const LAST_SEEN_STEP = "1 minute";

/** What one slice folded, and what must happen after it commits. */
export interface SliceResult {
  /** Journal rows folded (and deleted). */
  rows: number;
  /** Usage records in them. */
  records: number;
  /** The tenants whose totals changed. */
  tenantIds: string[];
  /** SIMs whose last-seen fields moved in the set-based update (the ones with IMEI changes move with the check). */
  simsMoved: number;
  /** A `ready` SIM had usage: its test threshold may be crossed now. */
  readyTouched: boolean;
  /** Records whose IMEI may be news for their SIM: what the IMEI check must see (normally none). */
  observations: ImeiObservation[];
  /** The newest sighting of each SIM with observations, applied after the IMEI check (it moves those SIMs itself). */
  flagged: FlaggedSim[];
}

export interface FlaggedSim {
  id: string;
  at: Date;
  network: string | null;
  networkAt: Date | null;
}

interface FoldRow {
  rows: number;
  records: number;
  tenants: string[];
  sims_moved: number;
  ready: boolean;
  observations: Array<{ tenantId: string; simId: string; imei: string; network: string | null; at: string }> | null;
  flagged: Array<{ id: string; at: string; network: string | null; networkAt: string | null }> | null;
}

/**
 * One slice of the journal folded into the rollups in ONE statement (its CTEs, in order of the data):
 *
 * - `picked`/`chosen`: the oldest journal rows not locked by another transaction (SKIP LOCKED), cut where the
 *   running record count would pass `maxRecords` (at least one row). `$1` bounds how many rows are looked at.
 *   The count reads the SMS array: the arrays are parallel, and this one is the smallest to fetch (4 bytes a
 *   record, against 16 for the SIM ids).
 * - `j`: those rows deleted, `RETURNING` their arrays: the delete and every upsert below commit together, so a
 *   record is counted exactly once (a crash before commit leaves the rows in the journal for the next run).
 * - `r`: the records, unnested. A record counts on the UTC day and hour it started.
 * - `daily` and `hourly`: aggregated and added to the rows of usage_daily (tenant, SIM, day) and usage_hourly
 *   (tenant, hour, network or ''), inserted in key order so two writers never lock the same rows in opposite
 *   orders.
 * - `seen`, `cur`: per SIM the newest sighting (greatest of start and end), the network of its newest record that
 *   names one, and the smallest and greatest IMEI, against the SIM's current state. A SIM is `flagged` for the
 *   IMEI check when a record carries an IMEI other than its last seen one (or its policy is waiting for a
 *   first IMEI to bind, or a repair window is open and the IMEI is not the bound one): found here in SQL, so
 *   normally nothing comes back.
 * - `locked`: the SIMs to change, locked in id order (the IMEI check and network events lock in id order too).
 * - `moved`: last_seen_at/last_network of the SIMs not flagged, only where the sighting is newer, at most once a
 *   SIM, and only when it moved by LAST_SEEN_STEP or the network changed.
 * - `obs`: the flagged SIMs' IMEI-carrying records, keeping only the records where the IMEI differs from the
 *   SIM's previous record (the check needs the transitions, not the repeats).
 */
const FOLD_SQL = `
WITH picked AS (
  SELECT id, coalesce(cardinality(sms_mo), cardinality(sim_ids), 0) AS n
  FROM connectivity.usage_rollup_journal
  ORDER BY id
  LIMIT $1
  FOR UPDATE SKIP LOCKED
),
chosen AS (
  SELECT id FROM (SELECT id, sum(n) OVER (ORDER BY id) - n AS before FROM picked) p WHERE before < $2
),
j AS (
  DELETE FROM connectivity.usage_rollup_journal
  WHERE id IN (SELECT id FROM chosen)
  RETURNING tenant_id, sim_ids, started_ats, ended_ats, bytes_up, bytes_down, sms_mo, sms_mt, imeis, networks
),
r AS (
  SELECT j.tenant_id, u.sim_id, u.started_at, greatest(u.started_at, u.ended_at) AS seen_at,
         coalesce(u.bytes_up, 0) AS bytes_up, coalesce(u.bytes_down, 0) AS bytes_down,
         coalesce(u.sms_mo, 0) AS sms_mo, coalesce(u.sms_mt, 0) AS sms_mt, u.imei, u.network
  FROM j
  CROSS JOIN LATERAL unnest(j.sim_ids, j.started_ats, j.ended_ats, j.bytes_up, j.bytes_down, j.sms_mo, j.sms_mt, j.imeis, j.networks)
       AS u(sim_id, started_at, ended_at, bytes_up, bytes_down, sms_mo, sms_mt, imei, network)
  WHERE u.sim_id IS NOT NULL AND u.started_at IS NOT NULL
),
daily AS (
  INSERT INTO connectivity.usage_daily AS d (tenant_id, sim_id, day, bytes_up, bytes_down, sms_mo, sms_mt, records, updated_at)
  SELECT tenant_id, sim_id, (started_at AT TIME ZONE 'UTC')::date, sum(bytes_up)::bigint, sum(bytes_down)::bigint,
         sum(sms_mo)::int, sum(sms_mt)::int, count(*)::int, now()
  FROM r
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (tenant_id, sim_id, day) DO UPDATE SET
    bytes_up = d.bytes_up + EXCLUDED.bytes_up, bytes_down = d.bytes_down + EXCLUDED.bytes_down,
    sms_mo = d.sms_mo + EXCLUDED.sms_mo, sms_mt = d.sms_mt + EXCLUDED.sms_mt,
    records = d.records + EXCLUDED.records, updated_at = EXCLUDED.updated_at
),
hourly AS (
  INSERT INTO connectivity.usage_hourly AS h (tenant_id, hour, network, bytes_up, bytes_down, sms_mo, sms_mt, records, updated_at)
  SELECT tenant_id, date_trunc('hour', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', coalesce(network, ''),
         sum(bytes_up)::bigint, sum(bytes_down)::bigint, sum(sms_mo)::int, sum(sms_mt)::int, count(*)::int, now()
  FROM r
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (tenant_id, hour, network) DO UPDATE SET
    bytes_up = h.bytes_up + EXCLUDED.bytes_up, bytes_down = h.bytes_down + EXCLUDED.bytes_down,
    sms_mo = h.sms_mo + EXCLUDED.sms_mo, sms_mt = h.sms_mt + EXCLUDED.sms_mt,
    records = h.records + EXCLUDED.records, updated_at = EXCLUDED.updated_at
),
seen AS (
  SELECT sim_id, max(seen_at) AS at,
         max(seen_at) FILTER (WHERE network IS NOT NULL) AS network_at,
         (array_agg(network ORDER BY seen_at DESC) FILTER (WHERE network IS NOT NULL))[1] AS network,
         min(imei) AS min_imei, max(imei) AS max_imei
  FROM r
  GROUP BY sim_id
),
cur AS (
  SELECT s.id, s.status, s.last_seen_at, s.last_network, seen.at, seen.network, seen.network_at,
         (seen.max_imei IS NOT NULL AND (
            s.last_seen_imei IS NULL OR seen.min_imei <> s.last_seen_imei OR seen.max_imei <> s.last_seen_imei
            OR (s.imei_lock_mode = 'lock_first_seen' AND s.bound_imei IS NULL)
            OR (s.imei_lock_mode IN ('lock', 'lock_first_seen') AND s.bound_imei IS NOT NULL AND s.imei_repair_until > now()
                AND (seen.min_imei <> s.bound_imei OR seen.max_imei <> s.bound_imei))
         )) AS flagged
  FROM seen
  JOIN connectivity.sims s ON s.id = seen.sim_id
),
due AS (
  SELECT id, at, network, network_at, flagged FROM cur
  WHERE flagged
     OR ((last_seen_at IS NULL OR at > last_seen_at)
         AND (last_seen_at IS NULL OR at >= last_seen_at + interval '${LAST_SEEN_STEP}'
              OR (network IS NOT NULL AND network_at >= last_seen_at AND network IS DISTINCT FROM last_network)))
),
locked AS (
  SELECT s.id FROM connectivity.sims s WHERE s.id IN (SELECT id FROM due) ORDER BY s.id FOR UPDATE
),
moved AS (
  UPDATE connectivity.sims s
  SET last_seen_at = greatest(s.last_seen_at, m.at),
      last_network = CASE WHEN m.network IS NOT NULL AND m.network_at >= coalesce(s.last_seen_at, '-infinity') THEN m.network ELSE s.last_network END
  FROM due m, locked l
  WHERE l.id = m.id AND s.id = m.id AND NOT m.flagged AND (s.last_seen_at IS NULL OR m.at > s.last_seen_at)
  RETURNING s.id
),
obs AS (
  SELECT tenant_id, sim_id, imei, network, seen_at FROM (
    SELECT r.tenant_id, r.sim_id, r.imei, r.network, r.seen_at,
           lag(r.imei) OVER (PARTITION BY r.sim_id ORDER BY r.seen_at) AS prev
    FROM r
    WHERE r.imei IS NOT NULL AND r.sim_id IN (SELECT id FROM due WHERE flagged)
  ) x
  WHERE prev IS DISTINCT FROM imei
)
SELECT (SELECT count(*) FROM j)::int AS rows,
       (SELECT count(*) FROM r)::int AS records,
       (SELECT coalesce(array_agg(DISTINCT tenant_id::text), '{}') FROM j) AS tenants,
       (SELECT count(*) FROM moved)::int AS sims_moved,
       EXISTS (SELECT 1 FROM cur WHERE status = 'ready') AS ready,
       (SELECT json_agg(json_build_object('tenantId', tenant_id, 'simId', sim_id, 'imei', imei, 'network', network, 'at', seen_at) ORDER BY sim_id, seen_at) FROM obs) AS observations,
       (SELECT json_agg(json_build_object('id', id, 'at', at, 'network', network, 'networkAt', network_at)) FROM due WHERE flagged) AS flagged
`;

/**
 * Folds one slice of the journal inside the caller's transaction (which must hold the rollup lock and must also
 * run the IMEI check and `moveFlaggedSims` before it commits).
 * `maxRows` bounds the journal rows looked at, `maxRecords` the records folded (one row is always taken whole).
 */
export async function foldSlice(tx: Db, opts: { maxRows: number; maxRecords: number }): Promise<SliceResult> {
  const [row] = await tx.$queryRawUnsafe<FoldRow[]>(FOLD_SQL, opts.maxRows, opts.maxRecords);
  const r = row!;
  return {
    rows: r.rows,
    records: r.records,
    tenantIds: r.tenants,
    simsMoved: r.sims_moved,
    readyTouched: r.ready,
    observations: (r.observations ?? []).map((o) => ({ tenantId: o.tenantId, simId: o.simId, imei: o.imei.trim(), network: o.network, at: new Date(o.at), source: "usage" as const })),
    flagged: (r.flagged ?? []).map((f) => ({ id: f.id, at: new Date(f.at), network: f.network, networkAt: f.networkAt === null ? null : new Date(f.networkAt) })),
  };
}

/**
 * After the IMEI check moved the flagged SIMs to their newest IMEI change: their last sighting and network from
 * the slice's newest record (the check saw only the records where the IMEI changed). Already locked by the slice.
 */
export async function moveFlaggedSims(tx: Db, flagged: FlaggedSim[]): Promise<void> {
  if (flagged.length === 0) return;
  await tx.$executeRaw`
    UPDATE connectivity.sims s
    SET last_seen_at = greatest(s.last_seen_at, f.at),
        last_network = CASE WHEN f.network IS NOT NULL AND f.network_at >= coalesce(s.last_seen_at, '-infinity') THEN f.network ELSE s.last_network END
    FROM jsonb_to_recordset(${JSON.stringify(flagged.map((f) => ({ id: f.id, at: f.at, network: f.network, network_at: f.networkAt })))}::jsonb)
      AS f(id uuid, at timestamptz, network text, network_at timestamptz)
    WHERE s.id = f.id AND (s.last_seen_at IS NULL OR f.at > s.last_seen_at OR (f.network IS NOT NULL AND f.network_at >= s.last_seen_at AND f.network IS DISTINCT FROM s.last_network))`;
}

/**
 * Memory for the slice's sorts and aggregates (~100,000 records, a few times over): with the default 4 MB they
 * spill to temporary files. Only for this transaction, and only one rollup runs at a time.
 */
const SLICE_WORK_MEM = "32MB";

/**
 * Starts a slice in the caller's transaction: takes the rollup lock (false when another rollup holds it) and sets
 * the slice's work_mem, in one round trip.
 */
export async function beginSlice(tx: Db): Promise<boolean> {
  const [row] = await tx.$queryRaw<Array<{ locked: boolean }>>`
    SELECT pg_try_advisory_xact_lock(${ROLLUP_LOCK_KEY}::bigint) AS locked, set_config('work_mem', ${SLICE_WORK_MEM}, true) AS work_mem`;
  return row?.locked === true;
}
