import { principalId, type Actor } from "../access/principal.js";
import type { SystemActor } from "../audit/audit.writer.js";

/** Who a SIM history row names as its actor: the same (type, id) the audit log records. */
export function eventActor(actor: Actor | SystemActor): { type: "user" | "api_key" | "system"; id: string | null } {
  if ("principal" in actor && actor.principal) return { type: actor.principal.kind, id: principalId(actor.principal) };
  return { type: "system", id: "name" in actor ? actor.name : null };
}

/**
 * A UUIDv7 computed in SQL (PostgreSQL 15 has no uuidv7()): the millisecond clock in the first 48 bits, version
 * 7 and variant bits set, the rest random. Set-based inserts use it so their rows get the same time-ordered ids
 * Prisma's `@default(uuid(7))` gives rows created through the client.
 */
export const UUID_V7_SQL = `encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid`;
