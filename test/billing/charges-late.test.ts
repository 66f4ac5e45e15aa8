import t from "tap";
import { computeTenantBill } from "../../src/modules/billing/charges.js";
import { parsePeriod, type BillingPeriod } from "../../src/modules/billing/period.js";
import { txSql } from "../../src/platform/db/database.js";
import { build, type TestApp } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { createPricedPlan } from "./factories.js";
import { addUsage, assign, billIn, chargeOf, linesOf, MB, netTotal, simWithHistory, storeIssued } from "./charges-helpers.js";

/**
 * Late usage: usage of an invoiced period that arrived after its invoice goes on a later invoice, once, as
 * labelled `late_usage` lines. The earlier invoices are stored here the way issuing stores them (draft, lines and
 * per-SIM charges, then issued), from the computation's own result.
 */
const [OCT, NOV, DEC] = ["2026-10", "2026-11", "2026-12"].map((k) => parsePeriod(k)!) as [BillingPeriod, BillingPeriod, BillingPeriod];

const compute = (ctx: TestApp, tenantId: string, period: BillingPeriod) => computeTenantBill(ctx.runtime.db.sql, tenantId, period);
const lateOf = (bill: ReturnType<typeof billIn>) => (bill?.lines ?? []).filter((l) => l.kind === "late_usage");

async function activeSim(ctx: TestApp, tenantId: string, planId: string, since = "2026-09-01T00:00:00Z", more: Array<[string, "terminated"]> = []) {
  const sim = await simWithHistory(ctx.prisma, tenantId, [["2020-01-01T00:00:00Z", "ready"], [since, "active"], ...more]);
  await assign(ctx.prisma, sim, planId, "2020-01-01");
  return sim;
}

t.test("usage that arrives after a period was invoiced is billed once on the next invoices, per SIM or per pool", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const ps = await createPricedPlan(ctx.prisma, { monthlyFee: "5.00", includedBytes: 1000n * MB, overagePerMb: "0.01", smsMoPrice: "0.05" }, { code: "LATE-PS", name: "Late per SIM" });
  const po = await createPricedPlan(ctx.prisma, { monthlyFee: "1.00", includedBytes: 1000n * MB, dataAllowance: "pooled", overagePerMb: "0.02" }, { code: "LATE-PO", name: "Late pooled" });
  const s1 = await activeSim(ctx, tenant.id, ps.id);
  const s2 = await activeSim(ctx, tenant.id, po.id);
  const s3 = await activeSim(ctx, tenant.id, po.id);
  await addUsage(ctx.prisma, s1, "2026-10-10", { bytes: 900n * MB });
  await addUsage(ctx.prisma, s2, "2026-10-12", { bytes: 800n * MB });
  await addUsage(ctx.prisma, s3, "2026-10-20", { bytes: 1100n * MB }); // pool 2000 MB, 1900 used: no overage

  const oct = await compute(ctx, tenant.id, OCT);
  t.same(linesOf(billIn(oct, "EUR")).map((l) => l[0]), ["monthly_fee", "monthly_fee"], "October: fees only");
  await storeIssued(ctx.prisma, oct);

  // Late records for October: s1 goes 200 MB over its allowance and sent 2 SMS; the pool goes 300 MB over.
  await addUsage(ctx.prisma, s1, "2026-10-31", { bytes: 300n * MB, smsMo: 2 });
  await addUsage(ctx.prisma, s2, "2026-10-31", { bytes: 400n * MB });

  const nov = await compute(ctx, tenant.id, NOV);
  const eur = billIn(nov, "EUR");
  t.same(linesOf(eur), [
    ["monthly_fee", "Monthly fee – LATE-PO (Late pooled)", "2", "SIM-month", "1", 200],
    ["monthly_fee", "Monthly fee – LATE-PS (Late per SIM)", "1", "SIM-month", "5", 500],
    ["late_usage", "Late usage for 2026-10: data beyond the allowance – LATE-PO (Late pooled), pooled: 2 SIMs × 1,000 MB", "300", "MB", "0.02", 600],
    ["late_usage", "Late usage for 2026-10: data beyond the allowance – LATE-PS (Late per SIM), 1,000 MB per SIM", "200", "MB", "0.01", 200],
    ["late_usage", "Late usage for 2026-10: SMS from devices (MO) – LATE-PS (Late per SIM)", "2", "SMS", "0.05", 10],
  ]);
  t.equal(netTotal(eur), 1510n);
  t.same(lateOf(eur).map((l) => [l.adjustsPeriod, l.ratePlanVersion]), [["2026-10-01", 1], ["2026-10-01", 1], ["2026-10-01", 1]]);
  t.match(chargeOf(eur, s1.iccid, ps.id, "2026-10-01"), { billableDays: 0, bytes: 300n * MB, includedBytes: 0n, overageBytes: 200n * MB, overageAmount: "2", smsMo: 2, smsAmount: "0.1", feeAmount: "0" });
  t.match(chargeOf(eur, s2.iccid, po.id, "2026-10-01"), { bytes: 400n * MB, overageBytes: 0n, overageAmount: "0" }, "a pooled SIM's delta is recorded at no charge of its own");
  t.notOk(chargeOf(eur, s3.iccid, po.id, "2026-10-01"), "nothing new for s3");
  t.same(await ctx.prisma.$transaction((tx) => computeTenantBill(txSql(tx), tenant.id, NOV)), nov, "the same inside a transaction");

  // Once November's invoice (with the adjustment) is issued, October's late usage is not billed again.
  await storeIssued(ctx.prisma, nov);
  const dec = billIn(await compute(ctx, tenant.id, DEC), "EUR");
  t.same(linesOf(dec).map((l) => l[0]), ["monthly_fee", "monthly_fee"], "December: fees only");
  t.ok(dec!.simCharges.every((c) => c.usagePeriod === "2026-12-01"));

  // More late records: for October (the pool 100 MB further over) and for November (one SMS).
  await addUsage(ctx.prisma, s2, "2026-10-15", { bytes: 100n * MB });
  await addUsage(ctx.prisma, s1, "2026-11-30", { smsMo: 1 });
  const dec2 = billIn(await compute(ctx, tenant.id, DEC), "EUR");
  t.same(linesOf(dec2).slice(2), [
    ["late_usage", "Late usage for 2026-10: data beyond the allowance – LATE-PO (Late pooled), pooled: 2 SIMs × 1,000 MB", "100", "MB", "0.02", 200],
    ["late_usage", "Late usage for 2026-11: SMS from devices (MO) – LATE-PS (Late per SIM)", "1", "SMS", "0.05", 5],
  ]);
  t.same(lateOf(dec2).map((l) => l.adjustsPeriod), ["2026-10-01", "2026-11-01"]);
  t.match(chargeOf(dec2, s2.iccid, po.id, "2026-10-01"), { bytes: 100n * MB });
  t.match(chargeOf(dec2, s1.iccid, ps.id, "2026-11-01"), { bytes: 0n, smsMo: 1, smsAmount: "0.05" });
  t.same((await computeTenantBill(ctx.runtime.db.sql, tenant.id, DEC, { lateUsage: false })).bills.flatMap((b) => lateOf(b)), [], "lateUsage: false leaves them out");
});

t.test("only issued or paid invoices of the last 12 periods count; a late line may be all a bill holds", async (t) => {
  const ctx = await build(t);
  const plan = await createPricedPlan(ctx.prisma, { monthlyFee: "5.00", overagePerMb: "0.01" }, { code: "LATE-W", name: "Window" });

  // Paid counts like issued; the SIM ended in October, so November holds only the adjustment.
  const paid = await createTenant(ctx.prisma);
  const p1 = await activeSim(ctx, paid.id, plan.id, "2026-09-01T00:00:00Z", [["2026-11-01T00:00:00Z", "terminated"]]);
  await addUsage(ctx.prisma, p1, "2026-10-05", { bytes: 10n * MB });
  await storeIssued(ctx.prisma, await compute(ctx, paid.id, OCT), { status: "paid" });
  await addUsage(ctx.prisma, p1, "2026-10-06", { bytes: 5n * MB });
  t.same(linesOf(billIn(await compute(ctx, paid.id, NOV), "EUR")), [["late_usage", "Late usage for 2026-10: data beyond the allowance – LATE-W (Window), 0 MB per SIM", "5", "MB", "0.01", 5]]);

  // A void invoice billed nothing: the period has no invoice, its usage is not late.
  const voided = await createTenant(ctx.prisma);
  const v1 = await activeSim(ctx, voided.id, plan.id);
  await addUsage(ctx.prisma, v1, "2026-10-05", { bytes: 10n * MB });
  await storeIssued(ctx.prisma, await compute(ctx, voided.id, OCT), { status: "void" });
  await addUsage(ctx.prisma, v1, "2026-10-06", { bytes: 5n * MB });
  t.same(lateOf(billIn(await compute(ctx, voided.id, NOV), "EUR")), []);

  // November 2025 is the 12th period before November 2026: looked at; October 2025, the 13th, is not.
  const old = await createTenant(ctx.prisma);
  const o1 = await activeSim(ctx, old.id, plan.id, "2025-01-01T00:00:00Z");
  for (const key of ["2025-10", "2025-11"]) await storeIssued(ctx.prisma, await compute(ctx, old.id, parsePeriod(key)!));
  for (const key of ["2025-10", "2025-11"]) await addUsage(ctx.prisma, o1, `${key}-20`, { bytes: 7n * MB });
  t.same(lateOf(billIn(await compute(ctx, old.id, NOV), "EUR")).map((l) => [l.adjustsPeriod, l.quantity]), [["2025-11-01", "7"]]);
});

t.test("a period is not recomputed when none of its usage changed since it was billed", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const plan = await createPricedPlan(ctx.prisma, { monthlyFee: "5.00", overagePerMb: "0.01" }, { code: "LATE-S", name: "Skip" });
  const s1 = await activeSim(ctx, tenant.id, plan.id);
  const computedAt = new Date(Date.now() - 3 * 3_600_000);
  await storeIssued(ctx.prisma, await compute(ctx, tenant.id, OCT), { createdAt: computedAt });
  // Usage stamped well before October's invoice was computed: it was there to be billed, October is skipped.
  await addUsage(ctx.prisma, s1, "2026-10-05", { bytes: 10n * MB, updatedAt: new Date(computedAt.getTime() - 2 * 3_600_000) });
  t.same(lateOf(billIn(await compute(ctx, tenant.id, NOV), "EUR")), []);
  // A row changed since: October is recomputed, and everything its invoice did not bill is late.
  await addUsage(ctx.prisma, s1, "2026-10-06", { bytes: 1n * MB });
  t.same(lateOf(billIn(await compute(ctx, tenant.id, NOV), "EUR")).map((l) => l.quantity), ["11"]);
});
