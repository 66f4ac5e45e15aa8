import type { Db } from "../../platform/db/database.js";
import { NotFoundError } from "../../platform/errors.js";
import { GENESIS_HASH, linkHash } from "./audit.chain.js";
import type { AuditVerification, BrokenReason } from "./audit.schemas.js";

/** Events read per query: a chain of millions is streamed through in this many rows at a time. */
export const VERIFY_BATCH = 1000;

/**
 * Recomputes one tenant's hash chain from its first event and names the first broken link:
 * - `missing`: a gap in `seq` (a deleted row), reported at the first absent seq;
 * - `prev_hash_mismatch`: the row does not point at the hash of the row before it;
 * - `hash_mismatch`: the row's fields no longer produce its hash (an edited row);
 * - `head_mismatch`: the last row disagrees with `audit_chain_heads` (the newest row deleted or rewritten),
 *   or rows exist beyond the head.
 * The head is read first and only events up to it are checked, so appends running meanwhile (which move the
 * head and add later rows in one transaction) neither disturb nor lengthen the check. No long transaction:
 * each batch is one keyset query on the (tenant_id, seq) primary key.
 */
export async function verifyChain(db: Db, tenantId: string, opts: { batchSize?: number } = {}): Promise<AuditVerification> {
  const batchSize = opts.batchSize ?? VERIFY_BATCH;
  const head = await db.auditChainHead.findUnique({ where: { tenantId }, select: { seq: true, hash: true } });
  let checked = 0;
  const broken = (seq: bigint, reason: BrokenReason, id?: string): AuditVerification => ({
    ok: false,
    checked,
    tenantId,
    firstBroken: { seq: Number(seq), ...(id ? { id } : {}), reason },
  });

  let prevHash = GENESIS_HASH;
  let last: { seq: bigint; id: string; hash: string } | undefined;
  for (;;) {
    const rows = await db.auditEvent.findMany({
      where: { tenantId, seq: { gt: last?.seq ?? 0n, ...(head ? { lte: head.seq } : {}) } },
      orderBy: { seq: "asc" },
      take: batchSize,
    });
    for (const row of rows) {
      const expected = (last?.seq ?? 0n) + 1n;
      if (row.seq !== expected) return broken(expected, "missing");
      if (row.prevHash !== prevHash) return broken(row.seq, "prev_hash_mismatch", row.id);
      if (linkHash(row.prevHash, row) !== row.hash) return broken(row.seq, "hash_mismatch", row.id);
      checked++;
      prevHash = row.hash;
      last = { seq: row.seq, id: row.id, hash: row.hash };
    }
    if (rows.length < batchSize) break;
  }

  if (!head) {
    // No head but events: the head row was removed (the writer would restart the chain and collide).
    return last ? broken(last.seq, "head_mismatch", last.id) : { ok: true, checked, tenantId };
  }
  const lastSeq = last?.seq ?? 0n;
  if (lastSeq < head.seq) return broken(lastSeq + 1n, "head_mismatch");
  if (last && last.hash !== head.hash) return broken(last.seq, "head_mismatch", last.id);
  if (!last && head.hash !== GENESIS_HASH) return broken(1n, "head_mismatch");

  // Rows beyond the head were not written by the writer, unless an append committed since the head was read.
  const beyond = await db.auditEvent.findFirst({ where: { tenantId, seq: { gt: head.seq } }, orderBy: { seq: "asc" }, select: { seq: true, id: true } });
  if (beyond) {
    const now = await db.auditChainHead.findUnique({ where: { tenantId }, select: { seq: true } });
    if (now?.seq === head.seq) return broken(beyond.seq, "head_mismatch", beyond.id);
  }
  return { ok: true, checked, tenantId };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The operator's form (`audit verify --tenant <slug|id>`): one tenant, or every tenant in id order. */
export async function verifyTenants(db: Db, tenant?: string): Promise<Array<AuditVerification & { slug: string }>> {
  if (tenant !== undefined) {
    const found = await db.tenant.findFirst({ where: UUID.test(tenant) ? { id: tenant.toLowerCase() } : { slug: tenant }, select: { id: true, slug: true } });
    if (!found) throw new NotFoundError(`Tenant "${tenant}"`);
    return [{ ...(await verifyChain(db, found.id)), slug: found.slug }];
  }
  const results: Array<AuditVerification & { slug: string }> = [];
  let after: string | undefined;
  for (;;) {
    const tenants = await db.tenant.findMany({ where: after ? { id: { gt: after } } : {}, orderBy: { id: "asc" }, take: 100, select: { id: true, slug: true } });
    for (const t of tenants) results.push({ ...(await verifyChain(db, t.id)), slug: t.slug });
    if (tenants.length < 100) return results;
    after = tenants[tenants.length - 1]!.id;
  }
}
