import { randomBytes } from "node:crypto";
import type { Scope } from "../../src/modules/access/scopes.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import type { TestApp } from "../helpers/build.js";
import type { Client, Reply } from "../helpers/client.js";
import { keyClient } from "../devices/helpers.js";

/** Helpers of the usage ingestion tests. */

export type UsageMedia = "application/json" | "application/x-ndjson" | "application/ndjson" | "text/csv";

/** An API client of `tenantId` with `usage:write` (the platform tenant's: the operator's mediation feed). */
export const usageFeed = (ctx: TestApp, tenantId: string, scopes: Scope[] = ["usage:write"]) => keyClient(ctx, tenantId, scopes);

let serial = 0;
const run = randomBytes(3).toString("hex");
/** A source record id unique across this process. */
export const sourceId = () => `cdr-${run}-${++serial}`;

/** A valid record of the SIM named by ICCID, five minutes long, ending a minute ago; `extra` overrides or adds. */
export function usageRecord(iccid: string | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const end = Date.now() - 60_000;
  return {
    sourceId: sourceId(),
    ...(iccid ? { iccid } : {}),
    startedAt: new Date(end - 5 * 60_000).toISOString(),
    endedAt: new Date(end).toISOString(),
    bytesUp: 1000,
    bytesDown: 20_000,
    ...extra,
  };
}

export const toNdjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n") + "\n";

/** CSV with a header naming every field any of the records uses. */
export function toCsv(records: Array<Record<string, unknown>>): string {
  const columns = [...new Set(records.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === undefined || v === null ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [columns.join(","), ...records.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}

export function encode(records: Array<Record<string, unknown>>, media: UsageMedia): string {
  return media === "text/csv" ? toCsv(records) : media === "application/json" ? JSON.stringify(records) : toNdjson(records);
}

/** POST /v1/usage/records with a raw body of the given media type (plus any headers). */
export function ingest(client: Client, body: string, media: string, headers: Record<string, string> = {}): Promise<Reply> {
  return client.request("POST", "/v1/usage/records", { rawBody: body, headers: { "content-type": media, ...headers } });
}

export const ingestRecords = (client: Client, records: Array<Record<string, unknown>>, media: UsageMedia = "application/json") => ingest(client, encode(records, media), media);

export interface Totals {
  records: number;
  bytesUp: string;
  bytesDown: string;
  sms: number;
  /** What the rollup journal holds: it must always equal the records (nothing rolled up in these tests). */
  journalRecords: number;
  journalBytesUp: string;
  journalBytesDown: string;
  journalSms: number;
}

/** Counts and sums of usage_records and of the rollup journal, optionally of one tenant; bytes as strings (bigint). */
export async function usageTotals(prisma: PrismaClient, tenantId?: string): Promise<Totals> {
  const where = tenantId ? `WHERE tenant_id = '${tenantId}'::uuid` : "";
  const [row] = await prisma.$queryRawUnsafe<Totals[]>(`
    SELECT (SELECT count(*)::int FROM connectivity.usage_records ${where}) AS "records",
           (SELECT coalesce(sum(bytes_up), 0)::text FROM connectivity.usage_records ${where}) AS "bytesUp",
           (SELECT coalesce(sum(bytes_down), 0)::text FROM connectivity.usage_records ${where}) AS "bytesDown",
           (SELECT coalesce(sum(sms_mo + sms_mt), 0)::int FROM connectivity.usage_records ${where}) AS "sms",
           (SELECT coalesce(sum(cardinality(sim_ids)), 0)::int FROM connectivity.usage_rollup_journal ${where}) AS "journalRecords",
           (SELECT coalesce(sum(v), 0)::text FROM connectivity.usage_rollup_journal j, unnest(j.bytes_up) v ${where.replace("tenant_id", "j.tenant_id")}) AS "journalBytesUp",
           (SELECT coalesce(sum(v), 0)::text FROM connectivity.usage_rollup_journal j, unnest(j.bytes_down) v ${where.replace("tenant_id", "j.tenant_id")}) AS "journalBytesDown",
           (SELECT coalesce(sum(a + b), 0)::int FROM connectivity.usage_rollup_journal j, unnest(j.sms_mo, j.sms_mt) AS x(a, b) ${where.replace("tenant_id", "j.tenant_id")}) AS "journalSms"`);
  return row!;
}
