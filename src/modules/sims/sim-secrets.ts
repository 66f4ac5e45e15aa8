import type { Keyring } from "../../platform/crypto.js";

/**
 * PIN1 and PUK1 at rest (sims.pin_encrypted / puk_encrypted): AES-256-GCM under the keyring's active key, stored
 * as `<keyId>:<base64 of IV ‖ ciphertext ‖ tag>`. The ICCID and the column are the associated data, so a value
 * copied onto another SIM, or from the PIN column into the PUK one, does not decrypt. No route returns them.
 */
const aad = (column: "pin" | "puk", iccid: string) => `sims.${column}_encrypted:${iccid}`;

export function sealSimSecret(keyring: Keyring, column: "pin" | "puk", iccid: string, plain: string): string {
  const { keyId, data } = keyring.encrypt(plain, aad(column, iccid));
  return `${keyId}:${data.toString("base64")}`;
}

export function openSimSecret(keyring: Keyring, column: "pin" | "puk", iccid: string, sealed: string): string {
  const colon = sealed.indexOf(":");
  if (colon < 1) throw new Error(`sims.${column}_encrypted of ${iccid} is not <keyId>:<base64>`);
  return keyring.decrypt(sealed.slice(0, colon), Buffer.from(sealed.slice(colon + 1), "base64"), aad(column, iccid)).toString("utf8");
}
