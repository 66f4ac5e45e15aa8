import type { ApiKey } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import type { Actor } from "../access/principal.js";
import type { Scope } from "../access/scopes.js";
import { appendAudit, type SystemActor } from "../audit/audit.writer.js";
import { generateApiKey } from "./key-format.js";
import type { ApiKeyStatus, ApiKeyView } from "./api-keys.schemas.js";

/**
 * Writes shared by the API, the demo seeder and the leaked-key guard. Each takes the transaction client and
 * appends its audit event in that transaction.
 */
export const CREATED_BY = { select: { id: true, email: true, name: true } } as const;
export type ApiKeyRow = ApiKey & { createdBy: { id: string; email: string; name: string } | null };

export interface IssueInput {
  tenantId: string;
  name: string;
  scopes: readonly Scope[];
  expiresAt: Date | null;
  createdById: string | null;
}

/** Creates a key; returns its row and the secret, which exists only in this return value from now on. */
export async function issueApiKey(tx: Db, actor: Actor | SystemActor, input: IssueInput): Promise<{ row: ApiKeyRow; key: string }> {
  // The display prefix is unique; 8 random base62 characters make a clash very unlikely, but not impossible.
  let fresh = generateApiKey();
  let attempts = 1;
  while (await tx.apiKey.findUnique({ where: { prefix: fresh.prefix }, select: { id: true } })) {
    if (++attempts > 5) throw new Error("could not draw an unused API key prefix");
    fresh = generateApiKey();
  }
  const row = await tx.apiKey.create({
    data: {
      tenantId: input.tenantId,
      name: input.name,
      prefix: fresh.prefix,
      secretHash: fresh.secretHash,
      scopes: [...input.scopes],
      expiresAt: input.expiresAt,
      createdById: input.createdById,
    },
    include: { createdBy: CREATED_BY },
  });
  await appendAudit(tx, actor, {
    tenantId: input.tenantId,
    action: "api_key.created",
    targetType: "api_key",
    targetId: row.id,
    data: { name: row.name, prefix: row.prefix, scopes: row.scopes, expiresAt: row.expiresAt?.toISOString() ?? null },
  });
  return { row, key: fresh.key };
}

/** Revokes one key unless it already is; audits only an actual change. Returns whether it changed. */
export async function revokeApiKey(tx: Db, actor: Actor | SystemActor, key: Pick<ApiKey, "id" | "tenantId" | "prefix">, reason: string): Promise<boolean> {
  const { count } = await tx.apiKey.updateMany({ where: { id: key.id, revokedAt: null }, data: { revokedAt: new Date() } });
  if (count === 0) return false;
  await appendAudit(tx, actor, { tenantId: key.tenantId, action: "api_key.revoked", targetType: "api_key", targetId: key.id, data: { prefix: key.prefix, reason } });
  return true;
}

export function statusOf(k: Pick<ApiKey, "revokedAt" | "expiresAt">, now = new Date()): ApiKeyStatus {
  if (k.revokedAt) return "revoked";
  if (k.expiresAt && k.expiresAt <= now) return "expired";
  return "active";
}

/** The fields allowed out: never the hash. */
export function toView(k: ApiKeyRow): ApiKeyView {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes as Scope[],
    status: statusOf(k),
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: k.lastUsedIp,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    createdBy: k.createdBy ? { id: k.createdBy.id, email: k.createdBy.email, name: k.createdBy.name } : null,
  };
}
