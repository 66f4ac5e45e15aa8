import { Prisma } from "../../generated/prisma/client.js";
import type { SimStatus } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import { ValidationError, type FieldError } from "../../platform/errors.js";
import { validateIccid } from "../../platform/identifiers.js";
import type { SimState } from "./operation-decisions.js";

/**
 * Turning a bulk request's selection (a list of ICCIDs, a CSV column of them, or a filter) into the SIMs of the
 * caller's tenant, set-based. The tenant is always part of the query: another tenant's SIM is never selected,
 * whatever the caller lists.
 */

/** The most SIMs one operation may hold. */
export const MAX_SELECTION = 100_000;
/** Bad entries reported in one 400 answer: enough to fix a file, without echoing 100,000 lines back. */
const MAX_REPORTED = 20;

export interface SimFilter {
  status?: SimStatus | SimStatus[];
  labels?: string[];
  ratePlanId?: string;
  q?: string;
}

/** Validates ICCIDs (digits, length, "89", Luhn); duplicates count once, first position kept. */
export function checkIccids(values: readonly string[], field = "/body/iccids"): string[] {
  const errors: FieldError[] = [];
  const out = new Set<string>();
  values.forEach((v, i) => {
    const r = validateIccid(v);
    if (r.ok) out.add(r.value);
    else if (errors.length < MAX_REPORTED) errors.push({ field: `${field}/${i}`, reason: r.reason });
  });
  if (errors.length) throw new ValidationError(`${errors.length >= MAX_REPORTED ? "At least " : ""}${errors.length} ICCID(s) are invalid.`, errors);
  return [...out];
}

/**
 * A CSV of ICCIDs: one per line, or a column named `iccid` when the first line is a header. Quotes and blank
 * lines are tolerated; every other line must hold a valid ICCID (errors name the line, counting from 1).
 */
export function parseCsvIccids(csv: string): string[] {
  const lines = csv.split(/\r\n|\n|\r/);
  const cells = (line: string) => line.split(/[,;\t]/).map((c) => c.trim().replace(/^"(.*)"$/, "$1").trim());
  let column = 0;
  let start = 0;
  const firstUsed = lines.findIndex((l) => l.trim() !== "");
  if (firstUsed >= 0) {
    const header = cells(lines[firstUsed]!);
    const named = header.findIndex((c) => c.toLowerCase() === "iccid");
    if (named >= 0) {
      column = named;
      start = firstUsed + 1;
    } else if (!/\d/.test(lines[firstUsed]!)) {
      // A header without an `iccid` column: refuse rather than guess which column holds them.
      throw new ValidationError("The CSV header has no `iccid` column.", [{ field: "/body/csv", reason: `line ${firstUsed + 1}: the header has no "iccid" column` }]);
    }
  }
  const errors: FieldError[] = [];
  const out = new Set<string>();
  for (let i = start; i < lines.length; i++) {
    if (lines[i]!.trim() === "") continue;
    const value = cells(lines[i]!)[column] ?? "";
    const r = validateIccid(value);
    if (r.ok) out.add(r.value);
    else if (errors.length < MAX_REPORTED) errors.push({ field: "/body/csv", reason: `line ${i + 1}: ${r.reason}` });
  }
  if (errors.length) throw new ValidationError(`${errors.length >= MAX_REPORTED ? "At least " : ""}${errors.length} CSV line(s) hold no valid ICCID.`, errors);
  return [...out];
}

/**
 * The SQL condition for a filter, always inside the tenant; the same meaning as GET /v1/sims's query: `status`
 * any of, `labels` all of, `q` (digits) an exact or prefix match on ICCID, IMSI, MSISDN, bound or last-seen IMEI.
 */
export function filterCondition(tenantId: string, f: SimFilter): Prisma.Sql {
  const parts = [Prisma.sql`s.tenant_id = ${tenantId}::uuid`];
  const statuses = f.status === undefined ? [] : [f.status].flat();
  if (statuses.length) parts.push(Prisma.sql`s.status = ANY(${statuses}::connectivity."SimStatus"[])`);
  if (f.labels?.length) parts.push(Prisma.sql`s.labels @> ${f.labels}::varchar(64)[]`);
  if (f.ratePlanId) parts.push(Prisma.sql`s.rate_plan_id = ${f.ratePlanId}::uuid`);
  if (f.q) {
    // Digits only (the schema says so): a prefix LIKE needs no escaping.
    const prefix = `${f.q}%`;
    parts.push(Prisma.sql`(s.iccid LIKE ${prefix} OR s.imsi LIKE ${prefix} OR s.msisdn LIKE ${prefix} OR s.bound_imei LIKE ${prefix} OR s.last_seen_imei LIKE ${prefix})`);
  }
  return Prisma.join(parts, " AND ");
}

export async function countFilter(db: Db, tenantId: string, f: SimFilter): Promise<number> {
  const [row] = await db.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM connectivity.sims s WHERE ${filterCondition(tenantId, f)}`;
  return row?.n ?? 0;
}

/** Items for every SIM the filter matches, in ICCID order. */
export async function insertItemsForFilter(tx: Db, tenantId: string, operationId: string, f: SimFilter): Promise<number> {
  return tx.$executeRaw`
    INSERT INTO connectivity.operation_items (tenant_id, operation_id, seq, sim_id, iccid)
    SELECT ${tenantId}::uuid, ${operationId}::uuid, row_number() OVER (ORDER BY s.iccid), s.id, s.iccid
    FROM connectivity.sims s WHERE ${filterCondition(tenantId, f)}`;
}

export type SelectedSim = SimState & { iccid: string };

const SIM_STATE_COLUMNS = Prisma.sql`s.id, s.tenant_id AS "tenantId", s.iccid, s.status::text AS status,
  s.pending_operation_id AS "pendingOperationId", s.rate_plan_id AS "ratePlanId", s.labels::text[] AS labels`;

/** The current state of the listed SIMs of the tenant (for a dry run); absent ICCIDs are not the tenant's. */
export async function simsByIccid(db: Db, tenantId: string, iccids: readonly string[]): Promise<Map<string, SelectedSim>> {
  const rows = await db.$queryRaw<SelectedSim[]>`
    SELECT ${SIM_STATE_COLUMNS} FROM connectivity.sims s WHERE s.tenant_id = ${tenantId}::uuid AND s.iccid = ANY(${iccids}::text[])`;
  return new Map(rows.map((r) => [r.iccid, r]));
}

/** The current state of every SIM the filter matches (for a dry run), in ICCID order. */
export async function simsByFilter(db: Db, tenantId: string, f: SimFilter): Promise<SelectedSim[]> {
  return db.$queryRaw<SelectedSim[]>`SELECT ${SIM_STATE_COLUMNS} FROM connectivity.sims s WHERE ${filterCondition(tenantId, f)} ORDER BY s.iccid`;
}
