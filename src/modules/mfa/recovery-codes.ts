import { randomBytes } from "node:crypto";
import { sha256Hex } from "../../platform/crypto.js";

/**
 * Single-use recovery codes: 10 per user, shown once, stored as SHA-256.
 * Each is 15 characters of Crockford base32 (lower case, no i, l, o, u) in three groups, `xxxxx-xxxxx-xxxxx`:
 * 75 bits, so even a leaked table of unsalted SHA-256 hashes cannot be searched offline (two groups, 50 bits,
 * would fall to one GPU in hours). Typing is forgiving: case, spaces and dashes are ignored, and o/i/l read as 0/1.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const GROUPS = 3;
const GROUP_LENGTH = 5;

/** What a client may send as a recovery code (before normalisation). */
export const RECOVERY_CODE_INPUT = /^[0-9A-Za-z]{5}[- ]?[0-9A-Za-z]{5}[- ]?[0-9A-Za-z]{5}$/;

export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    // 32 symbols: each random byte's low 5 bits pick one with no bias.
    const chars = [...randomBytes(GROUPS * GROUP_LENGTH)].map((b) => ALPHABET[b & 31]).join("");
    return Array.from({ length: GROUPS }, (_, g) => chars.slice(g * GROUP_LENGTH, (g + 1) * GROUP_LENGTH)).join("-");
  });
}

/** The canonical form: lower case, separators removed, look-alikes mapped; null when it cannot be a code. */
export function normaliseRecoveryCode(input: string): string | null {
  if (!RECOVERY_CODE_INPUT.test(input)) return null;
  const canonical = input.toLowerCase().replace(/[- ]/g, "").replace(/o/g, "0").replace(/[il]/g, "1");
  return [...canonical].every((c) => ALPHABET.includes(c)) ? canonical : null;
}

/** The stored form of a (normalised) code. */
export function hashRecoveryCode(canonical: string): string {
  return sha256Hex(`conekt-recovery:${canonical}`);
}
