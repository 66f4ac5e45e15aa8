import { randomBytes } from "node:crypto";
import t from "tap";
import type { Role } from "../../src/generated/prisma/enums.js";
import { ROLE_SCOPES } from "../../src/modules/access/scopes.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { operations } from "../helpers/contract.js";
import { createTenant, createUser } from "../helpers/factories.js";
import { DOMAINS, makeApiKey, makeInvitation } from "./recipes.js";

/**
 * Tenant isolation: a user (every role) and an API key (every scope) of tenant B, sending tenant A's ids to
 * every route that takes an id or a tenant, get 404 (or 403 where their own role already refuses), lists never
 * show A's objects, and nothing of tenant A changes in the database.
 */
const ROLES: Role[] = ["owner", "admin", "operator", "billing", "viewer"];

/** A digest of everything tenant A owns, to prove B's attempts changed nothing. */
async function snapshotTenant(prisma: PrismaClient, tenantId: string): Promise<string> {
  const rows = await prisma.$queryRaw<Array<{ t: string; d: string | null }>>`
    SELECT 'tenants' AS t, md5(string_agg(x::text, ',' ORDER BY x.id)) AS d FROM enterprise.tenants x WHERE id = ${tenantId}::uuid
    UNION ALL SELECT 'memberships', md5(string_agg(x::text, ',' ORDER BY x.user_id)) FROM enterprise.memberships x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'users', md5(string_agg(u::text, ',' ORDER BY u.id)) FROM enterprise.users u JOIN enterprise.memberships m ON m.user_id = u.id WHERE m.tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'invitations', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM enterprise.invitations x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'api_keys', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM enterprise.api_keys x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'sessions', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM enterprise.sessions x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'audit_events', md5(string_agg(x::text, ',' ORDER BY x.seq)) FROM enterprise.audit_events x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'sims', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM connectivity.sims x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'sim_events', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM connectivity.sim_events x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'operations', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM connectivity.operations x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'operation_items', md5(string_agg(x::text, ',' ORDER BY x.operation_id, x.seq)) FROM connectivity.operation_items x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'esim_profiles', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM connectivity.esim_profiles x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'devices', md5(string_agg(x::text, ',' ORDER BY x.imei)) FROM connectivity.devices x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'imei_events', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM connectivity.imei_events x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'alerts', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM connectivity.alerts x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'webhook_endpoints', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM enterprise.webhook_endpoints x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'webhook_deliveries', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM connectivity.webhook_deliveries x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'usage_records', md5(string_agg(x::text, ',' ORDER BY x.source_id, x.started_at)) FROM connectivity.usage_records x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'usage_rollup_journal', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM connectivity.usage_rollup_journal x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'usage_daily', md5(string_agg(x::text, ',' ORDER BY x.sim_id, x.day)) FROM connectivity.usage_daily x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'usage_limits', md5(string_agg(x::text, ',')) FROM connectivity.usage_limits x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'usage_watermarks', md5(string_agg(x::text, ',')) FROM connectivity.usage_watermarks x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'invoices', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM enterprise.invoices x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'invoice_lines', md5(string_agg(l::text, ',' ORDER BY l.id)) FROM enterprise.invoice_lines l JOIN enterprise.invoices i ON i.id = l.invoice_id WHERE i.tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'invoice_documents', md5(string_agg(d.sha256, ',' ORDER BY d.invoice_id)) FROM enterprise.invoice_documents d JOIN enterprise.invoices i ON i.id = d.invoice_id WHERE i.tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'payments', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM enterprise.payments x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'billing_contacts', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM enterprise.billing_contacts x WHERE tenant_id = ${tenantId}::uuid
    UNION ALL SELECT 'sim_rate_plan_assignments', md5(string_agg(x::text, ',' ORDER BY x.sim_id, x.effective_from)) FROM connectivity.sim_rate_plan_assignments x WHERE tenant_id = ${tenantId}::uuid`;
  return rows.map((r) => `${r.t}:${r.d}`).join(" ");
}

t.test("tenant B cannot reach tenant A's objects through any route", async (t) => {
  // Dozens of sign-ins from one address: lift the per-IP sign-in limit, which is tested on its own.
  const ctx = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "100000" });
  const { prisma } = ctx;
  const a = await createTenant(prisma);
  const b = await createTenant(prisma);
  const aUsers = await Promise.all(ROLES.map((role) => createUser(prisma, { tenantId: a.id, role })));
  const bUsers = await Promise.all(ROLES.map((role) => createUser(prisma, { tenantId: b.id, role })));
  const aUser = aUsers[2]!;
  const aInvitation = await makeInvitation(prisma, a.id);
  const aKey = await makeApiKey(prisma, a.id);

  // B's API key with every scope a customer key can hold.
  const bKeyValue = await (async () => {
    const owner = ctx.client();
    await owner.login(bUsers[0]!.email, bUsers[0]!.password);
    const res = await owner.post("/v1/api-keys", { name: "isolation", scopes: [...ROLE_SCOPES.owner] });
    if (res.status !== 201) throw new Error(`could not create B's key: ${res.status} ${res.body}`);
    return res.json.key as string;
  })();

  // Every operation that names an object or a tenant, aimed at tenant A.
  const attacks: Record<string, { method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"; url: string; body?: unknown }> = {
    getTenant: { method: "GET", url: `/v1/tenants/${a.id}` },
    updateTenant: { method: "PATCH", url: `/v1/tenants/${a.id}`, body: { legalName: "pwned" } },
    closeTenant: { method: "POST", url: `/v1/tenants/${a.id}/close`, body: { reason: "pwned" } },
    getUser: { method: "GET", url: `/v1/users/${aUser.id}` },
    updateUser: { method: "PATCH", url: `/v1/users/${aUser.id}`, body: { status: "disabled" } },
    createInvitation: { method: "POST", url: "/v1/invitations", body: { email: "spy@example.com", role: "owner", tenantId: a.id } },
    revokeInvitation: { method: "DELETE", url: `/v1/invitations/${aInvitation}` },
    getApiKey: { method: "GET", url: `/v1/api-keys/${aKey}` },
    revokeApiKey: { method: "DELETE", url: `/v1/api-keys/${aKey}` },
    listAuditEvents: { method: "GET", url: `/v1/audit-events?tenantId=${a.id}` },
    exportAuditEvents: { method: "GET", url: `/v1/audit-events.csv?tenantId=${a.id}` },
    verifyAuditChain: { method: "GET", url: `/v1/audit-events/verify?tenantId=${a.id}` },
  };
  const domainIds: string[] = [];
  const domainLists: string[] = [];
  for (const domain of DOMAINS) {
    if (!domain.attacks) continue;
    const made = await domain.attacks(ctx, a.id);
    Object.assign(attacks, made.attacks);
    domainIds.push(...made.ids);
    domainLists.push(...made.lists);
  }
  const idRoutes = operations.filter((o) => o.path.includes("{") || ["createInvitation"].includes(o.operationId));
  t.same(idRoutes.filter((o) => !attacks[o.operationId]).map((o) => o.operationId), [], "every route taking an id is attacked");

  const before = await snapshotTenant(prisma, a.id);
  const aIds = [a.id, aUser.id, aInvitation, aKey, ...aUsers.map((u) => u.id), ...domainIds];

  const callers: Array<{ label: string; client: Client }> = [];
  for (const [i, role] of ROLES.entries()) {
    const c = ctx.client();
    await c.login(bUsers[i]!.email, bUsers[i]!.password);
    callers.push({ label: `B ${role}`, client: c });
  }
  const keyClient = new Client(ctx.app, { headers: { authorization: `Bearer ${bKeyValue}` } });
  callers.push({ label: "B api key", client: keyClient });

  for (const { label, client } of callers) {
    for (const [op, req] of Object.entries(attacks)) {
      const res = await client.request(req.method, req.url, req.body === undefined ? {} : { body: req.body });
      const ok = res.status === 404 || res.status === 403 || (res.status === 200 && !aIds.some((id) => res.body.includes(id)));
      t.ok(ok, `${label} ${op}: ${res.status} ${res.json?.code ?? ""}`);
    }
    // Lists are filtered in the query: none of A's objects appear.
    for (const url of ["/v1/tenants", "/v1/users", "/v1/invitations", "/v1/api-keys", "/v1/audit-events", "/v1/audit-events.csv", ...domainLists]) {
      const res = await client.get(url);
      t.notOk(aIds.some((id) => res.body.includes(id)), `${label} GET ${url} (${res.status}) shows nothing of A`);
    }
  }

  t.equal(await snapshotTenant(prisma, a.id), before, "tenant A's rows are exactly as before");
});

t.test("an API key cannot act as a person", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const owner = await createUser(ctx.prisma, { tenantId: tenant.id, role: "owner" });
  const c = ctx.client();
  await c.login(owner.email, owner.password);
  const key = (await c.post("/v1/api-keys", { name: "robot", scopes: [...ROLE_SCOPES.owner] })).json.key as string;
  const robot = new Client(ctx.app, { headers: { authorization: `Bearer ${key}` } });
  for (const [method, url, body] of [
    ["GET", "/v1/me", undefined],
    ["POST", "/v1/me/password", { currentPassword: "x", newPassword: `Sturdy-${randomBytes(4).toString("hex")}-Password` }],
    ["POST", "/v1/me/mfa/totp", undefined],
    ["POST", "/v1/api-keys", { name: "child", scopes: ["tenant:read"] }],
    ["POST", "/v1/invitations", { email: "x@example.com", role: "owner" }],
  ] as const) {
    const res = await robot.request(method, url, body === undefined ? {} : { body });
    t.equal(res.status, 403, `${method} ${url}`);
  }
  t.equal(await ctx.prisma.apiKey.count({ where: { tenantId: tenant.id } }), 1, "no key minted by a key");
  t.equal(await ctx.prisma.invitation.count({ where: { tenantId: tenant.id } }), 0);
});
