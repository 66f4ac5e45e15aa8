import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * The API key format: `ck_live_<random>_<checksum>`, like GitHub's tokens.
 * - The fixed `ck_live_` prefix lets secret scanners (and our own URL guard) recognise a leaked key.
 * - `<random>` is 32 base62 characters (~190 bits) from the CSPRNG.
 * - `<checksum>` is the CRC32 of everything before it, as 6 base62 characters: a scanner can tell a real key
 *   from a look-alike offline, and we reject typos and garbage without a database lookup.
 * Only the SHA-256 of the key is stored (the key is random enough that a slow hash adds nothing);
 * the first 16 characters are kept as `prefix` so people can tell their keys apart in lists.
 */
export const API_KEY_MARKER = "ck_live_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
export const DISPLAY_PREFIX_LENGTH = 16;
// Accepts 30-64 random characters so a future change of RANDOM_LENGTH keeps older keys valid.
const SHAPE = /^ck_live_[A-Za-z0-9]{30,64}_[A-Za-z0-9]{6}$/;
// The largest multiple of 62 below 256: bytes from 248 up are discarded, so every character is equally likely.
const UNBIASED_LIMIT = 248;

function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length + 8)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** Fixed-width base62 of a non-negative integer (CRC32 < 62^6, so 6 characters always suffice). */
function base62(n: number, width: number): string {
  let out = "";
  for (let rest = n; rest > 0; rest = Math.floor(rest / 62)) out = ALPHABET[rest % 62] + out;
  return out.padStart(width, "0");
}

export function checksumOf(body: string): string {
  return base62(crc32(body), CHECKSUM_LENGTH);
}

/** sha256 hex: what `ApiKey.secretHash` holds and what a presented key is looked up by. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export interface NewApiKey {
  /** The secret: shown to its creator once, never stored. */
  key: string;
  prefix: string;
  secretHash: string;
}

export function generateApiKey(): NewApiKey {
  const body = `${API_KEY_MARKER}${randomBase62(RANDOM_LENGTH)}`;
  const key = `${body}_${checksumOf(body)}`;
  return { key, prefix: key.slice(0, DISPLAY_PREFIX_LENGTH), secretHash: hashApiKey(key) };
}

/** The right shape and a matching checksum: worth a database lookup. */
export function isWellFormedApiKey(candidate: string): boolean {
  if (!SHAPE.test(candidate)) return false;
  const cut = candidate.length - CHECKSUM_LENGTH - 1;
  return checksumOf(candidate.slice(0, cut)) === candidate.slice(cut + 1);
}

/** Everything in `text` that looks like one of our keys (whatever its checksum), for leak handling. */
export function findKeyLikeTokens(text: string): string[] {
  return text.match(/ck_live_[A-Za-z0-9]{30,64}_[A-Za-z0-9]{6}/g) ?? [];
}
