import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { openSecret, sealSecret } from "./factor-secret.js";

export interface RotationReport {
  activeKeyId: string;
  /** Secrets found under another key and now under the active one. */
  reencrypted: number;
  /** Rows that changed while being rotated (re-enrolled or disabled meanwhile): left as they are. */
  skipped: number;
  /** Rows that could not be decrypted (their key is not configured, or the data is damaged). */
  failed: Array<{ userId: string; keyId: string; error: string }>;
  /** Secrets under the active key once the run ends. */
  underActiveKey: number;
}

/**
 * Re-encrypts every TOTP secret that is not under the active key (`npm run cli -- rotate-keys`).
 * Safe while the service runs: rows are read in batches, and each is written back by one conditional UPDATE
 * that matches the exact ciphertext read, so a factor re-enrolled or removed meanwhile is never overwritten.
 * Run it after putting the new key first in ENCRYPTION_KEYS; remove the old key only once `failed` is empty.
 */
export async function rotateKeys(prisma: PrismaClient, keyring: Keyring, opts: { batchSize?: number; log?: (msg: string) => void } = {}): Promise<RotationReport> {
  const batchSize = opts.batchSize ?? 200;
  const report: RotationReport = { activeKeyId: keyring.activeKeyId, reencrypted: 0, skipped: 0, failed: [], underActiveKey: 0 };
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
        report.failed.push({ userId: row.userId, keyId: row.keyId, error: (err as Error).message });
        continue;
      }
      const sealed = sealSecret(keyring, row.userId, secret);
      const { count } = await prisma.mfaFactor.updateMany({ where: { userId: row.userId, keyId: row.keyId, secretEnc: { equals: row.secretEnc } }, data: sealed });
      if (count === 1) report.reencrypted++;
      else report.skipped++;
    }
    after = rows[rows.length - 1]?.userId;
    opts.log?.(`rotate-keys: ${report.reencrypted} re-encrypted so far`);
  }
  report.underActiveKey = await prisma.mfaFactor.count({ where: { keyId: keyring.activeKeyId } });
  return report;
}
