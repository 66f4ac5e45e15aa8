import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Encryption of secrets at rest (TOTP secrets, webhook signing secrets, SIM PIN/PUK, stored idempotent answers): AES-256-GCM under a keyring read from ENCRYPTION_KEYS,
 * `kid:base64key[,kid:base64key...]`. The first key encrypts; every listed key decrypts, so a new key is put
 * first, `npm run cli -- rotate-keys` re-encrypts the rows, and only then is the old one dropped.
 * A ciphertext is `12-byte IV ‖ ciphertext ‖ 16-byte tag`; its key id is stored beside it.
 * The optional AAD binds a ciphertext to its row (e.g. the user id): copied onto another row it fails to decrypt.
 */
export interface Keyring {
  /** The id of the key that encrypts. */
  readonly activeKeyId: string;
  /** Every configured key id, the active one first. */
  readonly keyIds: readonly string[];
  encrypt(plain: Buffer | string, aad?: Buffer | string): { keyId: string; data: Buffer };
  decrypt(keyId: string, data: Buffer | Uint8Array, aad?: Buffer | string): Buffer;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,16}$/;

/** Parses the keyring; the messages name the offending key id but never print key material. */
export function createKeyring(spec: string): Keyring {
  const keys = new Map<string, Buffer>();
  for (const [index, entry] of spec.split(",").entries()) {
    const colon = entry.indexOf(":");
    const keyId = colon > 0 ? entry.slice(0, colon).trim() : "";
    const encoded = colon > 0 ? entry.slice(colon + 1).trim() : "";
    if (!KEY_ID.test(keyId)) throw new Error(`ENCRYPTION_KEYS entry ${index + 1} needs the form kid:base64key, kid being 1-16 of [A-Za-z0-9_-].`);
    if (keys.has(keyId)) throw new Error(`ENCRYPTION_KEYS lists the key id "${keyId}" twice.`);
    const key = Buffer.from(encoded, "base64");
    // Buffer.from ignores stray characters; re-encoding catches a truncated or mistyped key.
    if (key.length !== KEY_BYTES || key.toString("base64").replace(/=+$/, "") !== encoded.replace(/=+$/, "")) {
      throw new Error(`ENCRYPTION_KEYS key "${keyId}" must be ${KEY_BYTES} bytes in base64 (e.g. \`openssl rand -base64 32\`).`);
    }
    keys.set(keyId, key);
  }
  const keyIds = [...keys.keys()];
  const activeKeyId = keyIds[0];
  if (!activeKeyId) throw new Error("ENCRYPTION_KEYS holds no key.");

  const keyFor = (keyId: string): Buffer => {
    const key = keys.get(keyId);
    if (!key) throw new Error(`No encryption key with id "${keyId}" is configured (ENCRYPTION_KEYS holds ${keyIds.map((k) => `"${k}"`).join(", ")}); was a key removed before rotate-keys re-encrypted its data?`);
    return key;
  };

  return {
    activeKeyId,
    keyIds,
    encrypt(plain, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", keyFor(activeKeyId), iv, { authTagLength: TAG_BYTES });
      if (aad !== undefined) cipher.setAAD(Buffer.from(aad));
      const body = Buffer.concat([cipher.update(typeof plain === "string" ? Buffer.from(plain, "utf8") : plain), cipher.final()]);
      return { keyId: activeKeyId, data: Buffer.concat([iv, body, cipher.getAuthTag()]) };
    },
    decrypt(keyId, data, aad) {
      const key = keyFor(keyId);
      const bytes = Buffer.from(data);
      if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error(`Ciphertext under key "${keyId}" is too short to be ours.`);
      const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      if (aad !== undefined) decipher.setAAD(Buffer.from(aad));
      try {
        return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new Error(`Decryption under key "${keyId}" failed: the data or its associated data was altered, or the key is not the one that encrypted it.`);
      }
    },
  };
}

/** Lower-case hex SHA-256, for high-entropy tokens (API keys, recovery codes, refresh tokens): no salt needed. */
export function sha256Hex(input: string | Buffer): string {
  return createHash("sha256").update(input).digest("hex");
}

/** `bytes` random bytes as base64url (no padding): 32 bytes give 256 bits in 43 characters. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}
