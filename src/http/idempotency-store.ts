import type { Keyring } from "../platform/crypto.js";
import type { Db } from "../platform/db/database.js";

/**
 * enterprise.idempotency_keys: one row per (tenant, principal, key). A row without a response is a request
 * still being processed; with one, the answer to replay. Rows live 24 hours; an expired row counts as absent
 * (it is taken over by the next request with its key) until the hourly `idempotency.sweep` deletes it.
 *
 * Stored answers are encrypted with the service keyring: they include one-time reveals (API key secrets,
 * webhook signing secrets, recovery codes) that the database must not hold in clear text. The row's identity
 * is the associated data, so a ciphertext copied to another caller's row does not decrypt.
 * Key rotation: keep a retired key in ENCRYPTION_KEYS for 24 hours, until the answers it encrypted expired.
 */
export const IDEMPOTENCY_TTL_HOURS = 24;

/** The response headers a replay restores; cookies and rate-limit headers are never stored. */
export const REPLAYED_HEADERS = ["content-type", "location", "cache-control"] as const;

export interface IdempotencyScope {
  tenantId: string;
  /** The user or API key: a key means nothing outside its sender's own requests. */
  principalId: string;
  key: string;
}

export interface RequestIdentity {
  method: string;
  /** The URL as sent, path and query, cut to PATH_MAX. */
  path: string;
  requestHash: string;
}

export interface StoredAnswer {
  status: number;
  headers: Partial<Record<(typeof REPLAYED_HEADERS)[number], string>>;
  body: Buffer;
}

export interface PriorRequest extends RequestIdentity {
  /** Null while that request is still being processed. */
  answer: StoredAnswer | null;
}

export type Claim = { claimed: true } | { claimed: false; prior: PriorRequest };

/** The `path` column's width. */
export const PATH_MAX = 2048;

export function createIdempotencyStore(deps: { prisma: Db; keyring: Keyring }) {
  const { prisma, keyring } = deps;
  const aad = (s: IdempotencyScope) => `idempotency:${s.tenantId}:${s.principalId}:${s.key}`;
  const row = (s: IdempotencyScope) => ({ tenantId: s.tenantId, principalId: s.principalId, key: s.key });

  /**
   * Takes the key for this request, atomically: a new key (or an expired one) is claimed with an in-progress
   * row; otherwise the live row is returned. Two requests racing on one key: exactly one claims it.
   */
  async function claim(scope: IdempotencyScope, request: RequestIdentity): Promise<Claim> {
    const { path } = request;
    // A row can vanish between the two statements (its request failed and released it, or it expired and was
    // swept): then the key is free again and the claim is retried.
    for (let attempt = 0; attempt < 3; attempt++) {
      const claimed = await prisma.$queryRaw<Array<{ claimed: number }>>`
        INSERT INTO enterprise.idempotency_keys (tenant_id, principal_id, key, method, path, request_hash, expires_at)
        VALUES (${scope.tenantId}::uuid, ${scope.principalId}, ${scope.key}, ${request.method}, ${path}, ${request.requestHash},
                now() + make_interval(hours => ${IDEMPOTENCY_TTL_HOURS}::int))
        ON CONFLICT (tenant_id, principal_id, key) DO UPDATE SET
          method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
          response_status = NULL, response_headers = NULL, response_body = NULL,
          created_at = now(), expires_at = EXCLUDED.expires_at
        WHERE enterprise.idempotency_keys.expires_at <= now()
        RETURNING 1 AS claimed`;
      if (claimed.length) return { claimed: true };

      const [prior] = await prisma.$queryRaw<Array<{ method: string; path: string; request_hash: string; response_status: number | null; response_headers: StoredAnswer["headers"] | null; response_body: string | null }>>`
        SELECT method, path, request_hash, response_status, response_headers, response_body
        FROM enterprise.idempotency_keys
        WHERE tenant_id = ${scope.tenantId}::uuid AND principal_id = ${scope.principalId} AND key = ${scope.key} AND expires_at > now()`;
      if (!prior) continue;
      const answer =
        prior.response_status === null || prior.response_body === null
          ? null
          : { status: prior.response_status, headers: prior.response_headers ?? {}, body: open(scope, prior.response_body) };
      return { claimed: false, prior: { method: prior.method, path: prior.path, requestHash: prior.request_hash, answer } };
    }
    throw new Error("idempotency: the key was claimed and released three times in a row while this request tried to take it");
  }

  /** Records the answer of the request that claimed the key (only an in-progress row is completed). */
  async function complete(scope: IdempotencyScope, answer: StoredAnswer): Promise<void> {
    const sealed = keyring.encrypt(answer.body, aad(scope));
    await prisma.idempotencyKey.updateMany({
      where: { ...row(scope), responseStatus: null },
      data: { responseStatus: answer.status, responseHeaders: answer.headers, responseBody: `${sealed.keyId}:${sealed.data.toString("base64")}` },
    });
  }

  /** Frees the key of a request that did nothing durable (5xx, refusal), so the client's retry runs anew. */
  async function release(scope: IdempotencyScope): Promise<void> {
    await prisma.idempotencyKey.deleteMany({ where: { ...row(scope), responseStatus: null } });
  }

  function open(scope: IdempotencyScope, stored: string): Buffer {
    const colon = stored.indexOf(":");
    return keyring.decrypt(stored.slice(0, colon), Buffer.from(stored.slice(colon + 1), "base64"), aad(scope));
  }

  return { claim, complete, release };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;

/** Deletes expired rows in batches (short statements, no long lock); returns how many. */
export async function sweepExpiredIdempotencyKeys(prisma: Db, batchSize = 5_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await prisma.$executeRaw`
      DELETE FROM enterprise.idempotency_keys
      WHERE (tenant_id, principal_id, key) IN (
        SELECT tenant_id, principal_id, key FROM enterprise.idempotency_keys WHERE expires_at <= now() LIMIT ${batchSize}::int)`;
    deleted += n;
    if (n < batchSize) return deleted;
  }
}
