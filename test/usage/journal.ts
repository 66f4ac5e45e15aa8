import { randomBytes } from "node:crypto";
import type { PrismaClient, SqlRunner } from "../../src/platform/db/database.js";

/** Helpers of the rollup and completeness tests: usage stored the way ingestion stores it. */

export interface TestRecord {
  tenantId: string;
  simId: string;
  sourceId?: string;
  startedAt: Date;
  endedAt?: Date;
  bytesUp?: bigint | number;
  bytesDown?: bigint | number;
  smsMo?: number;
  smsMt?: number;
  imei?: string | null;
  network?: string | null;
  radio?: string | null;
}

let serial = 0;
export const sourceId = () => `src-${process.pid}-${++serial}-${randomBytes(3).toString("hex")}`;

/**
 * Stores records as one ingestion request does: the records (ON CONFLICT DO NOTHING) and, in the same statement,
 * one journal row per tenant holding exactly the ones newly inserted. Returns how many were new.
 */
export async function store(sql: SqlRunner, records: TestRecord[]): Promise<number> {
  const rows = records.map((r) => ({ ...r, sourceId: r.sourceId ?? sourceId() }));
  const [row] = await sql.query<{ inserted: number }>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::uuid[], $6::int8[], $7::int8[],
                            $8::int4[], $9::int4[], $10::text[], $11::text[], $12::text[])
         AS i(tenant_id, source_id, started_at, ended_at, sim_id, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio)
     ),
     ins AS (
       INSERT INTO connectivity.usage_records (tenant_id, source_id, started_at, ended_at, sim_id, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio)
       SELECT * FROM input ORDER BY tenant_id, source_id, started_at
       ON CONFLICT DO NOTHING
       RETURNING tenant_id, sim_id, started_at, ended_at, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio
     ),
     journal AS (
       INSERT INTO connectivity.usage_rollup_journal (tenant_id, sim_ids, started_ats, ended_ats, bytes_up, bytes_down, sms_mo, sms_mt, imeis, networks, radios)
       SELECT tenant_id, array_agg(sim_id), array_agg(started_at), array_agg(ended_at), array_agg(bytes_up), array_agg(bytes_down),
              array_agg(sms_mo), array_agg(sms_mt), array_agg(imei), array_agg(network), array_agg(radio)
       FROM ins GROUP BY tenant_id
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM ins)::int AS inserted`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.sourceId),
      rows.map((r) => r.startedAt.toISOString()),
      rows.map((r) => (r.endedAt ?? new Date(r.startedAt.getTime() + 60_000)).toISOString()),
      rows.map((r) => r.simId),
      rows.map((r) => String(r.bytesUp ?? 0)),
      rows.map((r) => String(r.bytesDown ?? 0)),
      rows.map((r) => r.smsMo ?? 0),
      rows.map((r) => r.smsMt ?? 0),
      rows.map((r) => r.imei ?? null),
      rows.map((r) => (r.network === undefined ? "262-01" : r.network)),
      rows.map((r) => r.radio ?? "4g"),
    ],
  );
  return row!.inserted;
}

/** Rows of usage_daily that disagree with the raw records (per tenant, SIM and UTC day), in both directions. */
export async function dailyMismatches(prisma: PrismaClient, tenantIds: string[]): Promise<number> {
  const [row] = await prisma.$queryRawUnsafe<Array<{ n: number }>>(
    `WITH r AS (
       SELECT tenant_id, sim_id, (started_at AT TIME ZONE 'UTC')::date AS day, sum(bytes_up)::bigint AS bytes_up, sum(bytes_down)::bigint AS bytes_down,
              sum(sms_mo)::int AS sms_mo, sum(sms_mt)::int AS sms_mt, count(*)::int AS records
       FROM connectivity.usage_records WHERE tenant_id = ANY($1::uuid[]) GROUP BY 1, 2, 3),
     d AS (SELECT tenant_id, sim_id, day, bytes_up, bytes_down, sms_mo, sms_mt, records FROM connectivity.usage_daily WHERE tenant_id = ANY($1::uuid[]))
     SELECT count(*)::int AS n FROM r FULL JOIN d USING (tenant_id, sim_id, day)
     WHERE (r.bytes_up, r.bytes_down, r.sms_mo, r.sms_mt, r.records) IS DISTINCT FROM (d.bytes_up, d.bytes_down, d.sms_mo, d.sms_mt, d.records)`,
    tenantIds,
  );
  return row!.n;
}

/** The same for usage_hourly (per tenant, UTC hour and network, '' for none). */
export async function hourlyMismatches(prisma: PrismaClient, tenantIds: string[]): Promise<number> {
  const [row] = await prisma.$queryRawUnsafe<Array<{ n: number }>>(
    `WITH r AS (
       SELECT tenant_id, date_trunc('hour', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, coalesce(network, '') AS network,
              sum(bytes_up)::bigint AS bytes_up, sum(bytes_down)::bigint AS bytes_down, sum(sms_mo)::int AS sms_mo, sum(sms_mt)::int AS sms_mt, count(*)::int AS records
       FROM connectivity.usage_records WHERE tenant_id = ANY($1::uuid[]) GROUP BY 1, 2, 3),
     h AS (SELECT tenant_id, hour, network, bytes_up, bytes_down, sms_mo, sms_mt, records FROM connectivity.usage_hourly WHERE tenant_id = ANY($1::uuid[]))
     SELECT count(*)::int AS n FROM r FULL JOIN h USING (tenant_id, hour, network)
     WHERE (r.bytes_up, r.bytes_down, r.sms_mo, r.sms_mt, r.records) IS DISTINCT FROM (h.bytes_up, h.bytes_down, h.sms_mo, h.sms_mt, h.records)`,
    tenantIds,
  );
  return row!.n;
}

export async function journalRows(prisma: PrismaClient): Promise<number> {
  return prisma.usageRollupJournal.count();
}
