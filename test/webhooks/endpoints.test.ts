import t from "tap";
import { ROLE_SCOPES } from "../../src/modules/access/scopes.js";
import { emitWebhookEvents } from "../../src/modules/webhooks/webhook-events.js";
import { openSecrets } from "../../src/modules/webhooks/webhook-secret.js";
import { createKeyring } from "../../src/platform/crypto.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createTenant } from "../helpers/factories.js";
import { signedIn } from "./helpers.js";

/** Public IP literals: valid without DNS, and nothing is sent in this file (jobs are not started). */
const URL_A = "https://93.184.215.14/hooks/conekt";
const URL_B = "https://93.184.215.15:8443/other";

t.test("an admin creates an endpoint: the secret is shown once and stored encrypted", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { client, tenantId } = await signedIn(ctx, "admin");

  const created = await client.post("/v1/webhook-endpoints", { url: URL_A, events: ["sim.state_changed", "imei.mismatch"], description: "  ERP sync  " });
  t.equal(created.status, 201, created.body);
  const secret: string = created.json.secret;
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  t.equal(Buffer.from(secret.slice(6), "base64").length, 32, "32 random bytes");
  t.match(created.json, { url: URL_A, events: ["sim.state_changed", "imei.mismatch"], description: "ERP sync", enabled: true });

  const row = await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: created.json.id } });
  t.equal(row.tenantId, tenantId);
  t.notOk(row.secretEncrypted.includes(secret) || row.secretEncrypted.includes(secret.slice(6)), "the column is not the secret");
  t.equal(openSecrets(createKeyring(ctx.runtime.secrets.encryptionKeys), row.id, row.secretEncrypted).current, secret, "it decrypts with the keyring to the secret shown");
  const [hits] = await prisma.$queryRaw<Array<{ n: bigint }>>`
    SELECT count(*) AS n FROM enterprise.webhook_endpoints e WHERE strpos(row_to_json(e)::text, ${secret.slice(6)}) > 0`;
  t.equal(hits?.n, 0n, "no column holds it");

  const one = await client.get(`/v1/webhook-endpoints/${row.id}`);
  t.equal(one.status, 200);
  t.notOk("secret" in one.json, "GET never returns the secret");
  t.notOk(one.body.includes(secret.slice(6)) || one.body.includes(row.secretEncrypted), "nor its ciphertext");
  const list = await client.get("/v1/webhook-endpoints");
  t.same(list.json.items.map((e: { id: string }) => e.id), [row.id]);
  t.notOk(list.body.includes(secret.slice(6)));

  const audit = await prisma.auditEvent.findFirstOrThrow({ where: { tenantId, action: "webhook_endpoint.created" } });
  t.equal(audit.targetId, row.id);
  t.same(audit.data, { host: "93.184.215.14", events: ["sim.state_changed", "imei.mismatch"] }, "the audit names the host, not the URL");
});

t.test("bad input is refused naming the field, and nothing is written", async (t) => {
  const ctx = await build(t);
  const { client, tenantId } = await signedIn(ctx, "owner");
  const cases: Array<[unknown, string]> = [
    [{ url: URL_A, events: [] }, "/body/events"],
    [{ url: URL_A, events: ["sim.exploded"] }, "/body/events/0"],
    [{ url: URL_A, events: ["sim.state_changed", "sim.state_changed"] }, "/body/events"],
    [{ url: `https://93.184.215.14/${"a".repeat(2048)}`, events: ["sim.state_changed"] }, "/body/url"],
    [{ url: "https://93.184.215.14/a b", events: ["sim.state_changed"] }, "/body/url"],
    [{ events: ["sim.state_changed"] }, "/body/url"],
    [{ url: URL_A, events: ["sim.state_changed"], secret: "whsec_mine" }, "/body/secret"],
    [{ url: URL_A, events: ["sim.state_changed"], description: "x".repeat(201) }, "/body/description"],
  ];
  for (const [body, field] of cases) {
    const res = await client.post("/v1/webhook-endpoints", body);
    t.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    t.equal(res.json.code, "validation_failed");
    t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `names ${field}: ${JSON.stringify(res.json.errors)}`);
  }
  t.equal(await ctx.prisma.webhookEndpoint.count({ where: { tenantId } }), 0);
});

t.test("SSRF: private, loopback, link-local hosts and http are refused at create and update", async (t) => {
  const ctx = await build(t);
  t.equal(ctx.config.webhooks.allowPrivateUrls, false);
  const { client, tenantId } = await signedIn(ctx, "admin");
  const refused: Array<[string, RegExp]> = [
    ["https://127.0.0.1/hook", /loopback/],
    ["https://10.0.0.8/hook", /private/],
    ["https://192.168.0.10:8443/hook", /private/],
    ["https://169.254.169.254/latest/meta-data/", /link-local/],
    ["https://100.64.1.1/hook", /carrier-grade NAT/],
    ["https://0.0.0.0/hook", /unspecified/],
    ["https://[::1]/hook", /loopback/],
    ["https://[::ffff:127.0.0.1]/hook", /loopback/],
    ["https://[fe80::1]/hook", /link-local/],
    ["https://[fd00::1]/hook", /unique-local/],
    ["https://localhost/hook", /localhost resolves to/],
    ["http://93.184.215.14/hook", /https/],
    ["ftp://93.184.215.14/hook", /scheme/],
    ["https://user:secret@93.184.215.14/hook", /credentials/],
  ];
  for (const [url, why] of refused) {
    const res = await client.post("/v1/webhook-endpoints", { url, events: ["sim.state_changed"] });
    t.equal(res.status, 422, `${url}: ${res.status}`);
    t.equal(res.json.code, "webhook_url_not_allowed");
    t.match(res.json.reason, why, `${url}: ${res.json.reason}`);
  }
  t.equal(await ctx.prisma.webhookEndpoint.count({ where: { tenantId } }), 0, "nothing written");

  const ok = await client.post("/v1/webhook-endpoints", { url: URL_A, events: ["sim.state_changed"] });
  t.equal(ok.status, 201);
  const res = await client.patch(`/v1/webhook-endpoints/${ok.json.id}`, { url: "https://169.254.169.254/latest/" });
  t.equal(res.status, 422);
  t.equal(res.json.code, "webhook_url_not_allowed");
  t.equal((await ctx.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: ok.json.id } })).url, URL_A, "the URL is unchanged");
});

t.test("update, rotate, delete: each audited; disabling stops pending deliveries", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { client, tenantId } = await signedIn(ctx, "owner");
  const created = (await client.post("/v1/webhook-endpoints", { url: URL_A, events: ["sim.state_changed"], description: "first" })).json;

  const patched = await client.patch(`/v1/webhook-endpoints/${created.id}`, { url: URL_B, events: ["operation.completed", "invoice.issued"], description: null });
  t.equal(patched.status, 200, patched.body);
  t.match(patched.json, { url: URL_B, events: ["operation.completed", "invoice.issued"], description: null, enabled: true });
  t.equal((await client.patch(`/v1/webhook-endpoints/${created.id}`, {})).status, 400, "an empty patch is refused");

  const [deliveryId] = await prisma.$transaction((tx) => emitWebhookEvents(tx, [{ tenantId, type: "invoice.issued", data: { invoiceId: "inv_1" } }]));
  const disabled = await client.patch(`/v1/webhook-endpoints/${created.id}`, { enabled: false });
  t.equal(disabled.json.enabled, false);
  const stopped = await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId! } });
  t.equal(stopped.status, "failed", "the pending delivery stops");
  t.equal(stopped.nextAttemptAt, null);
  t.match(stopped.lastError, /disabled/);
  const redeliver = await client.post(`/v1/webhook-endpoints/${created.id}/deliveries/${deliveryId}/redeliver`);
  t.equal(redeliver.status, 409);
  t.equal(redeliver.json.code, "webhook_endpoint_disabled");

  const keyring = createKeyring(ctx.runtime.secrets.encryptionKeys);
  const before = await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: created.id } });
  const rotatedRes = await client.post(`/v1/webhook-endpoints/${created.id}/rotate-secret`);
  t.equal(rotatedRes.status, 200, rotatedRes.body);
  t.not(rotatedRes.json.secret, created.secret, "a new secret");
  const until = new Date(rotatedRes.json.previousSignatureValidUntil).getTime();
  t.ok(Math.abs(until - (Date.now() + 24 * 3600_000)) < 60_000, "the previous one signs for 24 more hours");
  const after = await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: created.id } });
  t.not(after.secretEncrypted, before.secretEncrypted);
  t.same(openSecrets(keyring, created.id, after.secretEncrypted), { current: rotatedRes.json.secret, previous: { secret: created.secret, until: rotatedRes.json.previousSignatureValidUntil } });

  const deleted = await client.request("DELETE", `/v1/webhook-endpoints/${created.id}`);
  t.equal(deleted.status, 204);
  t.equal((await client.get(`/v1/webhook-endpoints/${created.id}`)).status, 404);
  t.equal(await prisma.webhookDelivery.count({ where: { endpointId: created.id } }), 0, "its deliveries go with it");
  t.equal((await client.request("DELETE", `/v1/webhook-endpoints/${created.id}`)).status, 404);

  const actions = (await prisma.auditEvent.findMany({ where: { tenantId, targetId: created.id }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.updated", "webhook_endpoint.secret_rotated", "webhook_endpoint.deleted"]);
  const update = await prisma.auditEvent.findFirstOrThrow({ where: { tenantId, targetId: created.id, action: "webhook_endpoint.updated" }, orderBy: { seq: "asc" } });
  t.same(update.data, { changed: ["description", "events", "url"], host: "93.184.215.15:8443" });
});

t.test("lists page by cursor, newest first", async (t) => {
  const ctx = await build(t);
  const { client } = await signedIn(ctx, "admin");
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await client.post("/v1/webhook-endpoints", { url: `${URL_A}/${i}`, events: ["sim.state_changed"] })).json.id);
  const first = await client.get("/v1/webhook-endpoints?limit=2");
  t.same(first.json.items.map((e: { id: string }) => e.id), [ids[2], ids[1]]);
  t.type(first.json.nextCursor, "string");
  const second = await client.get(`/v1/webhook-endpoints?limit=2&cursor=${first.json.nextCursor}`);
  t.same(second.json.items.map((e: { id: string }) => e.id), [ids[0]]);
  t.equal(second.json.nextCursor, null);
  t.equal((await client.get("/v1/webhook-endpoints?cursor=bm9wZQ")).status, 400, "a forged cursor is refused");
});

t.test("roles, API key scopes and other tenants", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { client: owner, tenantId } = await signedIn(ctx, "owner");
  const endpoint = (await owner.post("/v1/webhook-endpoints", { url: URL_A, events: ["sim.state_changed"] })).json;
  const [deliveryId] = await prisma.$transaction((tx) => emitWebhookEvents(tx, [{ tenantId, type: "sim.state_changed", data: { iccid: "8949010000000000001" } }]));

  for (const role of ["viewer", "operator", "billing"] as const) {
    const { client } = await signedIn(ctx, role, tenantId);
    t.equal((await client.get("/v1/webhook-endpoints")).status, 403, `${role} cannot list`);
    t.equal((await client.post("/v1/webhook-endpoints", { url: URL_B, events: ["sim.state_changed"] })).status, 403, `${role} cannot create`);
    t.equal((await client.get(`/v1/webhook-endpoints/${endpoint.id}`)).status, 403, `${role} cannot read`);
    t.equal((await client.get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`)).status, 403, `${role} cannot read deliveries`);
    t.equal((await client.post(`/v1/webhook-endpoints/${endpoint.id}/deliveries/${deliveryId}/redeliver`)).status, 403, `${role} cannot redeliver`);
  }

  // Keys: webhooks:write manages endpoints; other scopes do not.
  const withScope = (await owner.post("/v1/api-keys", { name: "hooks", scopes: ["webhooks:write"] })).json.key as string;
  const without = (await owner.post("/v1/api-keys", { name: "fleet", scopes: ["sims:read", "sims:write"] })).json.key as string;
  const keyClient = new Client(ctx.app, { headers: { authorization: `Bearer ${withScope}` } });
  const made = await keyClient.post("/v1/webhook-endpoints", { url: URL_B, events: ["operation.completed"] });
  t.equal(made.status, 201, "a webhooks:write key creates an endpoint");
  t.equal((await keyClient.get("/v1/webhook-endpoints")).json.items.length, 2);
  const other = new Client(ctx.app, { headers: { authorization: `Bearer ${without}` } });
  t.equal((await other.get("/v1/webhook-endpoints")).status, 403, "a key without webhooks:write cannot");

  // Tenant B: its owner and its all-scopes key see nothing of A's and get 404 on A's ids.
  const b = await createTenant(prisma);
  const { client: bOwner } = await signedIn(ctx, "owner", b.id);
  const bKey = (await bOwner.post("/v1/api-keys", { name: "b", scopes: [...ROLE_SCOPES.owner] })).json.key as string;
  const before = JSON.stringify(await prisma.webhookEndpoint.findMany({ where: { tenantId } }));
  for (const [label, c] of [["B owner", bOwner], ["B key", new Client(ctx.app, { headers: { authorization: `Bearer ${bKey}` } })]] as const) {
    const base = `/v1/webhook-endpoints/${endpoint.id}`;
    t.equal((await c.get(base)).status, 404, `${label}: get`);
    t.equal((await c.patch(base, { enabled: false })).status, 404, `${label}: patch`);
    t.equal((await c.post(`${base}/rotate-secret`)).status, 404, `${label}: rotate`);
    t.equal((await c.get(`${base}/deliveries`)).status, 404, `${label}: deliveries`);
    t.equal((await c.post(`${base}/deliveries/${deliveryId}/redeliver`)).status, 404, `${label}: redeliver`);
    t.equal((await c.request("DELETE", base)).status, 404, `${label}: delete`);
    const list = await c.get("/v1/webhook-endpoints");
    t.same(list.json.items, [], `${label}: an empty list`);
  }
  // A's delivery addressed through B's own endpoint is not found either.
  const bEndpoint = (await bOwner.post("/v1/webhook-endpoints", { url: URL_B, events: ["sim.state_changed"] })).json;
  t.equal((await bOwner.post(`/v1/webhook-endpoints/${bEndpoint.id}/deliveries/${deliveryId}/redeliver`)).status, 404);
  t.equal(JSON.stringify(await prisma.webhookEndpoint.findMany({ where: { tenantId } })), before, "A's endpoints are unchanged");
});

t.test("emitWebhookEvents: one delivery per subscribed enabled endpoint of the tenant", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { client: a, tenantId: aId } = await signedIn(ctx, "admin");
  const { client: b, tenantId: bId } = await signedIn(ctx, "admin");
  const subscribed = (await a.post("/v1/webhook-endpoints", { url: `${URL_A}/1`, events: ["sim.state_changed", "operation.completed"] })).json.id as string;
  const second = (await a.post("/v1/webhook-endpoints", { url: `${URL_A}/2`, events: ["sim.state_changed"] })).json.id as string;
  const unsubscribed = (await a.post("/v1/webhook-endpoints", { url: `${URL_A}/3`, events: ["invoice.issued"] })).json.id as string;
  const disabled = (await a.post("/v1/webhook-endpoints", { url: `${URL_A}/4`, events: ["sim.state_changed"] })).json.id as string;
  await a.patch(`/v1/webhook-endpoints/${disabled}`, { enabled: false });
  const otherTenant = (await b.post("/v1/webhook-endpoints", { url: URL_B, events: ["sim.state_changed"] })).json.id as string;

  const ids = await prisma.$transaction((tx) =>
    emitWebhookEvents(tx, [
      { tenantId: aId, type: "sim.state_changed", data: { iccid: "8949010000000000001", to: "suspended", bytes: 2n ** 60n } },
      { tenantId: aId, type: "sim.state_changed", data: { iccid: "8949010000000000002", to: "active" } },
      { tenantId: aId, type: "operation.completed", data: { operationId: "op" } },
    ]),
  );
  t.equal(ids.length, 5, "2 events x 2 endpoints + 1 event x 1 endpoint");
  const rows = await prisma.webhookDelivery.findMany({ where: { id: { in: ids } } });
  const per = (id: string) => rows.filter((r) => r.endpointId === id).length;
  t.equal(per(subscribed), 3);
  t.equal(per(second), 2);
  t.equal(per(unsubscribed), 0, "unsubscribed endpoint: none");
  t.equal(per(disabled), 0, "disabled endpoint: none");
  t.equal(await prisma.webhookDelivery.count({ where: { endpointId: otherTenant } }), 0, "other tenant: none");
  t.ok(rows.every((r) => r.tenantId === aId && r.status === "pending" && r.nextAttemptAt !== null));
  // One event, one message id across endpoints; distinct events, distinct ids.
  const byIccid = rows.filter((r) => (r.payload as { data: { iccid?: string } }).data.iccid === "8949010000000000001");
  t.equal(byIccid.length, 2);
  t.equal(byIccid[0]!.messageId, byIccid[1]!.messageId);
  t.equal(new Set(rows.map((r) => r.messageId)).size, 3);
  t.match(byIccid[0]!.payload, { type: "sim.state_changed", timestamp: String, data: { bytes: String(2n ** 60n) } }, "a bigint beyond 2^53 is a string");
  t.match(ids[0], /^[0-9a-f]{8}-[0-9a-f]{4}-7/, "UUIDv7 ids");

  // Inside the change's transaction: rolled back with it.
  await t.rejects(
    prisma.$transaction(async (tx) => {
      await emitWebhookEvents(tx, [{ tenantId: aId, type: "sim.state_changed", data: {} }]);
      throw new Error("the change failed");
    }),
  );
  t.equal(await prisma.webhookDelivery.count({ where: { tenantId: aId } }), 5, "no delivery survives a rolled-back change");
  t.same(await prisma.$transaction((tx) => emitWebhookEvents(tx, [])), []);
  t.equal(await prisma.webhookDelivery.count({ where: { tenantId: bId } }), 0);
});
