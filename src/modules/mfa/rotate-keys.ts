import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { KindReport, KindRotation, KindRotationOptions, RotationFailure, SecretKind } from "../../platform/rotation.js";
import { rotateSimSecrets } from "../sims/rotate-sim-secrets.js";
import { rotateWebhookSecrets } from "../webhooks/rotate-webhook-secrets.js";
import { rotateTotpSecrets } from "./rotate-totp.js";

export type { KindReport, RotationFailure, SecretKind } from "../../platform/rotation.js";

export interface RotationReport {
  activeKeyId: string;
  /** Totals over every kind: secrets found under another key and now under the active one. */
  reencrypted: number;
  /** Totals: secrets whose row changed while being rotated (re-enrolled, secret rotated, removed): left as they are. */
  skipped: number;
  /** Every secret that could not be decrypted (its key is not configured, or the data is damaged), with its kind and row. */
  failed: RotationFailure[];
  /** Totals: secrets under the active key once the run ends. */
  underActiveKey: number;
  /** The same counts per kind. */
  kinds: Record<SecretKind, KindReport>;
}

/** Every kind of long-lived secret at rest, in the order rotated. Idempotency-Key answers live 24 h and are not here. */
const KINDS: ReadonlyArray<[SecretKind, (prisma: PrismaClient, keyring: Keyring, opts: KindRotationOptions) => Promise<KindRotation>]> = [
  ["totp", rotateTotpSecrets],
  ["webhookSecrets", rotateWebhookSecrets],
  ["simPins", rotateSimSecrets],
];

/**
 * Re-encrypts every secret at rest that is not under the active key (`npm run cli -- rotate-keys`): TOTP secrets,
 * webhook signing secrets (current and previous), SIM PIN/PUK. Safe while the service runs: each kind is read in
 * batches, and written back conditionally on the exact ciphertext read, so a value changed meanwhile is never
 * overwritten (it is counted in `skipped`; run again). Run it after putting the new key first in ENCRYPTION_KEYS;
 * remove the old key only once `failed` is empty (and 24 h have passed, for stored Idempotency-Key answers).
 * `batchSize` applies to every kind (default: 200 rows, 2,000 for SIMs).
 */
export async function rotateKeys(prisma: PrismaClient, keyring: Keyring, opts: KindRotationOptions = {}): Promise<RotationReport> {
  const report: RotationReport = { activeKeyId: keyring.activeKeyId, reencrypted: 0, skipped: 0, failed: [], underActiveKey: 0, kinds: {} as Record<SecretKind, KindReport> };
  for (const [kind, rotate] of KINDS) {
    const { report: counts, failures } = await rotate(prisma, keyring, opts);
    report.kinds[kind] = counts;
    report.reencrypted += counts.reencrypted;
    report.skipped += counts.skipped;
    report.underActiveKey += counts.underActiveKey;
    // A loop, not push(...failures): a lost key can leave 100,000s of SIM values, more than a call's arguments.
    for (const f of failures) report.failed.push(f);
  }
  return report;
}
