import t from "tap";
import { build } from "../helpers/build.js";
import type { Reply } from "../helpers/client.js";
import { createTenant } from "../helpers/factories.js";
import { signedIn } from "../sims/helpers.js";

const plan = (code: string) => ({ code, name: `Plan ${code}`, description: "Pooled data, EU roaming.\nNo voice.", currency: "EUR" });

t.test("platform staff keep the catalogue; every member reads it", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const platform = await createTenant(prisma, { kind: "platform" });
  const customer = await createTenant(prisma);
  const billing = await signedIn(ctx, platform.id, "billing");

  const created = await billing.post("/v1/rate-plans", plan("IOT-1GB-EU"));
  t.equal(created.status, 201, created.body);
  t.match(created.json, { code: "IOT-1GB-EU", name: "Plan IOT-1GB-EU", currency: "EUR", status: "active", description: "Pooled data, EU roaming.\nNo voice." });
  const id = created.json.id as string;
  const taken = await billing.post("/v1/rate-plans", { ...plan("IOT-1GB-EU"), name: "Other" });
  t.equal(taken.status, 409);
  t.equal(taken.json.code, "rate_plan_code_taken");
  t.equal(await prisma.ratePlan.count(), 1);
  await billing.post("/v1/rate-plans", plan("AA-START"));
  await billing.post("/v1/rate-plans", plan("ZZ-LEGACY"));

  const retired = await billing.patch(`/v1/rate-plans/${id}`, { status: "retired", description: null });
  t.equal(retired.status, 200);
  t.match(retired.json, { status: "retired", description: null, code: "IOT-1GB-EU" });
  const renamed = await billing.patch(`/v1/rate-plans/${id}`, { name: "IoT 1 GB (EU)", status: "active" });
  t.match(renamed.json, { name: "IoT 1 GB (EU)", status: "active" });

  const audit = await prisma.auditEvent.findMany({ where: { tenantId: platform.id, action: { startsWith: "rate_plan." } }, orderBy: { seq: "asc" } });
  t.same(audit.map((a) => a.action), ["rate_plan.created", "rate_plan.created", "rate_plan.created", "rate_plan.updated", "rate_plan.updated"]);
  t.match(audit[3]!.data, { code: "IOT-1GB-EU", changed: ["description", "status"], status: "retired" });

  // Reading: every customer role, by code, paged, filtered.
  for (const role of ["owner", "admin", "operator", "billing", "viewer"] as const) {
    const member = await signedIn(ctx, customer.id, role);
    const list = await member.get("/v1/rate-plans");
    t.equal(list.status, 200, role);
    t.same(list.json.items.map((p: { code: string }) => p.code), ["AA-START", "IOT-1GB-EU", "ZZ-LEGACY"], `${role} reads the catalogue by code`);
    t.equal((await member.get(`/v1/rate-plans/${id}`)).status, 200);
    t.equal((await member.post("/v1/rate-plans", plan(`CUST-${role.toUpperCase()}`))).status, 403, `${role} cannot create`);
    t.equal((await member.patch(`/v1/rate-plans/${id}`, { name: "mine" })).status, 403, `${role} cannot change`);
  }
  const viewer = await signedIn(ctx, customer.id, "viewer");
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await viewer.get(`/v1/rate-plans?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    seen.push(...res.json.items.map((p: { code: string }) => p.code));
    cursor = res.json.nextCursor;
  } while (cursor);
  t.same(seen, ["AA-START", "IOT-1GB-EU", "ZZ-LEGACY"]);
  await billing.patch(`/v1/rate-plans/${id}`, { status: "retired" });
  t.same((await viewer.get("/v1/rate-plans?status=retired")).json.items.map((p: { code: string }) => p.code), ["IOT-1GB-EU"]);
  t.equal((await viewer.get("/v1/rate-plans/01900000-0000-7000-8000-00000000dead")).status, 404);
  t.equal((await viewer.get("/v1/rate-plans/not-a-uuid")).status, 400);

  // Platform operators and viewers read but do not change; owners and admins do.
  for (const role of ["operator", "viewer"] as const) {
    const staff = await signedIn(ctx, platform.id, role);
    t.equal((await staff.post("/v1/rate-plans", plan(`STAFF-${role.toUpperCase()}`))).status, 403, `platform ${role}`);
    t.equal((await staff.patch(`/v1/rate-plans/${id}`, { name: "x" })).status, 403, `platform ${role}`);
  }
  const admin = await signedIn(ctx, platform.id, "admin");
  t.equal((await admin.post("/v1/rate-plans", plan("ADMIN-MADE"))).status, 201);
  t.equal(await prisma.ratePlan.count(), 4);
});

t.test("rate plan input is bounded", async (t) => {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const owner = await signedIn(ctx, platform.id, "owner");
  for (const [body, field] of [
    [{ ...plan("lower-case") }, "/body/code"],
    [{ ...plan("X") }, "/body/code"],
    [{ ...plan("A".repeat(41)) }, "/body/code"],
    [{ ...plan("OK-CODE"), currency: "eur" }, "/body/currency"],
    [{ ...plan("OK-CODE"), currency: "EURO" }, "/body/currency"],
    [{ ...plan("OK-CODE"), name: " " }, "/body/name"],
    [{ ...plan("OK-CODE"), description: "x".repeat(501) }, "/body/description"],
    [{ ...plan("OK-CODE"), prices: { monthly: 1 } }, "/body/prices/monthlyFee"],
  ] as const) {
    const res = await owner.post("/v1/rate-plans", body);
    t.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
    t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `names ${field}`);
  }
  const created = await owner.post("/v1/rate-plans", plan("OK-CODE"));
  for (const [body, field] of [
    [{}, "/body"],
    [{ status: "deleted" }, "/body/status"],
    [{ code: "NEW-CODE" }, "/body/code"],
  ] as const) {
    const res = await owner.patch(`/v1/rate-plans/${created.json.id}`, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `names ${field}`);
  }
  t.equal(await ctx.prisma.ratePlan.count(), 1);
});
