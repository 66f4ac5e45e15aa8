import t from "tap";
import { idempotencySweepJob } from "../../jobs/idempotency-sweep.job.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";

/** Idempotency-Key on POST /v1/... (src/http/idempotency.ts), exercised on routes that exist: API keys, invitations, MFA. */

const KEY_BODY = { name: "fleet sync", scopes: ["tenant:read"] };
const idem = (key: string) => ({ "idempotency-key": key });

const rowsFor = (prisma: PrismaClient, principalId: string) => prisma.idempotencyKey.findMany({ where: { principalId } });
const jobCtx = { attempt: 1, progress: async () => undefined, log: () => undefined };

t.test("the same request with the same key is answered once and replayed byte for byte", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);

  const first = await admin.post("/v1/api-keys", KEY_BODY, idem("order-4711"));
  t.equal(first.status, 201);
  t.notOk(first.headers["idempotent-replayed"], "the first answer is not a replay");

  const again = await admin.post("/v1/api-keys", KEY_BODY, idem("order-4711"));
  t.equal(again.status, 201, "the stored status");
  t.equal(again.headers["idempotent-replayed"], "true");
  t.equal(again.body, first.body, "the same bytes (the client validated them against the response schema)");
  t.match(again.headers["content-type"], /^application\/json/);
  t.not(again.headers["x-request-id"], first.headers["x-request-id"], "a replay is a request of its own");
  t.equal(await prisma.apiKey.count({ where: { tenantId: w.tenantA.id } }), 1, "the handler ran once");
  t.equal(await prisma.auditEvent.count({ where: { tenantId: w.tenantA.id, action: "api_key.created" } }), 1, "one audit event");

  const [row] = await rowsFor(prisma, w.usersA.admin.id);
  t.match(row, { tenantId: w.tenantA.id, key: "order-4711", method: "POST", path: "/v1/api-keys", responseStatus: 201 });
  t.match(row!.requestHash, /^[0-9a-f]{64}$/);
  t.ok(row!.expiresAt.getTime() - row!.createdAt.getTime() === 24 * 3600_000, "kept 24 hours");
  const secret = (first.json.key as string).slice(16);
  t.notOk(row!.responseBody!.includes(secret) || JSON.stringify(row).includes(secret), "the one-time key is stored encrypted, never in clear");

  const other = await admin.post("/v1/api-keys", KEY_BODY, idem("order-4712"));
  t.equal(other.status, 201);
  t.not(other.json.id, first.json.id, "another key is another request");
  const none = await admin.post("/v1/api-keys", KEY_BODY);
  t.equal(none.status, 201, "without the header nothing changes");
  t.equal(await prisma.apiKey.count({ where: { tenantId: w.tenantA.id } }), 3);
});

t.test("the key with another body or another route is refused with 422, and nothing runs", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  t.equal((await admin.post("/v1/api-keys", KEY_BODY, idem("k1"))).status, 201);

  const otherBody = await admin.post("/v1/api-keys", { ...KEY_BODY, name: "another" }, idem("k1"));
  t.equal(otherBody.status, 422);
  t.match(otherBody.json, { code: "idempotency_key_reused", detail: /another request body/ });
  t.match(otherBody.headers["content-type"], /^application\/problem\+json/);

  // The same JSON value serialised differently is different bytes: the server cannot prove it is the same request.
  const reordered = await admin.request("POST", "/v1/api-keys", { rawBody: '{"scopes":["tenant:read"],"name":"fleet sync"}', headers: { ...idem("k1"), "content-type": "application/json" } });
  t.equal(reordered.status, 422);

  const otherRoute = await admin.post("/v1/invitations", { email: "new@example.com", role: "viewer" }, idem("k1"));
  t.equal(otherRoute.status, 422);
  t.match(otherRoute.json, { code: "idempotency_key_reused", detail: /POST \/v1\/api-keys/ });
  t.equal(await prisma.invitation.count({ where: { tenantId: w.tenantA.id } }), 0, "the invitation was not created");
  t.equal(await prisma.apiKey.count({ where: { tenantId: w.tenantA.id } }), 1);

  const [row] = await rowsFor(prisma, w.usersA.admin.id);
  t.equal(row!.responseStatus, 201, "the refusals left the stored answer alone");
  const replay = await admin.post("/v1/api-keys", KEY_BODY, idem("k1"));
  t.equal(replay.headers["idempotent-replayed"], "true");
});

t.test("a malformed Idempotency-Key is 400 naming the header, before anything runs", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  for (const bad of ["", "two words", "x".repeat(256), "tab\there"]) {
    const res = await admin.post("/v1/api-keys", KEY_BODY, idem(bad));
    t.equal(res.status, 400, JSON.stringify(bad.slice(0, 20)));
    t.equal(res.json.code, "validation_failed");
    t.same(res.json.errors.map((e: { field: string }) => e.field), ["/headers/idempotency-key"]);
  }
  t.equal((await admin.post("/v1/api-keys", KEY_BODY, idem("x".repeat(255)))).status, 201, "255 visible characters are fine");
  t.equal(await prisma.apiKey.count({ where: { tenantId: w.tenantA.id } }), 1);

  // Sign-in is public: the header means nothing there, malformed or not; GETs ignore it too.
  const anon = client();
  const login = await anon.request("POST", "/v1/auth/login", { body: { email: w.usersA.viewer.email, password: w.usersA.viewer.password }, headers: idem("two words") });
  t.equal(login.status, 200);
  t.equal((await admin.get("/v1/api-keys", idem("two words"))).status, 200);
  t.equal(await prisma.idempotencyKey.count(), 1);
});

t.test("identical requests at once: the handler runs once, the others wait (409) or get the replay", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);

  const answers = await Promise.all(Array.from({ length: 4 }, () => admin.post("/v1/api-keys", KEY_BODY, idem("race"))));
  const fresh = answers.filter((a) => a.status === 201 && !a.headers["idempotent-replayed"]);
  const replayed = answers.filter((a) => a.status === 201 && a.headers["idempotent-replayed"] === "true");
  const waiting = answers.filter((a) => a.status === 409);
  t.equal(fresh.length, 1, "exactly one ran");
  t.equal(replayed.length + waiting.length, 3, `the others: ${answers.map((a) => a.status).join(", ")}`);
  for (const r of replayed) t.equal(r.body, fresh[0]!.body);
  for (const c of waiting) {
    t.equal(c.json.code, "idempotency_key_in_progress");
    t.equal(c.headers["retry-after"], "1");
  }
  t.equal(await prisma.apiKey.count({ where: { tenantId: w.tenantA.id } }), 1);
  const later = await admin.post("/v1/api-keys", KEY_BODY, idem("race"));
  t.equal(later.body, fresh[0]!.body, "once done, the answer is replayed");
});

t.test("keys belong to their sender: another user or an API key with the same key is independent", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const owner = client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  const adminB = client();
  await adminB.login(w.usersB.admin.email, w.usersB.admin.password);

  const a = await admin.post("/v1/api-keys", KEY_BODY, idem("shared"));
  const o = await owner.post("/v1/api-keys", KEY_BODY, idem("shared"));
  const b = await adminB.post("/v1/api-keys", KEY_BODY, idem("shared"));
  for (const r of [a, o, b]) {
    t.equal(r.status, 201);
    t.notOk(r.headers["idempotent-replayed"]);
  }
  t.equal(new Set([a.json.id, o.json.id, b.json.id]).size, 3, "three keys created");

  // An API key of tenant A sending the admin's key and body: its own request runs (and is refused: keys cannot
  // manage keys), it is not handed the admin's stored answer with the admin's secret.
  const api = new Client(app, { headers: { authorization: `Bearer ${a.json.key}` } });
  const byKey = await api.post("/v1/api-keys", KEY_BODY, idem("shared"));
  t.equal(byKey.status, 403);
  t.equal(byKey.json.code, "user_required");
  t.notOk(byKey.body.includes(a.json.key));
  t.same(await rowsFor(prisma, a.json.id), [], "a refusal is not kept for the API key");
});

t.test("refusals that may go otherwise next time are not kept; other 4xx answers are", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const operator = client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);

  const refused = await operator.post("/v1/api-keys", KEY_BODY, idem("promote-me"));
  t.equal(refused.status, 403, "authorization refuses inside the service, after the key was claimed");
  t.same(await rowsFor(prisma, w.usersA.operator.id), [], "released");
  await prisma.membership.updateMany({ where: { userId: w.usersA.operator.id, tenantId: w.tenantA.id }, data: { role: "admin" } });
  const allowed = await operator.post("/v1/api-keys", KEY_BODY, idem("promote-me"));
  t.equal(allowed.status, 201, "the retry with the same key runs once the role allows it");
  t.notOk(allowed.headers["idempotent-replayed"]);

  // A 409 is an answer about the request: kept and replayed.
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const member = { email: w.usersA.viewer.email, role: "viewer" };
  const conflict = await admin.post("/v1/invitations", member, idem("invite-viewer"));
  t.equal(conflict.status, 409);
  t.equal(conflict.json.code, "already_member");
  const replayed = await admin.post("/v1/invitations", member, idem("invite-viewer"));
  t.equal(replayed.status, 409);
  t.equal(replayed.headers["idempotent-replayed"], "true");
  t.equal(replayed.body, conflict.body);
});

t.test("a failure (5xx) releases the key, so the retry runs", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  // A real database failure inside the service's transaction: a trigger refusing the insert.
  await prisma.$executeRawUnsafe(`CREATE FUNCTION enterprise.test_refuse_key() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$`);
  await prisma.$executeRawUnsafe(`CREATE TRIGGER test_refuse_key BEFORE INSERT ON enterprise.api_keys FOR EACH ROW EXECUTE FUNCTION enterprise.test_refuse_key()`);
  // Straight through inject: openapi.yaml rightly declares no 500, which the contract-checking client refuses.
  const failed = await admin.app.inject({ method: "POST", url: "/v1/api-keys", payload: KEY_BODY, headers: { cookie: admin.cookie!, "x-csrf-token": admin.csrfToken!, ...idem("flaky") } });
  t.equal(failed.statusCode, 500);
  t.same(await rowsFor(prisma, w.usersA.admin.id), [], "released");
  await prisma.$executeRawUnsafe(`DROP TRIGGER test_refuse_key ON enterprise.api_keys`);

  const retried = await admin.post("/v1/api-keys", KEY_BODY, idem("flaky"));
  t.equal(retried.status, 201);
  t.notOk(retried.headers["idempotent-replayed"]);
  t.equal(await prisma.apiKey.count({ where: { tenantId: w.tenantA.id } }), 1);
});

t.test("a replay restores Cache-Control: a one-time secret stays uncacheable", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const user = client();
  await user.login(w.usersA.viewer.email, w.usersA.viewer.password);
  const begun = await user.post("/v1/me/mfa/totp", undefined, idem("enrol-phone"));
  t.equal(begun.status, 200);
  const again = await user.post("/v1/me/mfa/totp", undefined, idem("enrol-phone"));
  t.equal(again.headers["idempotent-replayed"], "true");
  t.equal(again.headers["cache-control"], "no-store");
  t.equal(again.json.secret, begun.json.secret, "the retry gets the secret the first call issued");
  const [row] = await rowsFor(prisma, w.usersA.viewer.id);
  t.notOk(row!.responseBody!.includes(begun.json.secret), "encrypted at rest");
});

t.test("an expired key is new again, and the sweep deletes expired rows", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const admin = client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  const first = await admin.post("/v1/api-keys", KEY_BODY, idem("yesterday"));
  t.equal((await admin.post("/v1/api-keys", KEY_BODY, idem("keep"))).status, 201);
  await prisma.idempotencyKey.updateMany({ where: { key: "yesterday" }, data: { expiresAt: new Date(Date.now() - 1000) } });

  const later = await admin.post("/v1/api-keys", KEY_BODY, idem("yesterday"));
  t.equal(later.status, 201);
  t.notOk(later.headers["idempotent-replayed"], "runs again");
  t.not(later.json.id, first.json.id);
  t.equal((await admin.post("/v1/api-keys", { ...KEY_BODY, name: "other" }, idem("yesterday"))).status, 422, "and holds the new request");

  await prisma.idempotencyKey.updateMany({ where: { key: "yesterday" }, data: { expiresAt: new Date(Date.now() - 1000) } });
  const sweep = idempotencySweepJob({ prisma });
  t.same(await sweep({}, jobCtx), { deleted: 1 });
  t.same((await rowsFor(prisma, w.usersA.admin.id)).map((r) => r.key), ["keep"], "live keys stay");
  t.same(await sweep({}, jobCtx), { deleted: 0 }, "idempotent");
});
