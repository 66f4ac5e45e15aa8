/**
 * BigInt-safe JSON for replies without a response schema (fast-json-stringify handles schema'd ones).
 * A bigint becomes a JSON number while it is exactly representable (|n| <= 2^53 - 1), else a string;
 * fields that may exceed 2^53 are declared as strings in openapi.yaml and converted by their services.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== "bigint") return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
}

export const stringifyJson = (payload: unknown): string => JSON.stringify(payload, jsonReplacer);
