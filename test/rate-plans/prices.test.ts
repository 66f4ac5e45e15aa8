import t from "tap";
import { build, type TestApp } from "../helpers/build.js";
import type { Reply } from "../helpers/client.js";
import { createTenant } from "../helpers/factories.js";
import { signedIn } from "../sims/helpers.js";

/** The first day of the month `offset` months from now (UTC), "YYYY-MM-01". */
function monthStart(offset = 0): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 10);
}

const PRICES = { monthlyFee: "2.5", suspendedFee: "0.50", prorate: true, includedBytes: 100_000_000, dataAllowance: "pooled", overagePerMb: "0.0125", smsMoPrice: "0.05", activationFee: "1" };

async function staffWorld(ctx: TestApp) {
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const customer = await createTenant(ctx.prisma);
  return { platform, customer, billing: await signedIn(ctx, platform.id, "billing") };
}

t.test("a plan created with prices has version 1 from this month; its view shows the prices in effect", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, customer, billing } = await staffWorld(ctx);

  const res = await billing.post("/v1/rate-plans", { code: "IOT-100MB", name: "IoT 100 MB", currency: "EUR", prices: PRICES });
  t.equal(res.status, 201, res.body);
  t.same(res.json.prices, {
    version: 1,
    effectiveFrom: monthStart(),
    effectiveUntil: null,
    monthlyFee: "2.50",
    suspendedFee: "0.50",
    prorate: true,
    includedBytes: 100_000_000,
    dataAllowance: "pooled",
    overagePerMb: "0.0125",
    smsMoPrice: "0.05",
    smsMtPrice: "0.00",
    activationFee: "1.00",
    createdAt: res.json.prices.createdAt,
  });
  t.same(res.json.scheduledPrices, []);
  const row = await prisma.ratePlanVersion.findFirstOrThrow({ where: { ratePlanId: res.json.id } });
  t.equal(row.monthlyFee.toString(), "2.5", "stored exactly (NUMERIC)");
  t.match(row.createdBy, /^user:/);
  const [audit] = await prisma.auditEvent.findMany({ where: { tenantId: platform.id, action: "rate_plan.created" } });
  t.match(audit!.data, { code: "IOT-100MB", prices: { version: 1, effectiveFrom: monthStart(), monthlyFee: "2.50", includedBytes: "100000000", overagePerMb: "0.0125" } });

  // Without prices: no version; byte counts past 2^53 come back as strings.
  const bare = await billing.post("/v1/rate-plans", { code: "BARE", name: "Bare", currency: "EUR" });
  t.same([bare.json.prices, bare.json.scheduledPrices], [null, []]);
  const huge = await billing.post("/v1/rate-plans", { code: "HUGE", name: "Huge", currency: "EUR", prices: { monthlyFee: "0", includedBytes: "9223372036854775807" } });
  t.equal(huge.status, 201, huge.body);
  t.equal(huge.json.prices.includedBytes, "9223372036854775807");

  // Every member reads the prices with the catalogue.
  const viewer = await signedIn(ctx, customer.id, "viewer");
  const list = await viewer.get("/v1/rate-plans");
  t.same(list.json.items.map((p: { code: string; prices: { monthlyFee: string } | null }) => [p.code, p.prices?.monthlyFee ?? null]), [["BARE", null], ["HUGE", "0.00"], ["IOT-100MB", "2.50"]]);
});

t.test("prices are bounded decimal strings; a refused plan writes nothing", async (t) => {
  const ctx = await build(t);
  const { billing } = await staffWorld(ctx);
  for (const [prices, field] of [
    [{ monthlyFee: "-1" }, "/body/prices/monthlyFee"],
    [{ monthlyFee: "1.1234567" }, "/body/prices/monthlyFee"],
    [{ monthlyFee: "1e3" }, "/body/prices/monthlyFee"],
    [{ monthlyFee: "1234567890123" }, "/body/prices/monthlyFee"],
    [{ monthlyFee: "01.5" }, "/body/prices/monthlyFee"],
    [{ monthlyFee: "1", overagePerMb: "abc" }, "/body/prices/overagePerMb"],
    [{ monthlyFee: "1", includedBytes: -1 }, "/body/prices/includedBytes"],
    [{ monthlyFee: "1", includedBytes: "12a" }, "/body/prices/includedBytes"],
    [{ monthlyFee: "1", includedBytes: "9223372036854775808" }, "/body/prices/includedBytes"],
    [{ monthlyFee: "1", dataAllowance: "shared" }, "/body/prices/dataAllowance"],
    [{ monthlyFee: "1", prorate: "maybe" }, "/body/prices/prorate"],
    [{ monthlyFee: "1", setupFee: "1" }, "/body/prices/setupFee"],
  ] as const) {
    const res = await billing.post("/v1/rate-plans", { code: "BOUNDED", name: "Bounded", currency: "EUR", prices });
    t.equal(res.status, 400, JSON.stringify(prices));
    t.equal(res.headers["content-type"], "application/problem+json; charset=utf-8");
    t.equal(res.json.code, "validation_failed");
    t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `names ${field}`);
  }
  t.equal(await ctx.prisma.ratePlan.count(), 0);
  t.equal(await ctx.prisma.ratePlanVersion.count(), 0);
});

t.test("versions: added from a month on, listed latest first, refused for the past and for invoiced periods", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, customer, billing } = await staffWorld(ctx);
  const plan = (await billing.post("/v1/rate-plans", { code: "IOT-EU", name: "IoT EU", currency: "EUR", prices: { monthlyFee: "5" } })).json;

  const next = await billing.post(`/v1/rate-plans/${plan.id}/versions`, { effectiveFrom: monthStart(1), monthlyFee: "4.00", includedBytes: "1000000000" });
  t.equal(next.status, 201, next.body);
  t.match(next.json, { version: 2, effectiveFrom: monthStart(1), effectiveUntil: null, monthlyFee: "4.00", includedBytes: 1_000_000_000, prorate: false, dataAllowance: "per_sim", smsMoPrice: "0.00" });
  const later = await billing.post(`/v1/rate-plans/${plan.id}/versions`, { effectiveFrom: monthStart(3), monthlyFee: "3.999999" });
  t.equal(later.json.version, 3);
  // Added out of order: numbered by addition, ordered by date.
  const between = await billing.post(`/v1/rate-plans/${plan.id}/versions`, { effectiveFrom: monthStart(2), monthlyFee: "3.5" });
  t.match(between.json, { version: 4, effectiveUntil: monthStart(3) });

  const got = (await billing.get(`/v1/rate-plans/${plan.id}`)).json;
  t.match(got.prices, { version: 1, monthlyFee: "5.00", effectiveUntil: monthStart(1) });
  t.same(got.scheduledPrices.map((v: { version: number }) => v.version), [2, 4, 3], "scheduled, soonest first");

  const viewer = await signedIn(ctx, customer.id, "viewer");
  const all = await viewer.get(`/v1/rate-plans/${plan.id}/versions`);
  t.equal(all.status, 200);
  t.same(all.json.items.map((v: { version: number; effectiveFrom: string }) => [v.version, v.effectiveFrom]), [[3, monthStart(3)], [4, monthStart(2)], [2, monthStart(1)], [1, monthStart()]]);
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await viewer.get(`/v1/rate-plans/${plan.id}/versions?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
    seen.push(...res.json.items.map((v: { version: number }) => v.version));
    cursor = res.json.nextCursor;
  } while (cursor);
  t.same(seen, [3, 4, 2, 1], "paged");
  t.equal((await viewer.get(`/v1/rate-plans/${plan.id}/versions?cursor=bm9wZQ`)).json.code, "validation_failed");

  // Refusals: each a stable code, nothing written.
  const before = await prisma.ratePlanVersion.count();
  const refusals: Array<[unknown, number, string]> = [
    [{ effectiveFrom: `${monthStart(1).slice(0, 8)}15`, monthlyFee: "1" }, 422, "effective_from_not_period_start"],
    [{ effectiveFrom: monthStart(-1), monthlyFee: "1" }, 422, "effective_from_in_past"],
    [{ effectiveFrom: monthStart(1), monthlyFee: "1" }, 409, "version_exists"],
    [{ effectiveFrom: monthStart(), monthlyFee: "1" }, 409, "version_exists"],
    [{ effectiveFrom: "2027-02-30", monthlyFee: "1" }, 400, "validation_failed"],
    [{ effectiveFrom: "next month", monthlyFee: "1" }, 400, "validation_failed"],
    [{ monthlyFee: "1" }, 400, "validation_failed"],
    [{ effectiveFrom: monthStart(4) }, 400, "validation_failed"],
    [{ effectiveFrom: monthStart(4), monthlyFee: 1.5, currency: "USD" }, 400, "validation_failed"],
  ];
  for (const [body, status, code] of refusals) {
    const res = await billing.post(`/v1/rate-plans/${plan.id}/versions`, body);
    t.same([res.status, res.json.code], [status, code], JSON.stringify(body));
  }
  t.equal((await billing.post("/v1/rate-plans/01900000-0000-7000-8000-00000000dead/versions", { effectiveFrom: monthStart(1), monthlyFee: "1" })).status, 404);
  t.equal((await viewer.get("/v1/rate-plans/01900000-0000-7000-8000-00000000dead/versions")).status, 404);

  // An issued invoice that billed the plan for a month closes that month and the ones before it to new prices.
  const invoice = await prisma.invoice.create({
    data: {
      tenantId: customer.id,
      periodStart: new Date(`${monthStart(5)}T00:00:00Z`),
      periodEnd: new Date(`${monthStart(6)}T00:00:00Z`),
      currency: "EUR",
      supplier: { legalName: "Conekt" },
      customer: { legalName: "Customer" },
      vatTreatment: "standard",
      lines: { create: [{ position: 1, kind: "monthly_fee", description: "Monthly fee", ratePlanId: plan.id, ratePlanVersion: 3, quantity: "1", unit: "SIM-month", unitPrice: "3.999999", netMinor: 400n, vatRate: "19.00" }] },
    },
  });
  const draftOk = await billing.post(`/v1/rate-plans/${plan.id}/versions`, { effectiveFrom: monthStart(5), monthlyFee: "2" });
  t.equal(draftOk.status, 201, "a draft invoice does not close the period");
  await prisma.invoice.update({ where: { id: invoice.id }, data: { status: "issued", series: "INV-T", number: "INV-T-000001", issueDate: new Date() } });
  const closed = await billing.post(`/v1/rate-plans/${plan.id}/versions`, { effectiveFrom: monthStart(4), monthlyFee: "1" });
  t.same([closed.status, closed.json.code, closed.json.period], [409, "period_already_invoiced", monthStart(5).slice(0, 7)], "an earlier month is closed too");
  t.equal((await billing.post(`/v1/rate-plans/${plan.id}/versions`, { effectiveFrom: monthStart(6), monthlyFee: "1" })).status, 201, "the month after is open");
  await prisma.invoice.update({ where: { id: invoice.id }, data: { status: "void", voidedAt: new Date(), voidReason: "test" } });
  t.equal((await billing.post(`/v1/rate-plans/${plan.id}/versions`, { effectiveFrom: monthStart(4), monthlyFee: "1" })).status, 201, "a voided invoice reopens it");
  t.equal(await prisma.ratePlanVersion.count(), before + 3);

  const audit = await prisma.auditEvent.findMany({ where: { tenantId: platform.id, action: "rate_plan.version_created" }, orderBy: { seq: "asc" } });
  t.equal(audit.length, 6, "one audit event per version added");
  t.match(audit[0]!.data, { code: "IOT-EU", version: 2, effectiveFrom: monthStart(1), monthlyFee: "4.00", includedBytes: "1000000000" });
});

t.test("only platform owners, admins and billing staff add versions; concurrent additions get distinct numbers", async (t) => {
  const ctx = await build(t);
  const { platform, customer, billing } = await staffWorld(ctx);
  const plan = (await billing.post("/v1/rate-plans", { code: "WHO", name: "Who", currency: "EUR" })).json;
  const body = (offset: number) => ({ effectiveFrom: monthStart(offset), monthlyFee: "1" });
  for (const role of ["owner", "admin", "operator", "billing", "viewer"] as const) {
    const member = await signedIn(ctx, customer.id, role);
    t.equal((await member.post(`/v1/rate-plans/${plan.id}/versions`, body(1))).status, 403, `customer ${role}`);
    t.equal((await member.get(`/v1/rate-plans/${plan.id}/versions`)).status, 200, `customer ${role} reads`);
  }
  for (const role of ["operator", "viewer"] as const) {
    const staff = await signedIn(ctx, platform.id, role);
    t.equal((await staff.post(`/v1/rate-plans/${plan.id}/versions`, body(1))).status, 403, `platform ${role}`);
  }
  t.equal(await ctx.prisma.ratePlanVersion.count(), 0);
  const admin = await signedIn(ctx, platform.id, "admin");
  const owner = await signedIn(ctx, platform.id, "owner");
  const results = await Promise.all([admin.post(`/v1/rate-plans/${plan.id}/versions`, body(1)), owner.post(`/v1/rate-plans/${plan.id}/versions`, body(2)), billing.post(`/v1/rate-plans/${plan.id}/versions`, body(1))]);
  t.same(results.map((r) => r.status).sort(), [201, 201, 409]);
  t.same((await ctx.prisma.ratePlanVersion.findMany({ where: { ratePlanId: plan.id } })).map((v) => v.version).sort(), [1, 2]);
});
