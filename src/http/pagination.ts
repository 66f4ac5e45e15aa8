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

/** A cursor we did not issue (undecodable, or holding values we never put in one): 400. */
export const invalidCursor = () => new ValidationError("The cursor is not one this API issued.", [{ field: "/query/cursor", reason: "is not a valid cursor" }]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The (time, id) cursor of lists ordered newest first by a timestamp and then a UUID id. */
export function decodeTimeIdCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  const key = decodeCursor(cursor, ["at", "id"] as const);
  if (!key) return undefined;
  const at = new Date(key.at);
  if (Number.isNaN(at.getTime()) || !UUID.test(key.id)) throw invalidCursor();
  return { at, id: key.id };
}

export function decodeCursor<K extends string>(cursor: string | undefined, keys: readonly K[]): Record<K, string> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
    if (keys.every((k) => typeof parsed[k] === "string")) return parsed as Record<K, string>;
  } catch {
    // fall through to the error below
  }
  throw invalidCursor();
}

/** Fetch limit + 1 rows; the extra one only tells whether another page exists. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => Record<string, string>): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
