/**
 * Shared shapes of `npm run cli -- rotate-keys` (src/modules/mfa/rotate-keys.ts), which re-encrypts every kind of
 * secret at rest under the keyring's active key. Each kind has its own module beside its owner:
 * mfa/rotate-totp.ts, webhooks/rotate-webhook-secrets.ts, sims/rotate-sim-secrets.ts.
 */

/** The kinds of secrets re-encrypted, as named in the report. */
export type SecretKind = "totp" | "webhookSecrets" | "simPins";

/** What a run did for one kind. Counts are secrets (a SIM's PIN and PUK count as two). */
export interface KindReport {
  /** Secrets found under another key and now under the active one. */
  reencrypted: number;
  /** Secrets whose row changed while being rotated: left as they are (a later run picks them up). */
  skipped: number;
  /** Secrets that could not be decrypted; each is listed in the report's `failed`. */
  failed: number;
  /** Secrets under the active key once the run ends. */
  underActiveKey: number;
}

/** A secret that could not be decrypted: where it is and why, never its value. */
export interface RotationFailure {
  kind: SecretKind;
  /** Schema-qualified table and the column, e.g. `connectivity.sims` / `pin_encrypted`. */
  table: string;
  column: string;
  /** The row's primary key. */
  id: string;
  /** The key id stored with the ciphertext ("" when the value is not `<keyId>:<base64>`). */
  keyId: string;
  error: string;
  /** TOTP only, as before: the user id (same as `id`). */
  userId?: string;
}

export interface KindRotationOptions {
  batchSize?: number;
  log?: (msg: string) => void;
}

export interface KindRotation {
  report: KindReport;
  failures: RotationFailure[];
}

export const emptyKindReport = (): KindReport => ({ reencrypted: 0, skipped: 0, failed: 0, underActiveKey: 0 });

/** The key id of a `<keyId>:<base64>` value. */
export function sealedKeyId(sealed: string): string {
  const colon = sealed.indexOf(":");
  return colon > 0 ? sealed.slice(0, colon) : "";
}

/**
 * The message to report for a failed open. Keyring and open-function errors name key ids and row ids only; a
 * parse error of a decrypted document could quote the plaintext, so it is replaced.
 */
export function failureMessage(err: unknown): string {
  if (err instanceof SyntaxError) return "Decrypted, but the plaintext is not in the expected format.";
  return err instanceof Error ? err.message : "Decryption failed.";
}
