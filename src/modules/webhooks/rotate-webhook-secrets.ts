import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { emptyKindReport, failureMessage, sealedKeyId, type KindRotation, type KindRotationOptions } from "../../platform/rotation.js";
import { openSecrets, sealSecrets, type SigningSecrets } from "./webhook-secret.js";

/**
 * rotate-keys for webhook signing secrets (enterprise.webhook_endpoints.secret_encrypted, `<keyId>:<base64>`).
 * The column holds the whole secrets document, the current secret and the previous one still in its 24-hour
 * overlap, so both move to the active key together and the overlap is kept as it was.
 * Endpoints are read in batches by id; each is written back by one UPDATE conditional on the exact ciphertext
 * read, so a secret rotated (or an endpoint deleted) meanwhile is never overwritten. `updated_at` is left alone:
 * the endpoint did not change.
 */
export async function rotateWebhookSecrets(prisma: PrismaClient, keyring: Keyring, opts: KindRotationOptions = {}): Promise<KindRotation> {
  const batchSize = opts.batchSize ?? 200;
  const active = keyring.activeKeyId;
  const report = emptyKindReport();
  const failures: KindRotation["failures"] = [];
  let after = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    // split_part, not LIKE: key ids may contain "_", a LIKE wildcard.
    const rows = await prisma.$queryRaw<Array<{ id: string; secret_encrypted: string }>>`
      SELECT id::text AS id, secret_encrypted FROM enterprise.webhook_endpoints
      WHERE id > ${after}::uuid AND split_part(secret_encrypted, ':', 1) <> ${active}
      ORDER BY id LIMIT ${batchSize}`;
    if (rows.length === 0) break;
    for (const row of rows) {
      let secrets: SigningSecrets;
      try {
        secrets = openSecrets(keyring, row.id, row.secret_encrypted);
      } catch (err) {
        failures.push({ kind: "webhookSecrets", table: "enterprise.webhook_endpoints", column: "secret_encrypted", id: row.id, keyId: sealedKeyId(row.secret_encrypted), error: failureMessage(err) });
        continue;
      }
      const count = await prisma.$executeRaw`
        UPDATE enterprise.webhook_endpoints SET secret_encrypted = ${sealSecrets(keyring, row.id, secrets)}
        WHERE id = ${row.id}::uuid AND secret_encrypted = ${row.secret_encrypted}`;
      if (count === 1) report.reencrypted++;
      else report.skipped++;
    }
    after = rows[rows.length - 1]!.id;
    opts.log?.(`rotate-keys: ${report.reencrypted} webhook secret(s) re-encrypted so far`);
  }
  report.failed = failures.length;
  const [counted] = await prisma.$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM enterprise.webhook_endpoints WHERE split_part(secret_encrypted, ':', 1) = ${active}`;
  report.underActiveKey = counted?.n ?? 0;
  return { report, failures };
}
