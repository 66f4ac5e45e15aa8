import type { Keyring } from "../../platform/crypto.js";

/**
 * The TOTP secret at rest: AES-256-GCM under the keyring's active key, bound to its row by the user id as
 * associated data, so a ciphertext copied onto another user's row does not decrypt.
 */
const aad = (userId: string) => `mfa_factors.secret_enc:${userId}`;

export function sealSecret(keyring: Keyring, userId: string, secret: string): { keyId: string; secretEnc: Uint8Array<ArrayBuffer> } {
  const { keyId, data } = keyring.encrypt(secret, aad(userId));
  return { keyId, secretEnc: new Uint8Array(data) };
}

export function openSecret(keyring: Keyring, factor: { userId: string; keyId: string; secretEnc: Uint8Array }): string {
  return keyring.decrypt(factor.keyId, Buffer.from(factor.secretEnc), aad(factor.userId)).toString("utf8");
}
