// The hash chain: every edit or deletion is found and named, an intact chain of thousands of concurrently
// appended events verifies, and verification streams through the chain in batches.

import t from "tap";
import { GENESIS_HASH, linkHash } from "../../src/modules/audit/audit.chain.js";
import { verifyChain } from "../../src/modules/audit/audit.verify.js";
import { appendAudit, systemActor } from "../../src/modules/audit/audit.writer.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { seedEvents, tamper } from "./helpers.js";

const { prisma, databaseUrl } = await build(t);

/** A fresh tenant with `n` chained events. */
async function chainOf(n: number) {
  const tenant = await createTenant(prisma);
  await seedEvents(prisma, tenant.id, n);
  return tenant.id;
}
const idAt = async (tenantId: string, seq: number) => (await prisma.auditEvent.findUniqueOrThrow({ where: { tenantId_seq: { tenantId, seq: BigInt(seq) } } })).id;

// Small batches, so every case also crosses batch boundaries.
const BATCH = { batchSize: 3 };

t.test("an intact chain verifies; an empty one too", async (t) => {
  const tenantId = await chainOf(25);
  t.same(await verifyChain(prisma, tenantId, BATCH), { ok: true, checked: 25, tenantId });
  t.same(await verifyChain(prisma, tenantId), { ok: true, checked: 25, tenantId }, "default batch size");
  const empty = await createTenant(prisma);
  t.same(await verifyChain(prisma, empty.id, BATCH), { ok: true, checked: 0, tenantId: empty.id });
});

t.test("editing any field of a middle event is a hash_mismatch at exactly that event", async (t) => {
  const edits: Record<string, string> = {
    action: "action = 'tenant.deleted'",
    data: `data = '{"i": 999}'::jsonb`,
    time: "at = at + interval '1 millisecond'",
    ip: "ip = '203.0.113.66'",
    actor: "actor_id = 'someone-else'",
    target: "target_id = 'sim-other'",
    "user agent": "user_agent = 'curl/8'",
    "request id": "request_id = 'forged'",
    "actor type": "actor_type = 'user'",
  };
  for (const [field, set] of Object.entries(edits)) {
    const tenantId = await chainOf(10);
    t.equal(await tamper(databaseUrl, `UPDATE enterprise.audit_events SET ${set} WHERE tenant_id = $1 AND seq = 5`, [tenantId]), 1);
    t.same(await verifyChain(prisma, tenantId, BATCH), { ok: false, checked: 4, tenantId, firstBroken: { seq: 5, id: await idAt(tenantId, 5), reason: "hash_mismatch" } }, `edited ${field}`);
  }
});

t.test("an edited event given a fresh hash breaks the next link", async (t) => {
  const tenantId = await chainOf(10);
  const row = await prisma.auditEvent.findUniqueOrThrow({ where: { tenantId_seq: { tenantId, seq: 5n } } });
  const forged = { ...row, action: "tenant.deleted" };
  await tamper(databaseUrl, "UPDATE enterprise.audit_events SET action = $2, hash = $3 WHERE tenant_id = $1 AND seq = 5", [tenantId, forged.action, linkHash(row.prevHash, forged)]);
  t.same(await verifyChain(prisma, tenantId, BATCH), { ok: false, checked: 5, tenantId, firstBroken: { seq: 6, id: await idAt(tenantId, 6), reason: "prev_hash_mismatch" } });
});

t.test("an event re-pointed at another predecessor is a prev_hash_mismatch", async (t) => {
  const tenantId = await chainOf(10);
  await tamper(databaseUrl, "UPDATE enterprise.audit_events SET prev_hash = $2 WHERE tenant_id = $1 AND seq = 7", [tenantId, GENESIS_HASH]);
  t.same(await verifyChain(prisma, tenantId, BATCH), { ok: false, checked: 6, tenantId, firstBroken: { seq: 7, id: await idAt(tenantId, 7), reason: "prev_hash_mismatch" } });
});

t.test("a deleted event shows as the gap it leaves", async (t) => {
  const middle = await chainOf(10);
  await tamper(databaseUrl, "DELETE FROM enterprise.audit_events WHERE tenant_id = $1 AND seq = 5", [middle]);
  t.same(await verifyChain(prisma, middle, BATCH), { ok: false, checked: 4, tenantId: middle, firstBroken: { seq: 5, reason: "missing" } });

  const first = await chainOf(4);
  await tamper(databaseUrl, "DELETE FROM enterprise.audit_events WHERE tenant_id = $1 AND seq = 1", [first]);
  t.same(await verifyChain(prisma, first, BATCH), { ok: false, checked: 0, tenantId: first, firstBroken: { seq: 1, reason: "missing" } }, "the first event");

  // Deleting a run and renumbering what follows still fails: the renumbered event's hash covers its seq.
  const renumbered = await chainOf(6);
  await tamper(databaseUrl, "DELETE FROM enterprise.audit_events WHERE tenant_id = $1 AND seq = 3", [renumbered]);
  for (const seq of [4, 5, 6]) await tamper(databaseUrl, "UPDATE enterprise.audit_events SET seq = seq - 1 WHERE tenant_id = $1 AND seq = $2", [renumbered, seq]);
  const result = await verifyChain(prisma, renumbered, BATCH);
  t.equal(result.ok, false);
  t.equal(result.firstBroken?.seq, 3, "renumbered: broken at the first renumbered event");
});

t.test("deleting or rewriting the newest event is found through the chain head", async (t) => {
  const deleted = await chainOf(10);
  await tamper(databaseUrl, "DELETE FROM enterprise.audit_events WHERE tenant_id = $1 AND seq = 10", [deleted]);
  t.same(await verifyChain(prisma, deleted, BATCH), { ok: false, checked: 9, tenantId: deleted, firstBroken: { seq: 10, reason: "head_mismatch" } }, "newest deleted");

  const all = await chainOf(3);
  await tamper(databaseUrl, "DELETE FROM enterprise.audit_events WHERE tenant_id = $1", [all]);
  t.same(await verifyChain(prisma, all, BATCH), { ok: false, checked: 0, tenantId: all, firstBroken: { seq: 1, reason: "head_mismatch" } }, "every event deleted");

  const rewritten = await chainOf(10);
  const last = await prisma.auditEvent.findUniqueOrThrow({ where: { tenantId_seq: { tenantId: rewritten, seq: 10n } } });
  const forged = { ...last, action: "nothing.happened" };
  await tamper(databaseUrl, "UPDATE enterprise.audit_events SET action = $2, hash = $3 WHERE tenant_id = $1 AND seq = 10", [rewritten, forged.action, linkHash(last.prevHash, forged)]);
  t.same(await verifyChain(prisma, rewritten, BATCH), { ok: false, checked: 10, tenantId: rewritten, firstBroken: { seq: 10, id: last.id, reason: "head_mismatch" } }, "newest rewritten with a consistent hash");

  const headless = await chainOf(4);
  await tamper(databaseUrl, "DELETE FROM enterprise.audit_chain_heads WHERE tenant_id = $1", [headless]);
  t.same(await verifyChain(prisma, headless, BATCH), { ok: false, checked: 4, tenantId: headless, firstBroken: { seq: 4, id: await idAt(headless, 4), reason: "head_mismatch" } }, "head row removed");
});

t.test("an event slipped in past the head is found", async (t) => {
  const tenantId = await chainOf(5);
  const last = await prisma.auditEvent.findUniqueOrThrow({ where: { tenantId_seq: { tenantId, seq: 5n } } });
  const extra = { ...last, seq: 6n, id: "0190a000-0000-7000-8000-000000000006", action: "forged.event" };
  await tamper(
    databaseUrl,
    `INSERT INTO enterprise.audit_events (tenant_id, seq, id, at, actor_type, actor_id, action, target_type, target_id, ip, user_agent, request_id, data, prev_hash, hash)
     SELECT tenant_id, 6, $2, at, actor_type, actor_id, $3, target_type, target_id, ip, user_agent, request_id, data, hash, $4 FROM enterprise.audit_events WHERE tenant_id = $1 AND seq = 5`,
    [tenantId, extra.id, extra.action, linkHash(last.hash, extra)],
  );
  t.same(await verifyChain(prisma, tenantId, BATCH), { ok: false, checked: 5, tenantId, firstBroken: { seq: 6, id: extra.id, reason: "head_mismatch" } });
});

t.test("2,500 events appended from 10 concurrent writers form one gapless chain", async (t) => {
  const tenant = await createTenant(prisma);
  const writers = 10;
  const perWriter = 250;
  // Each writer commits 25 transactions of 10 events, so the writers' transactions interleave on the head lock.
  await Promise.all(
    Array.from({ length: writers }, (_, w) =>
      seedEvents(prisma, tenant.id, perWriter, (i) => ({ action: "test.concurrent", targetType: "writer", targetId: `w${w}`, data: { w, i } }), { perTransaction: 10 }),
    ),
  );
  const rows = await prisma.auditEvent.findMany({ where: { tenantId: tenant.id }, select: { seq: true, targetId: true }, orderBy: { seq: "asc" } });
  t.equal(rows.length, writers * perWriter, "every event stored");
  t.same(rows.map((r) => Number(r.seq)), Array.from({ length: writers * perWriter }, (_, i) => i + 1), "seq runs 1..2500 without gaps or duplicates");
  t.ok(rows.slice(0, 50).some((r) => r.targetId !== rows[0]!.targetId), "writers interleaved");
  t.same(await prisma.auditChainHead.findUnique({ where: { tenantId: tenant.id }, select: { seq: true } }), { seq: 2500n });
  t.same(await verifyChain(prisma, tenant.id), { ok: true, checked: 2500, tenantId: tenant.id });
});

t.test("appends without a caller's transaction are serialised too", async (t) => {
  const tenant = await createTenant(prisma);
  const actor = systemActor("test:loose");
  // Passed the root client (as a refusal or a failed sign-in is written), the writer opens its own transaction.
  const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => appendAudit(prisma, actor, { tenantId: tenant.id, action: "test.loose", data: { i } })));
  t.same(results.filter((r) => r.status === "rejected"), [], "no append failed");
  t.equal(await prisma.auditEvent.count({ where: { tenantId: tenant.id } }), 40);
  t.same(await verifyChain(prisma, tenant.id), { ok: true, checked: 40, tenantId: tenant.id });
});

t.test("data is hashed as stored: dates, undefined members and nested keys in any order", async (t) => {
  const tenant = await createTenant(prisma);
  await appendAudit(prisma, systemActor("test"), { tenantId: tenant.id, action: "test.data", data: { when: new Date("2026-11-01T10:00:00Z"), gone: undefined, nested: { z: 1, a: [1, "x", null] } } });
  const row = await prisma.auditEvent.findFirstOrThrow({ where: { tenantId: tenant.id } });
  t.same(row.data, { when: "2026-11-01T10:00:00.000Z", nested: { a: [1, "x", null], z: 1 } });
  t.same(await verifyChain(prisma, tenant.id), { ok: true, checked: 1, tenantId: tenant.id });
});
