import { createHash } from "node:crypto";

/** The hash of the link before a tenant's first event. */
export const GENESIS_HASH = "0".repeat(64);

export interface ChainedFields {
  tenantId: string;
  seq: bigint;
  id: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  data: unknown;
}

/** JSON with object keys sorted at every depth, so the same event always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * hash_n = sha256(hash_{n-1} || canonical(event_n)): editing or deleting any row breaks every later link.
 * The fields are picked one by one, so a whole row (with its own hash columns) can be passed when verifying.
 */
export function linkHash(prevHash: string, e: ChainedFields): string {
  const fields: Record<keyof ChainedFields, unknown> = {
    tenantId: e.tenantId,
    seq: e.seq.toString(),
    id: e.id,
    at: e.at.toISOString(),
    actorType: e.actorType,
    actorId: e.actorId,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    ip: e.ip,
    userAgent: e.userAgent,
    requestId: e.requestId,
    data: e.data,
  };
  const body = canonicalJson(fields);
  return createHash("sha256").update(prevHash).update(body).digest("hex");
}
