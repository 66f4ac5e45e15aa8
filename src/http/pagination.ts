import { Type } from "typebox";
import { ValidationError } from "../platform/errors.js";

/** Cursor pagination (`limit`, `cursor` -> `nextCursor`). The cursor is opaque to clients: base64url JSON. */
export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: "Items per page." }),
  cursor: Type.Optional(Type.String({ maxLength: 200, pattern: "^[A-Za-z0-9_-]+$", description: "`nextCursor` of the previous page." })),
};

export function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodeCursor<K extends string>(cursor: string | undefined, keys: readonly K[]): Record<K, string> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
    if (keys.every((k) => typeof parsed[k] === "string")) return parsed as Record<K, string>;
  } catch {
    // fall through to the error below
  }
  throw new ValidationError("The cursor is not one this API issued.", [{ field: "/query/cursor", reason: "is not a valid cursor" }]);
}

/** Fetch limit + 1 rows; the extra one only tells whether another page exists. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => Record<string, string>): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
