/**
 * BigInt-safe JSON for bodies we serialise ourselves (streams, exports, job payloads). Route replies go through
 * their response schemas (fast-json-stringify), where byte counts are declared as integers or strings.
 * A bigint becomes a JSON number while it is exactly representable (|n| <= 2^53 - 1), else a string.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== "bigint") return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
}

export const stringifyJson = (payload: unknown): string => JSON.stringify(payload, jsonReplacer);
