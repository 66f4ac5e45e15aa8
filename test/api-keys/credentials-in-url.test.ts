import t from "tap";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";

t.test("a key in the URL is refused and, being leaked, revoked", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const created = await admin.post("/v1/api-keys", { name: "leaky", scopes: ["tenant:read"] });
  const key: string = created.json.key;
  const bearer = new Client(app, { headers: { authorization: `Bearer ${key}` } });
  t.equal((await bearer.get(`/v1/tenants/${w.tenantA.id}`)).status, 200, "the key works");

  const inQuery = await client().get(`/v1/tenants/${w.tenantA.id}?api_key=${key}`);
  t.equal(inQuery.status, 400);
  t.equal(inQuery.json.code, "credentials_in_url");
  t.match(inQuery.json.detail, /Authorization: Bearer/);

  const row = await prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } });
  t.ok(row.revokedAt, "the leaked key is revoked");
  const event = await prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "api_key.revoked", targetId: created.json.id } });
  t.same(event.data, { prefix: row.prefix, reason: "credentials_in_url" });
  t.equal(event.actorType, "system");
  const after = await bearer.get(`/v1/tenants/${w.tenantA.id}`);
  t.equal(after.status, 401, "it no longer works, even in the header");
  t.equal(after.json.code, "invalid_api_key");
});

t.test("the refusal does not depend on the key being real, nor on how it is sent", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const created = await admin.post("/v1/api-keys", { name: "safe", scopes: ["tenant:read"] });
  const key: string = created.json.key;
  const bearer = new Client(app, { headers: { authorization: `Bearer ${key}` } });

  const fake = "ck_live_notarealkeyatallnotarealkeyatall_abcdef";
  for (const url of [
    `/v1/tenants/${w.tenantA.id}?token=${fake}`,
    `/v1/tenants?q=ck_live_x`,
    `/v1/tenants?cursor=abc&key=${encodeURIComponent(fake)}`,
    `/v1/tenants?key=%63k_live_${"a".repeat(32)}`,
  ]) {
    const res = await bearer.get(url);
    t.equal(res.status, 400, `${url}: 400`);
    t.equal(res.json.code, "credentials_in_url");
  }
  t.equal((await prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } })).revokedAt, null, "a key not in the URL is not revoked");
  t.equal((await bearer.get(`/v1/tenants/${w.tenantA.id}`)).status, 200);
  t.equal(await prisma.auditEvent.count({ where: { action: "api_key.revoked" } }), 0);
});

t.test("public routes refuse a key in the URL too", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const created = await admin.post("/v1/api-keys", { name: "pasted", scopes: ["tenant:read"] });
  const res = await client().post(`/v1/auth/login?apikey=${created.json.key}`, { email: w.usersA.viewer.email, password: w.usersA.viewer.password });
  t.equal(res.status, 400, "sign-in with a key in its URL is refused");
  t.equal(res.json.code, "credentials_in_url");
  t.notOk([res.headers["set-cookie"]].flat().some((c) => String(c).startsWith("conekt_session=")), "no session issued");
  t.ok((await prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } })).revokedAt, "and the leaked key is revoked");
});
