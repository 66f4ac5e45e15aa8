import { randomUUID } from "node:crypto";
import t from "tap";
import { periodContaining } from "../../src/modules/billing/period.js";
import { build } from "../helpers/build.js";
import { createSim, createTenant } from "../helpers/factories.js";
import { keyClient } from "../devices/helpers.js";
import { memberClient, staffClient } from "./issuing-helpers.js";

/**
 * The billing-run API's refusals: bad or unfinished periods, unknown tenants, and everyone but platform owners,
 * admins and billing staff. A refused request writes nothing. Billing contacts (customer role billing) see no
 * runs and may not touch SIMs.
 */

t.test("bad input: a period not ended (422), malformed (400), an unknown or platform tenant (404); nothing is written", async (t) => {
  const ctx = await build(t);
  const { client: staff, platformId } = await staffClient(ctx, "billing");
  const current = periodContaining(new Date()).key;

  const notEnded = await staff.post("/v1/billing/runs", { period: current });
  t.equal(notEnded.status, 422);
  t.match(notEnded.json, { code: "period_not_ended" });
  t.match(notEnded.headers["content-type"], /application\/problem\+json/);
  for (const period of ["2026-13", "2026-1", "26-10", ""]) {
    const res = await staff.post("/v1/billing/runs", { period });
    t.equal(res.status, 400, `period "${period}"`);
    t.match(res.json, { code: "validation_failed", errors: [{ field: "/body/period" }] });
  }
  t.equal((await staff.post("/v1/billing/runs", { period: "2026-10", extra: 1 })).status, 400, "unknown property");
  t.equal((await staff.post("/v1/billing/runs", {})).status, 400, "period is required");
  t.match((await staff.post("/v1/billing/runs", { period: "2026-10", tenantId: "not-a-uuid" })).json, { code: "validation_failed" });
  const unknown = await staff.post("/v1/billing/runs", { period: "2026-10", tenantId: randomUUID() });
  t.equal(unknown.status, 404);
  t.match(unknown.json, { code: "not_found" });
  t.equal((await staff.post("/v1/billing/runs", { period: "2026-10", tenantId: platformId })).status, 404, "the platform tenant is not billed");
  t.equal(await ctx.prisma.billingRun.count(), 0, "no run was written");
  t.equal(await ctx.prisma.auditEvent.count({ where: { action: "billing_run.created" } }), 0);

  t.equal((await staff.get(`/v1/billing/runs/${randomUUID()}`)).status, 404);
  t.equal((await staff.get("/v1/billing/runs?status=done")).status, 400);
  t.equal((await staff.get("/v1/billing/runs?cursor=bm90LWEtY3Vyc29y")).status, 400, "a cursor we did not issue");
});

t.test("only platform owners, admins and billing staff (and platform keys with billing scopes) see and start runs", async (t) => {
  const ctx = await build(t);
  const { platformId } = await staffClient(ctx, "billing");
  const tenant = await createTenant(ctx.prisma);
  const sim = await createSim(ctx.prisma, { tenantId: tenant.id, status: "active" });

  for (const role of ["operator", "viewer"] as const) {
    const { client } = await staffClient(ctx, role);
    t.equal((await client.post("/v1/billing/runs", { period: "2026-10" })).status, 403, `platform ${role} may not start a run`);
    t.equal((await client.get("/v1/billing/runs")).status, 403, `platform ${role} may not list runs`);
  }
  for (const role of ["owner", "admin", "billing", "operator", "viewer"] as const) {
    const client = await memberClient(ctx, tenant.id, role);
    const post = await client.post("/v1/billing/runs", { period: "2026-10", tenantId: tenant.id });
    t.equal(post.status, 403, `customer ${role} may not start a run`);
    t.match(post.json, { code: "forbidden" });
    t.equal((await client.get("/v1/billing/runs")).status, 403, `customer ${role} lists nothing of runs`);
  }
  const billing = await memberClient(ctx, tenant.id, "billing");
  t.equal((await billing.get("/v1/sims")).status, 403, "a billing contact does not see SIMs");
  t.equal((await billing.post(`/v1/sims/${sim.iccid}/suspend`, {})).status, 403, "nor acts on them");
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).status, "active");

  const customerKey = await keyClient(ctx, tenant.id, ["billing:read", "billing:write"]);
  t.equal((await customerKey.post("/v1/billing/runs", { period: "2026-10" })).status, 403, "a customer's key may not");
  t.equal((await customerKey.get("/v1/billing/runs")).status, 403);
  t.equal(await ctx.prisma.billingRun.count(), 0);

  const platformKey = await keyClient(ctx, platformId, ["billing:read", "billing:write"]);
  const started = await platformKey.post("/v1/billing/runs", { period: "2026-10" });
  t.equal(started.status, 202, "the platform's ERP key may");
  t.match(started.json, { createdBy: { type: "api_key" } });
  t.equal((await platformKey.get(`/v1/billing/runs/${started.json.id}`)).status, 200);
  for (const role of ["owner", "admin"] as const) {
    const { client } = await staffClient(ctx, role);
    t.equal((await client.get(`/v1/billing/runs/${started.json.id}`)).status, 200, `platform ${role} reads runs`);
  }
});
