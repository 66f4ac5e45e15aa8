import t from "tap";
import { reissueDemoApiKey } from "../../src/modules/api-keys/demo-key.js";
import { ROLE_SCOPES } from "../../src/modules/access/scopes.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createTenant, createUser } from "../helpers/factories.js";

// `npm run cli -- demo` prints this key as "apiKey" (test/cli/cli.test.ts runs the CLI itself).
t.test("the demo key has the admin role's scopes, and each run replaces the previous one", async (t) => {
  const { prisma, app } = await build(t);
  const tenant = await createTenant(prisma);
  const admin = await createUser(prisma, { tenantId: tenant.id, role: "admin" });
  const issue = () => prisma.$transaction((tx) => reissueDemoApiKey(tx, systemActor("cli:demo"), { tenantId: tenant.id, adminUserId: admin.id }));

  const first = await issue();
  const row = await prisma.apiKey.findFirstOrThrow({ where: { tenantId: tenant.id } });
  t.same(row.scopes, [...ROLE_SCOPES.admin]);
  t.equal(row.name, "demo");
  t.equal(row.createdById, admin.id);
  const api = (key: string) => new Client(app, { headers: { authorization: `Bearer ${key}` } });
  t.equal((await api(first).get(`/v1/tenants/${tenant.id}`)).status, 200, "the printed key works");

  const second = await issue();
  t.not(second, first);
  t.equal((await api(first).get(`/v1/tenants/${tenant.id}`)).status, 401, "the previous demo key is revoked");
  t.equal((await api(second).get(`/v1/tenants/${tenant.id}`)).status, 200, "the new one works");
  t.equal(await prisma.apiKey.count({ where: { tenantId: tenant.id, revokedAt: null } }), 1, "one active demo key");
  const actions = (await prisma.auditEvent.findMany({ where: { tenantId: tenant.id, action: { startsWith: "api_key." } }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["api_key.created", "api_key.revoked", "api_key.created"]);
});
