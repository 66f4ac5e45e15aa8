import t from "tap";
import { build } from "../helpers/build.js";
import type { Reply } from "../helpers/client.js";

// Every failure, including ones Fastify itself raises, is problem+json with a stable code and the request id.
t.test("HTTP failures are RFC 9457 problems", async (t) => {
  const { client } = await build(t);
  const c = client();

  const expectProblem = async (res: Reply, status: number, code: string) => {
    t.equal(res.status, status, `${code}: status`);
    t.match(res.headers["content-type"], /^application\/problem\+json/, `${code}: content type`);
    t.equal(res.json.code, code);
    t.equal(res.json.type, `urn:conekt:problem:${code}`);
    t.equal(res.json.status, status);
    t.equal(res.json.requestId, res.headers["x-request-id"], `${code}: request id in body and header`);
    t.notMatch(res.body, /at .*\.(ts|js):\d+/, `${code}: no stack trace`);
  };

  await expectProblem(await c.get("/no/such/route"), 404, "route_not_found");
  await expectProblem(await c.request("POST", "/v1/auth/login", { rawBody: "{not json", headers: { "content-type": "application/json" } }), 400, "malformed_json");
  await expectProblem(await c.request("POST", "/v1/auth/login", { rawBody: "", headers: { "content-type": "application/json" } }), 400, "empty_json_body");
  await expectProblem(await c.request("POST", "/v1/auth/login", { rawBody: "<login/>", headers: { "content-type": "application/xml" } }), 415, "unsupported_media_type");
  await expectProblem(
    await c.request("POST", "/v1/auth/login", { rawBody: JSON.stringify({ email: "a@b.co", password: "x".repeat(2_000_000) }), headers: { "content-type": "application/json" } }),
    413,
    "payload_too_large",
  );

  const invalid = await c.post("/v1/auth/login", { email: "not-an-email", surprise: true });
  await expectProblem(invalid, 400, "validation_failed");
  const fields = invalid.json.errors.map((e: { field: string }) => e.field).sort();
  t.same(fields, ["/body/email", "/body/password", "/body/surprise"], "each bad field is named once");

  const unauth = await c.get("/v1/me");
  await expectProblem(unauth, 401, "unauthenticated");
});

t.test("a caller's well-formed request id is reused; a malformed one is replaced", async (t) => {
  const { client } = await build(t);
  const ok = await client().get("/health", { "x-request-id": "trace-123_abc" });
  t.equal(ok.headers["x-request-id"], "trace-123_abc");
  const bad = await client().get("/health", { "x-request-id": "bad id with spaces\u0000" });
  t.not(bad.headers["x-request-id"], "bad id with spaces\u0000");
  t.match(bad.headers["x-request-id"], /^[0-9a-f-]{36}$/);
});

t.test("health and readiness", async (t) => {
  const { client, runtime } = await build(t);
  t.same((await client().get("/health")).json, { status: "ok" });
  const ready = await client().get("/ready");
  t.equal(ready.status, 200);
  t.same(ready.json, { status: "ready", checks: { database: "ok", redis: "ok" } }, "database and Redis both checked");

  // With the database gone, readiness says so (liveness does not depend on it).
  await runtime.db.close();
  const notReady = await client().get("/ready");
  t.equal(notReady.status, 503);
  t.equal(notReady.json.code, "not_ready");
  t.match(notReady.json.detail, /database/);
  t.equal((await client().get("/health")).status, 200);
});

t.test("security headers are set", async (t) => {
  const { client } = await build(t);
  const res = await client().get("/health");
  t.equal(res.headers["x-content-type-options"], "nosniff");
  t.match(res.headers["content-security-policy"], /frame-ancestors 'none'/);
  t.ok(res.headers["strict-transport-security"]);
});
