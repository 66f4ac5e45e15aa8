import { randomUUID } from "node:crypto";
import type { Keyring } from "../../platform/crypto.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { AppError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { checkRows, rowsFromCsv, rowsFromJson, type GoodRow, type ImportRowError, type RawRow } from "./import-rows.js";
import { MAX_LISTED_ERRORS, type ImportJsonBody, type ImportResult } from "./inventory.schemas.js";
import { eventActor, UUID_V7_SQL } from "./sim-events.js";
import { sealSimSecret } from "./sim-secrets.js";

export type ImportInput = { format: "csv"; text: string } | { format: "json"; body: ImportJsonBody };

/** Rows per INSERT statement: large enough to be set-based, small enough to keep each statement's arrays modest. */
const CHUNK = 10_000;
/** Imports are serialised (they are rare, and the duplicate check then holds until commit). */
const IMPORT_LOCK = "conekt:sims-import";

interface SealedRow extends GoodRow {
  pinEncrypted: string | null;
  pukEncrypted: string | null;
}

/**
 * POST /v1/inventory/sims/import: the manufacturer's file lands in the platform tenant as `inventory` SIMs,
 * each with an `imported` history row, and one audit event counts the import. Set-based SQL throughout.
 */
export async function importSims(deps: { prisma: PrismaClient; keyring: Keyring }, actor: Actor, input: ImportInput, atomic: boolean): Promise<ImportResult> {
  const principal = authorize(actor, "import", "Sim");
  // Only platform staff and platform keys hold `import`: inventory belongs to the platform tenant.
  const platformTenantId = principal.tenantId;
  const raw: RawRow[] = input.format === "csv" ? rowsFromCsv(input.text) : rowsFromJson(input.body.sims);
  const { good, errors } = checkRows(raw);
  const received = raw.length;
  if (atomic && errors.length) throw rejectedImport(received, errors);

  // Encryption is CPU work: done before the transaction, which then holds its connection only for SQL.
  const sealed: SealedRow[] = good.map((r) => ({
    ...r,
    pinEncrypted: r.pin === null ? null : sealSimSecret(deps.keyring, "pin", r.iccid, r.pin),
    pukEncrypted: r.puk === null ? null : sealSimSecret(deps.keyring, "puk", r.iccid, r.puk),
  }));
  const importId = randomUUID();

  const imported = await deps.prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${IMPORT_LOCK}))`;
      const taken = await takenNumbers(tx, sealed);
      const fresh = sealed.filter((r) => {
        const clashes = (["iccid", "imsi", "msisdn"] as const).filter((f) => r[f] !== null && taken[f].has(r[f]!));
        for (const field of clashes) errors.push({ line: r.line, field, reason: `a SIM with this ${field.toUpperCase()} already exists`, code: "duplicate" });
        return clashes.length === 0;
      });
      if (atomic && errors.length) throw rejectedImport(received, errors);

      const by = eventActor(actor);
      const eventData = JSON.stringify({ importId });
      let count = 0;
      const inserted = new Set<string>();
      for (let i = 0; i < fresh.length; i += CHUNK) {
        const chunk = fresh.slice(i, i + CHUNK);
        const rows = await insertChunk(tx, platformTenantId, chunk, eventData, by);
        for (const r of rows) inserted.add(r.iccid);
        count += rows.length;
      }
      // Rows another writer took meanwhile (only possible outside imports, e.g. a demo seed): duplicates too.
      for (const r of fresh) if (!inserted.has(r.iccid)) errors.push({ line: r.line, field: "iccid", reason: "a SIM with this ICCID, IMSI or MSISDN was added meanwhile", code: "duplicate" });
      if (atomic && errors.length) throw rejectedImport(received, errors);

      await appendAudit(tx, actor, {
        tenantId: platformTenantId,
        action: "sims.imported",
        targetType: "sim_import",
        targetId: importId,
        data: { format: input.format, atomic, received, imported: count, rejected: rejectedRows(errors) },
      });
      return count;
    },
    { maxWait: 10_000, timeout: 300_000 },
  );
  return result(received, imported, errors);
}

/** ICCIDs, IMSIs and MSISDNs of the file that some SIM (of any tenant) already holds. */
async function takenNumbers(tx: Db, rows: readonly GoodRow[]): Promise<Record<"iccid" | "imsi" | "msisdn", Set<string>>> {
  const taken = { iccid: new Set<string>(), imsi: new Set<string>(), msisdn: new Set<string>() };
  if (rows.length === 0) return taken;
  const found = await tx.$queryRawUnsafe<Array<{ field: "iccid" | "imsi" | "msisdn"; value: string }>>(
    `SELECT 'iccid' AS field, iccid AS value FROM connectivity.sims WHERE iccid = ANY($1::text[])
     UNION ALL SELECT 'imsi', imsi FROM connectivity.sims WHERE imsi = ANY($2::text[])
     UNION ALL SELECT 'msisdn', msisdn FROM connectivity.sims WHERE msisdn = ANY($3::text[])`,
    rows.map((r) => r.iccid),
    rows.map((r) => r.imsi),
    rows.flatMap((r) => (r.msisdn === null ? [] : [r.msisdn])),
  );
  for (const f of found) taken[f.field].add(f.value);
  return taken;
}

/** One INSERT of SIMs and their `imported` history rows; returns the ICCIDs actually inserted. */
async function insertChunk(tx: Db, tenantId: string, rows: readonly SealedRow[], eventData: string, by: { type: string; id: string | null }): Promise<Array<{ iccid: string }>> {
  return tx.$queryRawUnsafe<Array<{ iccid: string }>>(
    `WITH input AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
         AS u(iccid, imsi, msisdn, eid, form_factor, pin_encrypted, puk_encrypted)
     ), ins AS (
       INSERT INTO connectivity.sims (id, tenant_id, iccid, imsi, msisdn, eid, form_factor, status, status_changed_at,
         pin_encrypted, puk_encrypted, created_at, updated_at)
       SELECT ${UUID_V7_SQL}, $1::uuid, iccid, imsi, msisdn, eid, form_factor::connectivity."SimFormFactor", 'inventory', now(),
         pin_encrypted, puk_encrypted, now(), now()
       FROM input
       ON CONFLICT DO NOTHING
       RETURNING id, tenant_id, iccid
     ), events AS (
       INSERT INTO connectivity.sim_events (id, tenant_id, sim_id, kind, to_status, billing_effect, data, actor_type, actor_id, at)
       SELECT ${UUID_V7_SQL}, tenant_id, id, 'imported', 'inventory', 'none', $9::jsonb, $10, $11, now() FROM ins
     )
     SELECT iccid FROM ins`,
    tenantId,
    rows.map((r) => r.iccid),
    rows.map((r) => r.imsi),
    rows.map((r) => r.msisdn),
    rows.map((r) => r.eid),
    rows.map((r) => r.formFactor),
    rows.map((r) => r.pinEncrypted),
    rows.map((r) => r.pukEncrypted),
    eventData,
    by.type,
    by.id,
  );
}

const rejectedRows = (errors: readonly ImportRowError[]) => new Set(errors.map((e) => e.line)).size;

function result(received: number, imported: number, errors: ImportRowError[]): ImportResult {
  const sorted = [...errors].sort((a, b) => a.line - b.line);
  return { received, imported, rejected: rejectedRows(errors), errors: sorted.slice(0, MAX_LISTED_ERRORS), errorsTruncated: sorted.length > MAX_LISTED_ERRORS };
}

/** `?atomic=true` with a bad row: nothing is imported; the answer lists the rows as a 200 would. */
function rejectedImport(received: number, errors: ImportRowError[]): AppError {
  const { rejected, errors: listed, errorsTruncated } = result(received, 0, errors);
  return new AppError(422, "import_rejected", "Import rejected", `${rejected} of ${received} rows are not acceptable; with atomic=true nothing was imported.`, {
    received,
    imported: 0,
    rejected,
    errors: listed,
    errorsTruncated,
  });
}
