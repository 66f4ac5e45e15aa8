import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { emptyKindReport, failureMessage, sealedKeyId, type KindRotation, type KindRotationOptions } from "../../platform/rotation.js";
import { openSimSecret, sealSimSecret } from "./sim-secrets.js";

interface SimRow {
  id: string;
  iccid: string;
  pin_encrypted: string | null;
  puk_encrypted: string | null;
}

/** A SIM whose PIN and/or PUK were re-sealed: `next*` equals `old*` for a column left as it is. */
interface Resealed {
  id: string;
  oldPin: string | null;
  nextPin: string | null;
  oldPuk: string | null;
  nextPuk: string | null;
  secrets: number;
}

const COLUMNS = [
  { column: "pin", field: "pin_encrypted" },
  { column: "puk", field: "puk_encrypted" },
] as const;

/**
 * rotate-keys for SIM PIN1/PUK1 (connectivity.sims.pin_encrypted / puk_encrypted, `<keyId>:<base64>`). There may
 * be hundreds of thousands: SIMs are read in batches by id, decrypted and re-sealed in JS, and each batch is written
 * back by one UPDATE ... FROM unnest(...) matching both columns' exact ciphertexts as read, so a SIM whose PIN or
 * PUK changed meanwhile is left alone. `updated_at` is not touched: the SIM did not change.
 */
export async function rotateSimSecrets(prisma: PrismaClient, keyring: Keyring, opts: KindRotationOptions = {}): Promise<KindRotation> {
  const batchSize = opts.batchSize ?? 2000;
  const active = keyring.activeKeyId;
  const report = emptyKindReport();
  const failures: KindRotation["failures"] = [];
  let after = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    // split_part, not LIKE: key ids may contain "_", a LIKE wildcard.
    const rows = await prisma.$queryRaw<SimRow[]>`
      SELECT id::text AS id, iccid, pin_encrypted, puk_encrypted FROM connectivity.sims
      WHERE id > ${after}::uuid
        AND (split_part(pin_encrypted, ':', 1) <> ${active} OR split_part(puk_encrypted, ':', 1) <> ${active})
      ORDER BY id LIMIT ${batchSize}`;
    if (rows.length === 0) break;
    const batch: Resealed[] = [];
    for (const row of rows) {
      const next = { pin: row.pin_encrypted, puk: row.puk_encrypted };
      let secrets = 0;
      for (const { column, field } of COLUMNS) {
        const sealed = row[field];
        if (sealed === null || sealedKeyId(sealed) === active) continue;
        try {
          next[column] = sealSimSecret(keyring, column, row.iccid, openSimSecret(keyring, column, row.iccid, sealed));
          secrets++;
        } catch (err) {
          failures.push({ kind: "simPins", table: "connectivity.sims", column: field, id: row.id, keyId: sealedKeyId(sealed), error: failureMessage(err) });
        }
      }
      if (secrets > 0) batch.push({ id: row.id, oldPin: row.pin_encrypted, nextPin: next.pin, oldPuk: row.puk_encrypted, nextPuk: next.puk, secrets });
    }
    const written = await writeBack(prisma, batch);
    for (const r of batch) {
      if (written.has(r.id)) report.reencrypted += r.secrets;
      else report.skipped += r.secrets;
    }
    after = rows[rows.length - 1]!.id;
    opts.log?.(`rotate-keys: ${report.reencrypted} SIM PIN/PUK value(s) re-encrypted so far`);
  }
  report.failed = failures.length;
  const [counted] = await prisma.$queryRaw<Array<{ n: number }>>`
    SELECT (count(*) FILTER (WHERE split_part(pin_encrypted, ':', 1) = ${active})
          + count(*) FILTER (WHERE split_part(puk_encrypted, ':', 1) = ${active}))::int AS n
    FROM connectivity.sims`;
  report.underActiveKey = counted?.n ?? 0;
  return { report, failures };
}

/** One UPDATE for the batch; returns the ids written (a SIM whose PIN or PUK is no longer as read is not). */
async function writeBack(prisma: PrismaClient, batch: readonly Resealed[]): Promise<Set<string>> {
  if (batch.length === 0) return new Set();
  const rows = await prisma.$queryRawUnsafe<Array<{ id: string }>>(
    `UPDATE connectivity.sims AS s SET pin_encrypted = u.next_pin, puk_encrypted = u.next_puk
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, old_pin, next_pin, old_puk, next_puk)
     WHERE s.id = u.id AND s.pin_encrypted IS NOT DISTINCT FROM u.old_pin AND s.puk_encrypted IS NOT DISTINCT FROM u.old_puk
     RETURNING s.id::text AS id`,
    batch.map((r) => r.id),
    batch.map((r) => r.oldPin),
    batch.map((r) => r.nextPin),
    batch.map((r) => r.oldPuk),
    batch.map((r) => r.nextPuk),
  );
  return new Set(rows.map((r) => r.id));
}
