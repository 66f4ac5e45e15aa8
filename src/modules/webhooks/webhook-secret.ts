import { randomBytes } from "node:crypto";
import type { Keyring } from "../../platform/crypto.js";

/**
 * An endpoint's signing secrets at rest. Standard Webhooks secrets are `whsec_` + base64 of 24-64 random bytes;
 * we draw 32. The column holds `<keyId>:<base64 AES-256-GCM ciphertext>` of a small JSON document: the current
 * secret and, for 24 hours after a rotation, the previous one, so receivers can switch without losing messages
 * (both signatures are sent meanwhile). The endpoint id is the associated data: a ciphertext copied onto
 * another endpoint's row does not decrypt.
 */
export const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;
/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

export interface SigningSecrets {
  current: string;
  previous?: { secret: string; until: string };
}

export const newSecret = (): string => SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64");

const aad = (endpointId: string) => `webhook_endpoints.secret_encrypted:${endpointId}`;

export function sealSecrets(keyring: Keyring, endpointId: string, secrets: SigningSecrets): string {
  const { keyId, data } = keyring.encrypt(JSON.stringify(secrets), aad(endpointId));
  return `${keyId}:${data.toString("base64")}`;
}

export function openSecrets(keyring: Keyring, endpointId: string, sealed: string): SigningSecrets {
  const colon = sealed.indexOf(":");
  if (colon < 1) throw new Error(`webhook endpoint ${endpointId}: the stored secret is not in the form keyId:ciphertext`);
  const plain = keyring.decrypt(sealed.slice(0, colon), Buffer.from(sealed.slice(colon + 1), "base64"), aad(endpointId));
  return JSON.parse(plain.toString("utf8")) as SigningSecrets;
}

/** The secrets that sign a message sent at `now`: the current one, and the previous one while it overlaps. */
export function activeSecrets(secrets: SigningSecrets, now = new Date()): string[] {
  const previous = secrets.previous && new Date(secrets.previous.until) > now ? [secrets.previous.secret] : [];
  return [secrets.current, ...previous];
}

/** After a rotation: a fresh current secret, the old one kept for the overlap. */
export function rotated(secrets: SigningSecrets, now = new Date()): SigningSecrets {
  return { current: newSecret(), previous: { secret: secrets.current, until: new Date(now.getTime() + ROTATION_OVERLAP_MS).toISOString() } };
}
