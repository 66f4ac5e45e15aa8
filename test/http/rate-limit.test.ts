import { randomBytes } from "node:crypto";
import pino from "pino";
import t from "tap";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { openRuntime } from "../../src/runtime.js";
import { build } from "../helpers/build.js";
import { Client, type Reply } from "../helpers/client.js";
import { createTestDatabase } from "../helpers/database.js";
import { createWorld } from "../helpers/factories.js";

const header = (r: Reply, name: string) => Number(r.headers[name]);

t.test("the N+1th sign-in attempt from one IP within a minute is 429, with Retry-After and the limit headers", async (t) => {
  const { client, prisma, runtime, redisPrefix } = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "3" });
  const w = await createWorld(prisma);
  const attempt = () => client().post("/v1/auth/login", { email: w.usersA.viewer.email, password: "wrong password" });

  for (const remaining of [2, 1, 0]) {
    const res = await attempt();
    t.equal(res.status, 401, "within the limit: the credentials are checked");
    t.equal(header(res, "x-ratelimit-limit"), 3);
    t.equal(header(res, "x-ratelimit-remaining"), remaining);
    t.ok(header(res, "x-ratelimit-reset") > 0 && header(res, "x-ratelimit-reset") <= 60, "reset within the minute");
    t.notOk("retry-after" in res.headers);
  }
  const failuresBefore = await prisma.auditEvent.count({ where: { action: "auth.login_failed" } });

  // Even the right password is refused now: the limit is on attempts, not on failures.
  const limited = await client().post("/v1/auth/login", { email: w.usersA.viewer.email, password: w.usersA.viewer.password });
  t.equal(limited.status, 429);
  t.match(limited.headers["content-type"], /^application\/problem\+json/);
  t.equal(limited.json.code, "rate_limited");
  t.equal(limited.json.type, "urn:conekt:problem:rate_limited");
  t.equal(limited.json.requestId, limited.headers["x-request-id"]);
  const retryAfter = header(limited, "retry-after");
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After in seconds (${retryAfter})`);
  t.equal(header(limited, "x-ratelimit-limit"), 3);
  t.equal(header(limited, "x-ratelimit-remaining"), 0);
  t.equal(header(limited, "x-ratelimit-reset"), retryAfter);
  t.notOk(limited.headers["set-cookie"], "no session issued");
  t.equal(await prisma.auditEvent.count({ where: { action: { startsWith: "auth.login" } } }), failuresBefore, "the refused attempt never reached the credentials check");

  // Other authentication routes share the per-IP budget.
  t.equal((await client().post("/v1/auth/logout")).status, 429);

  // The counter lives in Redis under this deployment's prefix.
  const keys = await runtime.redis!.keys(`{${redisPrefix}}:rate-limit:*`);
  t.ok(keys.some((k) => k.endsWith("auth:127.0.0.1")), `counter under {${redisPrefix}}: ${keys.join(", ")}`);
  t.same(await runtime.redis!.keys("fastify-rate-limit-*"), [], "nothing under the plugin's default, unprefixed namespace");
});

t.test("another deployment on the same Redis (another prefix) has its own counters", async (t) => {
  const a = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "1" });
  const b = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "1" });
  t.not(a.redisPrefix, b.redisPrefix);
  const body = { email: "nobody@example.com", password: "whatever" };
  t.equal((await a.client().post("/v1/auth/login", body)).status, 401);
  t.equal((await a.client().post("/v1/auth/login", body)).status, 429, "A is exhausted");
  const fromB = await b.client().post("/v1/auth/login", body);
  t.equal(fromB.status, 401, "B, same IP and same Redis, is not");
  t.equal(header(fromB, "x-ratelimit-remaining"), 0, "B counted its first attempt only");
});

t.test("elsewhere the limit is per user or API key, and per IP without credentials", async (t) => {
  const { client, prisma, app } = await build(t, { RATE_LIMIT_API_PER_MINUTE: "4" });
  const w = await createWorld(prisma);
  const alice = client();
  await alice.login(w.usersA.admin.email, w.usersA.admin.password);
  const bob = client();
  await bob.login(w.usersA.viewer.email, w.usersA.viewer.password);

  const url = `/v1/tenants/${w.tenantA.id}`;
  for (const remaining of [3, 2, 1, 0]) {
    const res = await alice.get(url);
    t.equal(res.status, 200);
    t.equal(header(res, "x-ratelimit-remaining"), remaining);
  }
  const limited = await alice.get("/v1/me");
  t.equal(limited.status, 429, "the budget is the user's, across routes");
  t.equal(limited.json.code, "rate_limited");
  t.ok(header(limited, "retry-after") >= 1);

  const bobs = await bob.get(url);
  t.equal(bobs.status, 200, "another user on the same IP has their own budget");
  t.equal(header(bobs, "x-ratelimit-remaining"), 3);

  const key = (await alice.request("POST", "/v1/api-keys", { body: { name: "k", scopes: ["tenant:read"] }, headers: { "x-forwarded-for": "1.2.3.4" } }));
  t.equal(key.status, 429, "creating a key counts too");
  const made = await bob.post("/v1/api-keys", { name: "k", scopes: ["tenant:read"] });
  t.equal(made.status, 403, "(a viewer may not; the request was counted against bob)");
  const admin2 = client();
  await admin2.login(w.usersA.owner.email, w.usersA.owner.password);
  const created = await admin2.post("/v1/api-keys", { name: "k", scopes: ["tenant:read"] });
  t.equal(created.status, 201);
  const api = new Client(app, { headers: { authorization: `Bearer ${created.json.key}` } });
  const viaKey = await api.get(url);
  t.equal(viaKey.status, 200, "an API key has its own budget");
  t.equal(header(viaKey, "x-ratelimit-remaining"), 3);

  // Without credentials: per IP.
  for (let i = 0; i < 4; i++) t.equal((await client().get("/v1/me")).status, 401);
  t.equal((await client().get("/v1/me")).status, 429, "anonymous callers share their IP's budget");

  // Probes and the spec are never limited (a load balancer must not be refused).
  for (let i = 0; i < 6; i++) {
    const health = await client().get("/health");
    t.equal(health.status, 200);
    t.notOk("x-ratelimit-limit" in health.headers);
  }
});

t.test("without Redis the limits are counted in memory", async (t) => {
  const database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: database.url,
    DATABASE_POOL_MAX: "2",
    JWT_SECRET: randomBytes(32).toString("base64url"),
    ENCRYPTION_KEYS: `t1:${randomBytes(32).toString("base64")}`,
    LOG_LEVEL: "silent",
    RATE_LIMIT_AUTH_PER_MINUTE: "2",
  });
  const runtime = await openRuntime(config, { work: true, log: () => undefined });
  t.equal(runtime.redis, undefined);
  const app = await buildApp({ config, db: runtime.db, jobs: runtime.jobs, secrets: runtime.secrets, connectors: runtime.connectors, logger: pino({ level: "silent" }), redis: runtime.redis });
  t.teardown(async () => {
    await app.close();
    await runtime.close();
    await database.drop();
  });
  const body = { email: "nobody@example.com", password: "whatever" };
  const c = new Client(app);
  t.equal((await c.post("/v1/auth/login", body)).status, 401);
  t.equal((await c.post("/v1/auth/login", body)).status, 401);
  const limited = await c.post("/v1/auth/login", body);
  t.equal(limited.status, 429);
  t.equal(limited.json.code, "rate_limited");
  t.ok(header(limited, "retry-after") >= 1);
});

t.test("limits are configuration, validated at start", async (t) => {
  t.throws(() => loadConfig({ RATE_LIMIT_AUTH_PER_MINUTE: "0" }), /RATE_LIMIT_AUTH_PER_MINUTE/);
  t.throws(() => loadConfig({ RATE_LIMIT_API_PER_MINUTE: "lots" }), /RATE_LIMIT_API_PER_MINUTE/);
  t.same(loadConfig({}).rateLimit, { authPerMinute: 20, apiPerMinute: 1200 }, "defaults");
});
