import t from "tap";
import { isWellFormedApiKey } from "../../src/modules/api-keys/key-format.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";

const KEY_FORMAT = /^ck_live_[A-Za-z0-9]{30,}_[A-Za-z0-9]{6}$/;

/** Rows, in any table of either schema, whose JSON text contains `needle`. */
async function tablesContaining(prisma: PrismaClient, needle: string): Promise<string[]> {
  const tables = await prisma.$queryRaw<Array<{ name: string }>>`
    SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
    WHERE table_schema IN ('enterprise', 'connectivity') AND table_type = 'BASE TABLE'`;
  const hits: string[] = [];
  for (const { name } of tables) {
    const [row] = await prisma.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT count(*) AS n FROM ${name} t WHERE strpos(row_to_json(t)::text, $1) > 0`, needle);
    if (row && row.n > 0n) hits.push(name);
  }
  return hits;
}

t.test("an admin creates a key: shown once, stored only as a hash", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  t.equal((await admin.login(w.usersA.admin.email, w.usersA.admin.password)).status, 200);

  const created = await admin.post("/v1/api-keys", { name: "  fleet sync  ", scopes: ["tenant:read", "sims:read"] });
  t.equal(created.status, 201);
  const key: string = created.json.key;
  t.match(key, KEY_FORMAT, "ck_live_<random>_<checksum>");
  t.ok(isWellFormedApiKey(key), "the checksum validates");
  t.match(created.json, {
    name: "fleet sync",
    prefix: key.slice(0, 16),
    scopes: ["tenant:read", "sims:read"],
    status: "active",
    expiresAt: null,
    lastUsedAt: null,
    revokedAt: null,
    createdBy: { id: w.usersA.admin.id, email: w.usersA.admin.email },
  });

  const row = await prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } });
  t.equal(row.tenantId, w.tenantA.id);
  t.match(row.secretHash, /^[0-9a-f]{64}$/);
  t.equal(row.prefix, key.slice(0, 16));
  t.same(await tablesContaining(prisma, key), [], "the key is in no column of any table");
  t.same(await tablesContaining(prisma, key.slice(16)), [], "nor is its secret part");

  const one = await admin.get(`/v1/api-keys/${created.json.id}`);
  t.equal(one.status, 200);
  t.notOk("key" in one.json, "GET never returns the key");
  t.notOk(one.body.includes(key.slice(16)) || one.body.includes(row.secretHash), "nor its secret part or hash");
  const list = await admin.get("/v1/api-keys");
  t.same(list.json.items.map((k: { id: string }) => k.id), [created.json.id]);
  t.notOk(list.body.includes(key.slice(16)) || list.body.includes(row.secretHash), "lists show neither the key nor the hash");

  const audit = await prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "api_key.created" } });
  t.equal(audit.actorId, w.usersA.admin.id);
  t.equal(audit.targetId, created.json.id);

  // The key works.
  const api = new Client(app, { headers: { authorization: `Bearer ${key}` } });
  const tenant = await api.get(`/v1/tenants/${w.tenantA.id}`);
  t.equal(tenant.status, 200, "tenant:read reads the own tenant");
  t.equal(tenant.json.id, w.tenantA.id);
  t.equal((await api.get(`/v1/tenants/${w.tenantB.id}`)).status, 404, "another tenant is not found");
  const list2 = await api.get("/v1/tenants");
  t.same(list2.json.items.map((x: { id: string }) => x.id), [w.tenantA.id]);
});

t.test("scopes decide what a key may do", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const owner = client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  const created = await owner.post("/v1/api-keys", { name: "sims only", scopes: ["sims:read"] });
  t.equal(created.status, 201);
  const api = new Client(app, { headers: { authorization: `Bearer ${created.json.key}` } });
  const res = await api.get(`/v1/tenants/${w.tenantA.id}`);
  t.equal(res.status, 403, "no tenant:read, no tenant");
  t.equal(res.json.code, "forbidden");
  t.same((await api.get("/v1/tenants")).status, 403);
});

t.test("revoked, expired, unknown and malformed keys all get the same 401", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const bearer = (key: string) => new Client(app, { headers: { authorization: `Bearer ${key}` } });

  const a = await admin.post("/v1/api-keys", { name: "to revoke", scopes: ["tenant:read"] });
  t.equal((await bearer(a.json.key).get(`/v1/tenants/${w.tenantA.id}`)).status, 200, "works before revocation");
  const revoked = await admin.request("DELETE", `/v1/api-keys/${a.json.id}`);
  t.equal(revoked.status, 204);
  t.equal(revoked.body, "");
  const after = await bearer(a.json.key).get(`/v1/tenants/${w.tenantA.id}`);
  t.equal(after.status, 401, "revoked at once");
  t.equal(after.json.code, "invalid_api_key");
  const shown = await admin.get(`/v1/api-keys/${a.json.id}`);
  t.equal(shown.json.status, "revoked");
  t.ok(shown.json.revokedAt);
  const again = await admin.request("DELETE", `/v1/api-keys/${a.json.id}`);
  t.equal(again.status, 204, "revoking twice is not an error");
  t.equal(await prisma.auditEvent.count({ where: { tenantId: w.tenantA.id, action: "api_key.revoked", targetId: a.json.id } }), 1, "and is audited once");

  const soon = new Date(Date.now() + 60_000).toISOString();
  const b = await admin.post("/v1/api-keys", { name: "short-lived", scopes: ["tenant:read"], expiresAt: soon });
  t.equal(b.status, 201);
  t.equal(b.json.expiresAt, soon);
  t.equal((await bearer(b.json.key).get(`/v1/tenants/${w.tenantA.id}`)).status, 200, "works before it expires");
  await prisma.apiKey.update({ where: { id: b.json.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  const expired = await bearer(b.json.key).get(`/v1/tenants/${w.tenantA.id}`);
  t.equal(expired.status, 401);
  t.equal(expired.json.code, "invalid_api_key");
  t.equal((await admin.get(`/v1/api-keys/${b.json.id}`)).json.status, "expired");
  t.same((await admin.get("/v1/api-keys?status=expired")).json.items.map((k: { id: string }) => k.id), [b.json.id]);
  t.same((await admin.get("/v1/api-keys?status=revoked")).json.items.map((k: { id: string }) => k.id), [a.json.id]);
  t.same((await admin.get("/v1/api-keys?status=active")).json.items, []);

  const valid: string = b.json.key;
  const unknown = `${valid.slice(0, 8)}${"A".repeat(32)}`;
  const { checksumOf } = await import("../../src/modules/api-keys/key-format.js");
  for (const [what, header] of [
    ["unknown (valid checksum)", `Bearer ${unknown}_${checksumOf(unknown)}`],
    ["typo (bad checksum)", `Bearer ${valid.slice(0, 20)}${valid[20] === "x" ? "y" : "x"}${valid.slice(21)}`],
    ["not a key", "Bearer hello"],
    ["another scheme", `Basic ${Buffer.from(`u:${valid}`).toString("base64")}`],
    ["empty", ""],
  ] as const) {
    const res = await new Client(app, { headers: { authorization: header } }).get(`/v1/tenants/${w.tenantA.id}`);
    t.equal(res.status, 401, `${what}: 401`);
    t.equal(res.json.code, "invalid_api_key", `${what}: invalid_api_key`);
  }
});

t.test("an Authorization header takes precedence over the cookie; bearer requests need no CSRF token", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  // A bad key next to a good session cookie is refused: the key decides.
  const mixed = await admin.get(`/v1/tenants/${w.tenantA.id}`, { authorization: "Bearer ck_live_nope" });
  t.equal(mixed.status, 401);
  t.equal(mixed.json.code, "invalid_api_key");

  // A key's state-changing request without x-csrf-token reaches the service (refused there for its role, not for CSRF).
  const created = await admin.post("/v1/api-keys", { name: "ci", scopes: ["tenant:read"] });
  const api = new Client(app, { headers: { authorization: `Bearer ${created.json.key}` } });
  const patch = await api.patch(`/v1/tenants/${w.tenantA.id}`, { legalName: "x" });
  t.equal(patch.status, 403);
  t.equal(patch.json.code, "forbidden", "not csrf_token_invalid");
});

t.test("lastUsedAt and lastUsedIp are written at most once a minute", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const created = await admin.post("/v1/api-keys", { name: "busy", scopes: ["tenant:read"] });
  const api = new Client(app, { headers: { authorization: `Bearer ${created.json.key}`, "x-forwarded-for": "203.0.113.9" } });

  await api.get(`/v1/tenants/${w.tenantA.id}`);
  const first = await prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } });
  t.ok(first.lastUsedAt, "set on first use");
  t.equal(first.lastUsedIp, "127.0.0.1", "the peer address (X-Forwarded-For is not trusted without TRUST_PROXY)");

  await Promise.all([1, 2, 3, 4, 5].map(() => api.get(`/v1/tenants/${w.tenantA.id}`)));
  const second = await prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } });
  t.equal(second.lastUsedAt?.getTime(), first.lastUsedAt?.getTime(), "not rewritten within the minute");

  const twoMinutesAgo = new Date(Date.now() - 120_000);
  await prisma.apiKey.update({ where: { id: created.json.id }, data: { lastUsedAt: twoMinutesAgo, lastUsedIp: "198.51.100.1" } });
  await api.get(`/v1/tenants/${w.tenantA.id}`);
  const third = await prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } });
  t.ok(third.lastUsedAt && third.lastUsedAt > twoMinutesAgo, "written again once a minute has passed");
  t.equal(third.lastUsedIp, "127.0.0.1");
  const shown = await admin.get(`/v1/api-keys/${created.json.id}`);
  t.equal(shown.json.lastUsedAt, third.lastUsedAt?.toISOString());
  t.equal(shown.json.lastUsedIp, "127.0.0.1");
});

t.test("a key stops working when its tenant is closed", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const created = await admin.post("/v1/api-keys", { name: "k", scopes: ["tenant:read"] });
  await prisma.tenant.update({ where: { id: w.tenantA.id }, data: { status: "closed" } });
  const res = await new Client(app, { headers: { authorization: `Bearer ${created.json.key}` } }).get(`/v1/tenants/${w.tenantA.id}`);
  t.equal(res.status, 401);
  t.equal(res.json.code, "invalid_api_key");
});
