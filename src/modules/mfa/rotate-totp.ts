import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { emptyKindReport, failureMessage, type KindRotation, type KindRotationOptions } from "../../platform/rotation.js";
import { openSecret, sealSecret } from "./factor-secret.js";

/**
 * rotate-keys for TOTP secrets (enterprise.mfa_factors.secret_enc, key id in key_id): rows read in batches by user
 * id, each written back by one conditional UPDATE matching the exact ciphertext read, so a factor re-enrolled or
 * removed meanwhile is never overwritten.
 */
export async function rotateTotpSecrets(prisma: PrismaClient, keyring: Keyring, opts: KindRotationOptions = {}): Promise<KindRotation> {
  const batchSize = opts.batchSize ?? 200;
  const report = emptyKindReport();
  const failures: KindRotation["failures"] = [];
  let after: string | undefined;
  for (;;) {
    const rows = await prisma.mfaFactor.findMany({
      where: { keyId: { not: keyring.activeKeyId }, ...(after && { userId: { gt: after } }) },
      select: { userId: true, keyId: true, secretEnc: true },
      orderBy: { userId: "asc" },
      take: batchSize,
    });
    if (rows.length === 0) break;
    for (const row of rows) {
      let secret: string;
      try {
        secret = openSecret(keyring, row);
      } catch (err) {
        failures.push({ kind: "totp", table: "enterprise.mfa_factors", column: "secret_enc", id: row.userId, userId: row.userId, keyId: row.keyId, error: failureMessage(err) });
        continue;
      }
      const sealed = sealSecret(keyring, row.userId, secret);
      const { count } = await prisma.mfaFactor.updateMany({ where: { userId: row.userId, keyId: row.keyId, secretEnc: { equals: row.secretEnc } }, data: sealed });
      if (count === 1) report.reencrypted++;
      else report.skipped++;
    }
    after = rows[rows.length - 1]?.userId;
    opts.log?.(`rotate-keys: ${report.reencrypted} TOTP secret(s) re-encrypted so far`);
  }
  report.failed = failures.length;
  report.underActiveKey = await prisma.mfaFactor.count({ where: { keyId: keyring.activeKeyId } });
  return { report, failures };
}
