// Every 401/403 on a protected route from a known caller leaves `authz.denied` in the caller's tenant chain;
// refusals of unknown callers leave nothing; the refusal itself is answered unchanged either way.

import { randomUUID } from "node:crypto";
import t from "tap";
import type { Scope } from "../../src/modules/access/scopes.js";
import { issueApiKey } from "../../src/modules/api-keys/api-keys.repository.js";
import { JWT_AUDIENCE, JWT_ISSUER } from "../../src/http/authentication.js";
import { verifyChain } from "../../src/modules/audit/audit.verify.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";

const { app, prisma, client } = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "1000" });
const w = await createWorld(prisma);

const denials = (tenantId: string) => prisma.auditEvent.findMany({ where: { tenantId, action: "authz.denied" }, orderBy: { seq: "asc" } });
const totalEvents = () => prisma.auditEvent.count();
async function keyClient(tenantId: string, scopes: Scope[]) {
  const { row, key } = await prisma.$transaction((tx) => issueApiKey(tx, systemActor("test"), { tenantId, name: "refusal test", scopes, expiresAt: null, createdById: null }));
  return { id: row.id, client: new Client(app, { headers: { authorization: `Bearer ${key}`, "user-agent": "fleet-sync/2.1" } }) };
}

t.test("a user's 403 is recorded with route, method, reason code and request metadata", async (t) => {
  const viewer = client();
  t.equal((await viewer.login(w.usersA.viewer.email, w.usersA.viewer.password)).status, 200);
  const res = await viewer.get("/v1/audit-events?limit=5", { "user-agent": "Mozilla/5.0 test", "x-request-id": "req-refused-1" });
  t.equal(res.status, 403);
  t.equal(res.json.code, "forbidden", "the original refusal is answered");
  t.equal(res.json.requestId, "req-refused-1");

  const [event, ...more] = await denials(w.tenantA.id);
  t.same(more, [], "exactly one event");
  t.match(event, {
    tenantId: w.tenantA.id,
    action: "authz.denied",
    actorType: "user",
    actorId: w.usersA.viewer.id,
    targetType: "operation",
    targetId: "listAuditEvents",
    ip: "127.0.0.1",
    userAgent: "Mozilla/5.0 test",
    requestId: "req-refused-1",
  });
  t.same(event?.data, { method: "GET", route: "/v1/audit-events", status: 403, code: "forbidden" });
  t.equal(await prisma.auditEvent.count({ where: { tenantId: w.tenantB.id, action: "authz.denied" } }), 0, "no other tenant's chain");
  t.same(await verifyChain(prisma, w.tenantA.id), { ok: true, checked: await prisma.auditEvent.count({ where: { tenantId: w.tenantA.id } }), tenantId: w.tenantA.id }, "the chain stays intact");
});

t.test("an API key's 403 is recorded against the key", async (t) => {
  const { id, client: key } = await keyClient(w.tenantB.id, ["sims:read"]);
  const res = await key.get("/v1/audit-events/verify");
  t.equal(res.status, 403);
  const events = await denials(w.tenantB.id);
  t.equal(events.length, 1);
  t.match(events[0], { actorType: "api_key", actorId: id, targetId: "verifyAuditChain", userAgent: "fleet-sync/2.1" });
  t.same(events[0]?.data, { method: "GET", route: "/v1/audit-events/verify", status: 403, code: "forbidden" });
});

t.test("a state change refused for want of the CSRF header is recorded for the session's user", async (t) => {
  const staff = client();
  await staff.login(w.staff.viewer.email, w.staff.viewer.password);
  staff.csrfToken = undefined;
  const before = await denials(w.platform.id);
  const res = await staff.patch(`/v1/tenants/${w.tenantA.id}`, { legalName: "Not Without CSRF" });
  t.equal(res.status, 403);
  t.equal(res.json.code, "csrf_token_invalid");
  const after = await denials(w.platform.id);
  t.equal(after.length, before.length + 1);
  t.match(after.at(-1), { actorType: "user", actorId: w.staff.viewer.id, targetId: "updateTenant" });
  t.same(after.at(-1)?.data, { method: "PATCH", route: "/v1/tenants/:id", status: 403, code: "csrf_token_invalid" });
  t.equal((await prisma.tenant.findUniqueOrThrow({ where: { id: w.tenantA.id } })).legalName, w.tenantA.legalName, "nothing changed");
});

t.test("refusals without a known caller write nothing, and are answered as before", async (t) => {
  const count = await totalEvents();
  const denied = await prisma.auditEvent.count({ where: { action: "authz.denied" } });
  const anonymous = await client().get("/v1/audit-events");
  t.equal(anonymous.status, 401);
  t.equal(anonymous.json.code, "unauthenticated");
  const badKey = await new Client(app, { headers: { authorization: "Bearer ck_live_not_a_real_key" } }).get("/v1/audit-events");
  t.equal(badKey.status, 401);
  const badCookie = await new Client(app, { headers: { cookie: "conekt_session=garbage" } }).get("/v1/me");
  t.equal(badCookie.status, 401);
  // Public routes record their own authentication events (auth.login_failed), not authz.denied.
  const wrongPassword = await client().login(w.usersA.owner.email, "wrong password entirely");
  t.equal(wrongPassword.status, 401);
  t.equal(await prisma.auditEvent.count({ where: { action: "authz.denied" } }), denied, "no authz.denied");
  t.equal(await totalEvents(), count + 1, "only the failed sign-in's own event");
  t.equal(await prisma.auditEvent.count({ where: { action: "auth.login_failed", targetId: w.usersA.owner.id } }), 1);
});

t.test("a refusal that cannot be audited is still answered unchanged", async (t) => {
  // A genuine session token naming a tenant that does not exist: the audit append fails (no such tenant),
  // and the caller still gets the CSRF refusal, not a 500.
  const token = app.jwt.sign({ sub: w.usersA.owner.id, tid: randomUUID(), sid: randomUUID(), typ: "session" }, { expiresIn: 60, aud: JWT_AUDIENCE, iss: JWT_ISSUER });
  const count = await totalEvents();
  const res = await new Client(app, { headers: { cookie: `conekt_session=${token}` } }).patch(`/v1/tenants/${w.tenantA.id}`, { legalName: "x" });
  t.equal(res.status, 403);
  t.equal(res.json.code, "csrf_token_invalid");
  t.equal(await totalEvents(), count, "nothing written");
});
