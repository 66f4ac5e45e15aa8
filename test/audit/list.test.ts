// GET /v1/audit-events and /verify: filters, cursor pagination newest first, who may read, and that no caller
// ever sees another tenant's events.

import t from "tap";
import { issueApiKey } from "../../src/modules/api-keys/api-keys.repository.js";
import type { Scope } from "../../src/modules/access/scopes.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { verifyChain } from "../../src/modules/audit/audit.verify.js";
import { build } from "../helpers/build.js";
import { Client, type Reply } from "../helpers/client.js";
import { createUser, createWorld } from "../helpers/factories.js";
import { seedEvents, tamper } from "./helpers.js";

const { app, prisma, client, databaseUrl } = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "1000" });
const w = await createWorld(prisma);
const platformAdmin = await createUser(prisma, { tenantId: w.platform.id, role: "admin" });

// Tenant A: 30 "widget" events in two rounds (for the time filters); tenant B: 10 of its own.
const widget = (i: number) => ({
  action: ["widget.created", "widget.updated", "widgetx.deleted"][i % 3]!,
  targetType: "widget",
  targetId: `w-${i % 5}`,
  subjectUserId: i % 2 ? "actor-odd" : "actor-even",
  data: { i },
});
await seedEvents(prisma, w.tenantA.id, 15, widget);
await new Promise((r) => setTimeout(r, 20));
const boundary = new Date();
await new Promise((r) => setTimeout(r, 20));
await seedEvents(prisma, w.tenantA.id, 15, (i) => widget(i + 15));
await seedEvents(prisma, w.tenantB.id, 10, widget);

async function signedIn(user: { email: string; password: string }): Promise<Client> {
  const c = client();
  const res = await c.login(user.email, user.password);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  return c;
}
async function keyClient(tenantId: string, scopes: Scope[]): Promise<Client> {
  const { key } = await prisma.$transaction((tx) => issueApiKey(tx, systemActor("test"), { tenantId, name: "audit test", scopes, expiresAt: null, createdById: null }));
  return new Client(app, { headers: { authorization: `Bearer ${key}` } });
}
const widgetIs = (res: Reply) => res.json.items.map((e: { data: { i: number } }) => e.data.i);

t.test("owners and admins read their tenant's log, newest first, with every recorded field", async (t) => {
  const owner = await signedIn(w.usersA.owner);
  const res = await owner.get("/v1/audit-events?targetType=widget&limit=3");
  t.equal(res.status, 200);
  t.same(widgetIs(res), [29, 28, 27], "newest first");
  const e = res.json.items[0];
  t.match(e, { tenantId: w.tenantA.id, action: "widgetx.deleted", actorType: "user", actorId: "actor-odd", targetType: "widget", targetId: "w-4", ip: "192.0.2.10", userAgent: "seed/1.0", requestId: "seed", data: { i: 29 } });
  t.notOk("hash" in e || "prevHash" in e, "the chain's hashes stay inside");
  const seqs = res.json.items.map((x: { seq: number }) => x.seq);
  t.ok(seqs[0] > seqs[1] && seqs[1] > seqs[2], "seq descending");

  const admin = await signedIn(w.usersA.admin);
  t.equal((await admin.get("/v1/audit-events")).status, 200);
  // The owner's own sign-in is in the log.
  const logins = await owner.get(`/v1/audit-events?action=auth.login_succeeded&targetId=${w.usersA.owner.id}`);
  t.equal(logins.json.items.length, 1);
  t.equal(logins.json.items[0].actorId, w.usersA.owner.id);
});

t.test("filters: exact action, action prefix, actor, target, time window", async (t) => {
  const owner = await signedIn(w.usersA.owner);
  const get = async (q: string) => {
    const res = await owner.get(`/v1/audit-events?limit=500&${q}`);
    t.equal(res.status, 200, q);
    return widgetIs(res).sort((a: number, b: number) => a - b);
  };
  const range = (pred: (i: number) => boolean) => Array.from({ length: 30 }, (_, i) => i).filter(pred);
  t.same(await get("action=widget.updated"), range((i) => i % 3 === 1), "exact action");
  t.same(await get("action=widget.*"), range((i) => i % 3 !== 2), "prefix: widget.* excludes widgetx.*");
  t.same(await get("action=widgetx.*"), range((i) => i % 3 === 2));
  t.same(await get("actorId=actor-odd&targetType=widget"), range((i) => i % 2 === 1), "actor");
  t.same(await get("targetType=widget&targetId=w-3"), range((i) => i % 5 === 3), "target");
  t.same(await get(`targetType=widget&from=${boundary.toISOString()}`), range((i) => i >= 15), "from: at or after");
  t.same(await get(`targetType=widget&to=${boundary.toISOString()}`), range((i) => i < 15), "to: before");
  t.same(await get(`targetType=widget&action=widget.created&actorId=actor-even&from=${boundary.toISOString()}`), range((i) => i >= 15 && i % 3 === 0 && i % 2 === 0), "combined");
  t.same(await get("action=nothing.here"), [], "no match");
});

t.test("the cursor pages through everything exactly once", async (t) => {
  const owner = await signedIn(w.usersA.owner);
  const seen: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: Reply = await owner.get(`/v1/audit-events?targetType=widget&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
    t.equal(res.status, 200);
    t.ok(res.json.items.length <= 7);
    seen.push(...widgetIs(res));
    cursor = res.json.nextCursor;
    pages++;
  } while (cursor && pages < 10);
  t.equal(pages, 5);
  t.same(seen, Array.from({ length: 30 }, (_, i) => 29 - i), "newest first, no repeats, none skipped");

  const bad = await owner.get("/v1/audit-events?cursor=bm90LWEtY3Vyc29y");
  t.equal(bad.status, 400);
  t.equal(bad.json.errors[0].field, "/query/cursor");

  // A cursor of tenant A's log does not continue in another tenant's.
  const staff = await signedIn(platformAdmin);
  const first = await staff.get(`/v1/audit-events?tenantId=${w.tenantA.id}&limit=1`);
  const cross = await staff.get(`/v1/audit-events?tenantId=${w.tenantB.id}&cursor=${first.json.nextCursor}`);
  t.equal(cross.status, 400);
  t.equal(cross.json.errors[0].field, "/query/cursor");
});

t.test("bad filters are refused naming the field", async (t) => {
  const owner = await signedIn(w.usersA.owner);
  const cases: Array<[string, string]> = [
    ["action=Auth.Login", "/query/action"],
    ["action=auth.*.x", "/query/action"],
    [`action=${"a".repeat(65)}`, "/query/action"],
    ["actorId=a%20b", "/query/actorId"],
    ["targetType=Widget", "/query/targetType"],
    ["from=yesterday", "/query/from"],
    ["to=2026-13-01T00:00:00Z", "/query/to"],
    ["from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "/query/to"],
    ["tenantId=not-a-uuid", "/query/tenantId"],
    ["limit=501", "/query/limit"],
    ["colour=red", "/query/colour"],
  ];
  for (const [q, field] of cases) {
    const res = await owner.get(`/v1/audit-events?${q}`);
    t.equal(res.status, 400, q);
    // Ajv's errors name the querystring `/querystring/...` today, the services' `/query/...`: accept both.
    const named = (e: { field: string }) => e.field.replace(/^\/querystring\//, "/query/") === field;
    t.ok(res.json.errors?.some(named), `${q} names ${field}`, { errors: res.json.errors });
  }
});

t.test("other roles are refused; nobody sees another tenant's events", async (t) => {
  for (const role of ["operator", "billing", "viewer"] as const) {
    const member = await signedIn(w.usersA[role]);
    const res = await member.get("/v1/audit-events");
    t.equal(res.status, 403, `${role}: 403`);
    t.equal(res.json.code, "forbidden");
    t.equal((await member.get("/v1/audit-events/verify")).status, 403, `${role}: verify 403`);
  }
  t.equal((await client().get("/v1/audit-events")).status, 401, "anonymous: 401");

  const adminB = await signedIn(w.usersB.admin);
  const own = await adminB.get("/v1/audit-events?limit=500");
  t.equal(own.status, 200);
  t.ok(own.json.items.length >= 10);
  t.ok(own.json.items.every((e: { tenantId: string }) => e.tenantId === w.tenantB.id), "B's admin: only B's events");
  for (const path of ["/v1/audit-events", "/v1/audit-events/verify"]) {
    const other = await adminB.get(`${path}?tenantId=${w.tenantA.id}`);
    t.equal(other.status, 404, `${path}: another tenant's log is not found`);
    t.equal(other.json.code, "not_found");
  }
  // Filters naming A's actors or targets still stay inside B.
  const probe = await adminB.get(`/v1/audit-events?actorId=${w.usersA.owner.id}`);
  t.same(probe.json.items, []);

  // Platform staff: owners/admins read any tenant (their own by default); other staff roles are refused.
  const staff = await signedIn(platformAdmin);
  const ownLog = await staff.get("/v1/audit-events?limit=500");
  t.ok(ownLog.json.items.length > 0 && ownLog.json.items.every((e: { tenantId: string }) => e.tenantId === w.platform.id), "staff default: the platform's own log");
  const a = await staff.get(`/v1/audit-events?tenantId=${w.tenantA.id}&targetType=widget&limit=500`);
  t.equal(a.status, 200);
  t.equal(a.json.items.length, 30);
  t.ok(a.json.items.every((e: { tenantId: string }) => e.tenantId === w.tenantA.id));
  const missing = await staff.get("/v1/audit-events?tenantId=00000000-0000-4000-8000-000000000000");
  t.equal(missing.status, 404, "staff: an unknown tenant is 404");
  const staffViewer = await signedIn(w.staff.viewer);
  t.equal((await staffViewer.get(`/v1/audit-events?tenantId=${w.tenantA.id}`)).status, 403, "platform viewer: 403");
});

t.test("API keys read their tenant's log with audit:read only", async (t) => {
  const reader = await keyClient(w.tenantA.id, ["audit:read"]);
  const res = await reader.get("/v1/audit-events?targetType=widget&limit=500");
  t.equal(res.status, 200);
  t.equal(res.json.items.length, 30);
  t.equal((await reader.get("/v1/audit-events/verify")).json.ok, true);
  t.equal((await reader.get(`/v1/audit-events?tenantId=${w.tenantB.id}`)).status, 404, "a customer key cannot name another tenant");

  const noScope = await keyClient(w.tenantA.id, ["tenant:read", "sims:read"]);
  const refused = await noScope.get("/v1/audit-events");
  t.equal(refused.status, 403);

  const platformKey = await keyClient(w.platform.id, ["audit:read"]);
  const b = await platformKey.get(`/v1/audit-events?tenantId=${w.tenantB.id}&targetType=widget&limit=500`);
  t.equal(b.status, 200);
  t.equal(b.json.items.length, 10);
});

t.test("GET /v1/audit-events/verify reports what the chain check finds", async (t) => {
  const owner = await signedIn(w.usersB.owner);
  const intact = await owner.get("/v1/audit-events/verify");
  t.equal(intact.status, 200);
  t.match(intact.json, { ok: true, tenantId: w.tenantB.id });
  t.ok(intact.json.checked >= 10);
  t.notOk("firstBroken" in intact.json);

  await tamper(databaseUrl, "UPDATE enterprise.audit_events SET data = '{\"i\": -1}' WHERE tenant_id = $1 AND seq = 3", [w.tenantB.id]);
  const broken = await owner.get("/v1/audit-events/verify");
  t.equal(broken.status, 200);
  const row = await prisma.auditEvent.findUniqueOrThrow({ where: { tenantId_seq: { tenantId: w.tenantB.id, seq: 3n } } });
  t.same(broken.json, { ok: false, checked: 2, tenantId: w.tenantB.id, firstBroken: { seq: 3, id: row.id, reason: "hash_mismatch" } });
  t.same(broken.json, await verifyChain(prisma, w.tenantB.id), "the same as the verifier");

  const staff = await signedIn(platformAdmin);
  t.same((await staff.get(`/v1/audit-events/verify?tenantId=${w.tenantB.id}`)).json.firstBroken, { seq: 3, id: row.id, reason: "hash_mismatch" }, "staff verify another tenant");
  t.equal((await staff.get(`/v1/audit-events/verify?tenantId=${w.tenantA.id}`)).json.ok, true, "tenant A untouched");
});
