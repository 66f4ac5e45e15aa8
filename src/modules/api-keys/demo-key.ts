import type { Db } from "../../platform/db/database.js";
import { ROLE_SCOPES } from "../access/scopes.js";
import type { SystemActor } from "../audit/audit.writer.js";
import { issueApiKey, revokeApiKey } from "./api-keys.repository.js";

export const DEMO_KEY_NAME = "demo";

/**
 * The demo tenant's admin-scoped API key, for trying the API from a shell. Its secret is printed once, so each
 * `demo` run revokes the previous demo key and issues a new one rather than leaving forgotten keys active.
 */
export async function reissueDemoApiKey(tx: Db, actor: SystemActor, input: { tenantId: string; adminUserId: string }): Promise<string> {
  const previous = await tx.apiKey.findMany({ where: { tenantId: input.tenantId, name: DEMO_KEY_NAME, revokedAt: null }, select: { id: true, tenantId: true, prefix: true } });
  for (const key of previous) await revokeApiKey(tx, actor, key, "demo_reissued");
  const { key } = await issueApiKey(tx, actor, { tenantId: input.tenantId, name: DEMO_KEY_NAME, scopes: ROLE_SCOPES.admin, expiresAt: null, createdById: input.adminUserId });
  return key;
}
