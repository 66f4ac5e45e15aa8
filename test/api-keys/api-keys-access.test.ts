import t from "tap";
import { build } from "../helpers/build.js";
import type { Reply } from "../helpers/client.js";
import { Client } from "../helpers/client.js";
import { createUser, createWorld } from "../helpers/factories.js";

t.test("only owners and admins manage keys; scopes no wider than the role", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);

  for (const role of ["operator", "billing", "viewer"] as const) {
    const member = client();
    await member.login(w.usersA[role].email, w.usersA[role].password);
    const res = await member.post("/v1/api-keys", { name: `${role} key`, scopes: ["tenant:read"] });
    t.equal(res.status, 403, `${role}: cannot create`);
    t.equal(res.json.code, "forbidden");
    t.equal((await member.get("/v1/api-keys")).status, 403, `${role}: cannot list`);
  }
  t.equal(await prisma.apiKey.count(), 0, "no key created");

  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const wide = await admin.post("/v1/api-keys", { name: "too wide", scopes: ["tenant:read", "network:write"] });
  t.equal(wide.status, 403, "a customer admin cannot grant a platform scope");
  t.equal(wide.json.code, "scope_exceeds_role");
  t.same(wide.json.scopes, ["network:write"], "the refused scopes are named");
  t.match(wide.json.detail, /network:write/);
  t.equal(await prisma.apiKey.count(), 0, "nothing created");

  // Platform owners may grant it, for the platform tenant.
  const staff = client();
  await staff.login(w.staff.owner.email, w.staff.owner.password);
  const platformKey = await staff.post("/v1/api-keys", { name: "mediation feed", scopes: ["network:write", "usage:write"] });
  t.equal(platformKey.status, 201);
  t.equal((await prisma.apiKey.findUniqueOrThrow({ where: { id: platformKey.json.id } })).tenantId, w.platform.id);
  const platformViewer = client();
  await platformViewer.login(w.staff.viewer.email, w.staff.viewer.password);
  t.equal((await platformViewer.post("/v1/api-keys", { name: "v", scopes: ["tenant:read"] })).status, 403, "platform viewers cannot");
});

t.test("bad input is refused naming the fields, and creates nothing", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const fieldsOf = (r: Reply) => (r.json.errors as Array<{ field: string }>).map((e) => e.field).sort();

  const missing = await admin.post("/v1/api-keys", {});
  t.equal(missing.status, 400);
  t.same(fieldsOf(missing), ["/body/name", "/body/scopes"]);

  const bad = await admin.post("/v1/api-keys", { name: "x".repeat(101), scopes: ["root"], expiresAt: "tomorrow", extra: 1 });
  t.equal(bad.status, 400);
  t.same([...new Set(fieldsOf(bad))], ["/body/expiresAt", "/body/extra", "/body/name", "/body/scopes/0"]);

  const control = await admin.post("/v1/api-keys", { name: "bad\nname", scopes: ["tenant:read"] });
  t.equal(control.status, 400);
  t.same(fieldsOf(control), ["/body/name"]);
  const blank = await admin.post("/v1/api-keys", { name: "   ", scopes: ["tenant:read"] });
  t.equal(blank.status, 400, "a blank name");

  const dupScopes = await admin.post("/v1/api-keys", { name: "dup", scopes: ["tenant:read", "tenant:read"] });
  t.equal(dupScopes.status, 400);
  const noScopes = await admin.post("/v1/api-keys", { name: "none", scopes: [] });
  t.equal(noScopes.status, 400);

  const past = await admin.post("/v1/api-keys", { name: "past", scopes: ["tenant:read"], expiresAt: new Date(Date.now() - 1000).toISOString() });
  t.equal(past.status, 400);
  t.same(fieldsOf(past), ["/body/expiresAt"]);

  t.equal((await admin.get("/v1/api-keys/not-a-uuid")).status, 400);
  t.equal((await admin.get("/v1/api-keys?status=gone")).status, 400);
  t.equal(await prisma.apiKey.count(), 0);
  t.equal(await prisma.auditEvent.count({ where: { action: { startsWith: "api_key." } } }), 0, "nothing audited");
});

t.test("another tenant's keys are 404 to its admins, and nothing changes", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const adminA = client();
  await adminA.login(w.usersA.admin.email, w.usersA.admin.password);
  const keyA = await adminA.post("/v1/api-keys", { name: "A's", scopes: ["tenant:read"] });
  t.equal(keyA.status, 201);

  for (const role of ["owner", "admin"] as const) {
    const other = client();
    await other.login(w.usersB[role].email, w.usersB[role].password);
    const get = await other.get(`/v1/api-keys/${keyA.json.id}`);
    t.equal(get.status, 404, `B ${role}: cannot see A's key`);
    t.equal(get.json.code, "not_found");
    t.equal((await other.request("DELETE", `/v1/api-keys/${keyA.json.id}`)).status, 404, `B ${role}: cannot revoke A's key`);
    t.same((await other.get("/v1/api-keys")).json.items, [], `B ${role}: A's key is not listed`);
  }
  // Platform staff manage the platform tenant's keys, not customers'.
  const staff = client();
  await staff.login(w.staff.owner.email, w.staff.owner.password);
  t.equal((await staff.get(`/v1/api-keys/${keyA.json.id}`)).status, 404, "platform owner: customer keys are not theirs");
  t.equal((await staff.request("DELETE", `/v1/api-keys/${keyA.json.id}`)).status, 404);

  const row = await prisma.apiKey.findUniqueOrThrow({ where: { id: keyA.json.id } });
  t.equal(row.revokedAt, null, "still active");
  t.equal(await prisma.auditEvent.count({ where: { action: "api_key.revoked" } }), 0);
  t.equal((await adminA.get(`/v1/api-keys/${keyA.json.id}`)).json.status, "active");

  // A's other members (not owner/admin) cannot revoke it either.
  const operator = client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);
  t.equal((await operator.request("DELETE", `/v1/api-keys/${keyA.json.id}`)).status, 403);
  t.equal((await prisma.apiKey.findUniqueOrThrow({ where: { id: keyA.json.id } })).revokedAt, null);
});

t.test("an API key cannot manage API keys (or act as a person)", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const created = await admin.post("/v1/api-keys", { name: "all", scopes: ["tenant:read", "audit:read", "sims:write"] });
  const api = new Client(app, { headers: { authorization: `Bearer ${created.json.key}` } });

  const list = await api.get("/v1/api-keys");
  t.equal(list.status, 403);
  t.equal(list.json.code, "user_required");
  const mint = await api.post("/v1/api-keys", { name: "successor", scopes: ["tenant:read"] });
  t.equal(mint.status, 403);
  t.equal(mint.json.code, "user_required");
  t.equal((await api.get(`/v1/api-keys/${created.json.id}`)).json.code, "user_required");
  const revoke = await api.request("DELETE", `/v1/api-keys/${created.json.id}`);
  t.equal(revoke.status, 403);
  t.equal(revoke.json.code, "user_required");
  t.equal(await prisma.apiKey.count(), 1, "no key minted");
  t.equal((await prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } })).revokedAt, null, "not revoked");
  t.equal((await api.get("/v1/auth/csrf")).json.code, "user_required", "no session actions either");
});

t.test("lists page newest first with a cursor", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const second = await createUser(prisma, { tenantId: w.tenantA.id, role: "owner" });
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const owner = client();
  await owner.login(second.email, second.password);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await (i % 2 ? owner : admin).post("/v1/api-keys", { name: `k${i}`, scopes: ["tenant:read"] })).json.id);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await admin.get(`/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    t.equal(res.status, 200);
    t.ok(res.json.items.length <= 2);
    seen.push(...res.json.items.map((k: { id: string }) => k.id));
    cursor = res.json.nextCursor;
  } while (cursor);
  t.same(seen, [...ids].reverse(), "every key once, newest first, whoever made it");
  const bad = await admin.get("/v1/api-keys?cursor=bm9wZQ");
  t.equal(bad.status, 400);
  t.equal(bad.json.errors[0].field, "/query/cursor");
});
