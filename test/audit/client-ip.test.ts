// The audited client IP believes X-Forwarded-For only from the proxies in TRUST_PROXY (Fastify's trustProxy).

import t from "tap";
import { build, type TestApp } from "../helpers/build.js";
import { createTenant, createUser } from "../helpers/factories.js";

/** Signs in with the given headers and returns the IP recorded on the sign-in's audit event. */
async function loginIp(testApp: TestApp, headers: Record<string, string>): Promise<string | null> {
  const tenant = await createTenant(testApp.prisma);
  const user = await createUser(testApp.prisma, { tenantId: tenant.id, role: "owner" });
  const res = await testApp.client().request("POST", "/v1/auth/login", { body: { email: user.email, password: user.password }, headers });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  const event = await testApp.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: tenant.id, action: "auth.login_succeeded" } });
  return event.ip;
}

t.test("behind a trusted proxy, the forwarded client IP is recorded", async (t) => {
  const testApp = await build(t, { TRUST_PROXY: "127.0.0.1" });
  t.equal(await loginIp(testApp, { "x-forwarded-for": "203.0.113.5" }), "203.0.113.5");
  // A client-supplied entry ahead of the proxy's is not believed: the address the trusted proxy saw is.
  t.equal(await loginIp(testApp, { "x-forwarded-for": "198.51.100.99, 203.0.113.6" }), "203.0.113.6");
  t.equal(await loginIp(testApp, {}), "127.0.0.1", "no header: the socket address");
});

t.test("without trusted proxies, X-Forwarded-For is ignored", async (t) => {
  const testApp = await build(t);
  t.equal(await loginIp(testApp, { "x-forwarded-for": "203.0.113.5" }), "127.0.0.1");
});

t.test("a proxy that is not the trusted one is not believed", async (t) => {
  const testApp = await build(t, { TRUST_PROXY: "10.0.0.1" });
  t.equal(await loginIp(testApp, { "x-forwarded-for": "203.0.113.5" }), "127.0.0.1");
});
