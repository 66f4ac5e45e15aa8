import type { FastifyRequest } from "fastify";
import type { PrismaClient } from "../platform/db/database.js";
import { AppError, UnauthenticatedError } from "../platform/errors.js";
import type { ApiKeyPrincipal } from "../modules/access/principal.js";
import { SCOPES, type Scope } from "../modules/access/scopes.js";
import { revokeApiKey } from "../modules/api-keys/api-keys.repository.js";
import { API_KEY_MARKER, findKeyLikeTokens, hashApiKey, isWellFormedApiKey } from "../modules/api-keys/key-format.js";

/** One answer for every bad key (malformed, unknown, revoked, expired): nothing to learn by probing. */
const invalidKey = () => new UnauthenticatedError("The API key is invalid, revoked or expired.", "invalid_api_key");

/** lastUsedAt/lastUsedIp are written at most this often per key, so a busy client does not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;
const KNOWN_SCOPES = new Set<string>(SCOPES);

/**
 * `Authorization: Bearer ck_live_...`. The checksum turns away typos and garbage before the database is asked;
 * the lookup is by SHA-256 of the key (a unique index), so no secret is compared in application code.
 * Bearer requests need no CSRF token: a browser never attaches an Authorization header on its own.
 */
export async function resolveApiKeyPrincipal(prisma: PrismaClient, request: FastifyRequest): Promise<ApiKeyPrincipal> {
  const match = /^Bearer +(\S{1,200})\s*$/i.exec(request.headers.authorization ?? "");
  const key = match?.[1];
  if (!key || !isWellFormedApiKey(key)) throw invalidKey();

  const row = await prisma.apiKey.findUnique({
    where: { secretHash: hashApiKey(key) },
    select: { id: true, tenantId: true, scopes: true, expiresAt: true, revokedAt: true, lastUsedAt: true, tenant: { select: { kind: true, status: true } } },
  });
  const now = new Date();
  if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now) || row.tenant.status === "closed") throw invalidKey();

  const stale = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  if (!row.lastUsedAt || row.lastUsedAt < stale) {
    // Conditional: of concurrent requests in the same minute, one writes and the rest match no row.
    await prisma.apiKey.updateMany({
      where: { id: row.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: stale } }] },
      data: { lastUsedAt: now, lastUsedIp: request.ip.slice(0, 45) },
    });
  }
  return {
    kind: "api_key",
    keyId: row.id,
    tenantId: row.tenantId,
    tenantKind: row.tenant.kind,
    // A scope dropped from the code grants nothing, even if an old key still lists it.
    scopes: row.scopes.filter((s): s is Scope => KNOWN_SCOPES.has(s)),
  };
}

function decodedUrl(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

/**
 * Keys are accepted only in the Authorization header. A URL that carries one (query or path) is refused with
 * 400 `credentials_in_url`, and the key is revoked: URLs end up in access logs, proxy logs, browser history
 * and Referer headers, so the key must be treated as leaked. The answer is the same whether or not the key
 * was real, so it tells a prober nothing.
 */
export async function refuseCredentialsInUrl(prisma: PrismaClient, request: FastifyRequest): Promise<void> {
  const url = decodedUrl(request.url);
  if (!url.includes(API_KEY_MARKER)) return;
  const leaked = findKeyLikeTokens(url).filter(isWellFormedApiKey);
  for (const key of leaked) {
    const row = await prisma.apiKey.findUnique({ where: { secretHash: hashApiKey(key) }, select: { id: true, tenantId: true, prefix: true } });
    if (!row) continue;
    const actor = { name: "http:credentials_in_url", ip: request.ip, userAgent: request.headers["user-agent"]?.slice(0, 512) ?? null, requestId: String(request.id) };
    // Audited as `api_key.revoked` with reason `credentials_in_url`.
    await prisma.$transaction((tx) => revokeApiKey(tx, actor, row, "credentials_in_url"));
  }
  throw new AppError(
    400,
    "credentials_in_url",
    "Credentials in the URL",
    `API keys are accepted only as "Authorization: Bearer <key>". A key sent in a URL is treated as leaked and has been revoked if it was valid; create a new one.`,
  );
}
