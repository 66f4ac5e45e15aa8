import t from "tap";
import { computeTenantBill } from "../../src/modules/billing/charges.js";
import { parsePeriod } from "../../src/modules/billing/period.js";
import { txSql } from "../../src/platform/db/database.js";
import { build, type TestApp } from "../helpers/build.js";
import { createRatePlan, createSim, createTenant } from "../helpers/factories.js";
import { addPlanVersion, createPricedPlan } from "./factories.js";
import { addUsage, assign, billIn, chargeOf, linesOf, MB, netTotal, simWithHistory } from "./charges-helpers.js";

/**
 * The billing computation's rules, each with amounts worked out by hand. Period 2026-11 has 30 days, 2026-12 31.
 * Every SIM below went ready in August and (unless said) active on 1 September, long before the period.
 */
const NOV = parsePeriod("2026-11")!;
const DEC = parsePeriod("2026-12")!;
const OCT = parsePeriod("2026-10")!;
const READY = "2026-08-01T00:00:00Z";
const LIVE = "2026-09-01T08:00:00Z";

const compute = (ctx: TestApp, tenantId: string, period = NOV) => computeTenantBill(ctx.runtime.db.sql, tenantId, period);

/** A SIM on `planId` since January with the given history after going ready. */
async function simOn(ctx: TestApp, tenantId: string, planId: string, later: Array<[string, "active" | "suspended" | "terminated"]> = [[LIVE, "active"]]) {
  const sim = await simWithHistory(ctx.prisma, tenantId, [[READY, "ready"], ...later]);
  await assign(ctx.prisma, sim, planId, "2026-01-01");
  return sim;
}

t.test("monthly and suspended fees: whole months on a plain plan, days on a prorated one; activation only in the period", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const a = await createPricedPlan(ctx.prisma, { monthlyFee: "5.00", suspendedFee: "1.00", activationFee: "2.50" }, { code: "FLAT-A", name: "Flat A" });
  const b = await createPricedPlan(ctx.prisma, { monthlyFee: "9.00", suspendedFee: "3.00", prorate: true }, { code: "DAYS-B", name: "Days B" });
  const a1 = await simOn(ctx, tenant.id, a.id); // active all month, activated in September
  const a2 = await simOn(ctx, tenant.id, a.id, [["2026-11-20T10:00:00Z", "active"]]); // first activation on the 20th
  const a3 = await simOn(ctx, tenant.id, a.id, [[LIVE, "active"], ["2026-11-03T00:00:00.000Z", "terminated"]]); // 1st and 2nd only
  const a4 = await simOn(ctx, tenant.id, a.id, [[LIVE, "active"], ["2026-10-15T00:00:00Z", "suspended"]]); // suspended all month
  const a5 = await simOn(ctx, tenant.id, a.id, [[LIVE, "active"], ["2026-11-05T09:00:00Z", "suspended"]]); // 5 active, 25 suspended days
  const b1 = await simOn(ctx, tenant.id, b.id);
  const b2 = await simOn(ctx, tenant.id, b.id, [["2026-11-16T23:59:59.999Z", "active"]]); // 16th..30th: 15 days
  const b3 = await simOn(ctx, tenant.id, b.id, [[LIVE, "active"], ["2026-11-10T12:00:00Z", "suspended"]]); // 10 + 20
  // Suspended on the 20th at midnight, resumed on the 25th at noon: active 1st-19th and 25th-30th (25 days),
  // suspended 20th-24th (5 days; the 25th is an active day).
  const b4 = await simOn(ctx, tenant.id, b.id, [[LIVE, "active"], ["2026-11-20T00:00:00Z", "suspended"], ["2026-11-25T12:00:00Z", "active"]]);

  const tb = await compute(ctx, tenant.id);
  t.equal(tb.bills.length, 1);
  const eur = billIn(tb, "EUR");
  t.same(linesOf(eur), [
    ["monthly_fee", "Monthly fee – DAYS-B (Days B), prorated by active days", "2.666667", "SIM-month", "9", 2400], // 80/30 x 9.00 = 24.000003
    ["suspended_fee", "Suspended fee – DAYS-B (Days B), prorated by suspended days", "0.833333", "SIM-month", "3", 250], // 25/30 x 3.00 = 2.499999
    ["monthly_fee", "Monthly fee – FLAT-A (Flat A)", "4", "SIM-month", "5", 2000], // a1, a2, a3, a5
    ["suspended_fee", "Suspended fee – FLAT-A (Flat A)", "1", "SIM-month", "1", 100], // a4 only: a5 pays its monthly fee
    ["activation_fee", "Activation fee – FLAT-A (Flat A)", "1", "SIM", "2.5", 250], // a2
  ]);
  t.equal(netTotal(eur), 5000n, "the total is the sum of the lines");
  t.ok(eur!.lines.every((l) => l.adjustsPeriod === null && l.ratePlanVersion === 1));

  const days = (sim: { iccid: string }) => {
    const c = chargeOf(eur, sim.iccid)!;
    return [c.billableDays, c.suspendedDays, c.activated, c.feeAmount, c.activationAmount];
  };
  t.same(days(a1), [30, 0, false, "5", "0"]);
  t.same(days(a2), [11, 0, true, "5", "2.5"]);
  t.same(days(a3), [2, 0, false, "5", "0"]);
  t.same(days(a4), [0, 30, false, "1", "0"]);
  t.same(days(a5), [5, 25, false, "5", "0"]);
  t.same(days(b1), [30, 0, false, "9", "0"]);
  t.same(days(b2), [15, 0, true, "4.5", "0"]);
  t.same(days(b3), [10, 20, false, "5", "0"]); // 3 + 2
  t.same(days(b4), [25, 5, false, "8", "0"]); // 7.5 + 0.5
  t.equal(eur!.simCharges.length, 9);
  t.ok(eur!.simCharges.every((c) => c.usagePeriod === "2026-11-01"));

  // December: only the SIMs still active or suspended; a2's activation is history.
  const dec = billIn(await compute(ctx, tenant.id, DEC), "EUR");
  t.same(linesOf(dec), [
    ["monthly_fee", "Monthly fee – DAYS-B (Days B), prorated by active days", "3", "SIM-month", "9", 2700],
    ["suspended_fee", "Suspended fee – DAYS-B (Days B), prorated by suspended days", "1", "SIM-month", "3", 300],
    ["monthly_fee", "Monthly fee – FLAT-A (Flat A)", "2", "SIM-month", "5", 1000],
    ["suspended_fee", "Suspended fee – FLAT-A (Flat A)", "2", "SIM-month", "1", 200],
  ]);

  // The issuing transaction runs the same computation through txSql: the same result, to the type.
  const inTx = await ctx.prisma.$transaction((tx) => computeTenantBill(txSql(tx), tenant.id, NOV));
  t.same(inTx, tb, "pool and transaction runners agree");
  t.same((await compute(ctx, (await createTenant(ctx.prisma)).id)).bills, [], "a tenant with nothing to bill has no bills");
});

t.test("data beyond the allowance per SIM and pooled, and SMS", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const ps = await createPricedPlan(ctx.prisma, { monthlyFee: "2.00", includedBytes: 1000n * MB, overagePerMb: "0.01", smsMoPrice: "0.05", smsMtPrice: "0.02" }, { code: "DATA-PS", name: "Per SIM" });
  const po = await createPricedPlan(ctx.prisma, { monthlyFee: "1.00", includedBytes: 1000n * MB, dataAllowance: "pooled", overagePerMb: "0.02" }, { code: "DATA-PO", name: "Pooled" });
  const [s1, s2, s3] = [await simOn(ctx, tenant.id, ps.id), await simOn(ctx, tenant.id, ps.id), await simOn(ctx, tenant.id, ps.id)];
  await addUsage(ctx.prisma, s1, "2026-11-03", { bytes: 1000n * MB, smsMo: 3 });
  await addUsage(ctx.prisma, s1, "2026-11-30", { bytes: 500n * MB, smsMt: 1 });
  await addUsage(ctx.prisma, s1, "2026-10-31", { bytes: 999n * MB, smsMo: 9 }); // other periods
  await addUsage(ctx.prisma, s1, "2026-12-01", { bytes: 999n * MB, smsMo: 9 });
  await addUsage(ctx.prisma, s2, "2026-11-10", { bytes: 800n * MB, smsMo: 2 });
  await addUsage(ctx.prisma, s3, "2026-11-15", { bytes: 1000n * MB + 1n });
  const [p1, p2, p3] = [await simOn(ctx, tenant.id, po.id), await simOn(ctx, tenant.id, po.id), await simOn(ctx, tenant.id, po.id)];
  const p4 = await simOn(ctx, tenant.id, po.id, [[LIVE, "active"], ["2026-10-15T00:00:00Z", "suspended"]]);
  await addUsage(ctx.prisma, p1, "2026-11-01", { bytes: 1200n * MB });
  await addUsage(ctx.prisma, p2, "2026-11-11", { bytes: 700n * MB });
  await addUsage(ctx.prisma, p2, "2026-11-12", { bytes: 800n * MB });
  await addUsage(ctx.prisma, p3, "2026-11-21", { bytes: 400n * MB });
  await addUsage(ctx.prisma, p4, "2026-11-02", { bytes: 100n * MB }); // a suspended SIM's usage is billed, it adds nothing to the pool

  const eur = billIn(await compute(ctx, tenant.id), "EUR");
  t.same(linesOf(eur), [
    ["monthly_fee", "Monthly fee – DATA-PO (Pooled)", "3", "SIM-month", "1", 300],
    // 1200 + 1500 + 400 + 100 MB against a pool of 3 x 1000 MB
    ["data_overage", "Data beyond the allowance – DATA-PO (Pooled), pooled: 3 SIMs × 1,000 MB", "200", "MB", "0.02", 400],
    ["monthly_fee", "Monthly fee – DATA-PS (Per SIM)", "3", "SIM-month", "2", 600],
    // s1 500 MB over, s2 under, s3 one byte over
    ["data_overage", "Data beyond the allowance – DATA-PS (Per SIM), 1,000 MB per SIM", "500.000001", "MB", "0.01", 500],
    ["sms_mo", "SMS from devices (MO) – DATA-PS (Per SIM)", "5", "SMS", "0.05", 25],
    ["sms_mt", "SMS to devices (MT) – DATA-PS (Per SIM)", "1", "SMS", "0.02", 2],
  ]);
  t.equal(netTotal(eur), 1827n);
  t.match(chargeOf(eur, s1.iccid), { bytes: 1500n * MB, includedBytes: 1000n * MB, overageBytes: 500n * MB, overageAmount: "5", smsMo: 3, smsMt: 1, smsAmount: "0.17", feeAmount: "2" });
  t.match(chargeOf(eur, s2.iccid), { bytes: 800n * MB, overageBytes: 0n, overageAmount: "0", smsAmount: "0.1" });
  t.match(chargeOf(eur, s3.iccid), { bytes: 1000n * MB + 1n, overageBytes: 1n, overageAmount: "0" }, "a share below 6 places rounds to 0");
  t.match(chargeOf(eur, p1.iccid), { bytes: 1200n * MB, includedBytes: 1000n * MB, overageBytes: 0n, overageAmount: "0" }, "pooled: the overage is on the line only");
  t.match(chargeOf(eur, p4.iccid), { billableDays: 0, suspendedDays: 30, bytes: 100n * MB, includedBytes: 0n });
});

t.test("an immediate plan change prorates both plans; a next-period change starts cleanly on the 1st", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const ca = await createPricedPlan(ctx.prisma, { monthlyFee: "6.00", includedBytes: 1000n * MB, overagePerMb: "0.01" }, { code: "CHG-A", name: "Change A" });
  const cb = await createPricedPlan(ctx.prisma, { monthlyFee: "12.00", includedBytes: 1000n * MB, overagePerMb: "0.01" }, { code: "CHG-B", name: "Change B" });
  const c1 = await simOn(ctx, tenant.id, ca.id);
  await assign(ctx.prisma, c1, cb.id, "2026-11-11", "immediate");
  await addUsage(ctx.prisma, c1, "2026-11-05", { bytes: 300n * MB }); // on A
  await addUsage(ctx.prisma, c1, "2026-11-20", { bytes: 1500n * MB }); // on B: B's whole allowance applies
  await simOn(ctx, tenant.id, ca.id); // c2: on A all month
  const c3 = await simOn(ctx, tenant.id, ca.id);
  await assign(ctx.prisma, c3, cb.id, "2026-12-01", "next_period");
  // To B on the 11th and back to A on the 26th: one A segment of 10 + 5 days, one B segment of 15.
  const c4 = await simOn(ctx, tenant.id, ca.id);
  await assign(ctx.prisma, c4, cb.id, "2026-11-11", "immediate");
  await assign(ctx.prisma, c4, ca.id, "2026-11-26", "immediate");
  // In test on A until the change, activated on B: charged on B only, so not prorated (and B has no activation fee).
  const c5 = await simOn(ctx, tenant.id, ca.id, [["2026-11-15T09:00:00Z", "active"]]);
  await assign(ctx.prisma, c5, cb.id, "2026-11-11", "immediate");

  const nov = billIn(await compute(ctx, tenant.id), "EUR");
  t.same(linesOf(nov), [
    ["monthly_fee", "Monthly fee – CHG-A (Change A), full month", "2", "SIM-month", "6", 1200], // c2, c3
    // (10 + 15) / 30 x 6.00 = 4.999998
    ["monthly_fee", "Monthly fee – CHG-A (Change A), prorated by active days (plan changed during the period)", "0.833333", "SIM-month", "6", 500],
    ["monthly_fee", "Monthly fee – CHG-B (Change B), full month", "1", "SIM-month", "12", 1200], // c5
    // (20 + 15) / 30 x 12.00 = 14.000004
    ["monthly_fee", "Monthly fee – CHG-B (Change B), prorated by active days (plan changed during the period)", "1.166667", "SIM-month", "12", 1400],
    ["data_overage", "Data beyond the allowance – CHG-B (Change B), 1,000 MB per SIM", "500", "MB", "0.01", 500],
  ]);
  t.equal(netTotal(nov), 4800n);
  t.match(chargeOf(nov, c1.iccid, ca.id), { billableDays: 10, bytes: 300n * MB, feeAmount: "2", overageBytes: 0n });
  t.match(chargeOf(nov, c1.iccid, cb.id), { billableDays: 20, bytes: 1500n * MB, feeAmount: "8", overageBytes: 500n * MB, overageAmount: "5" });
  t.match(chargeOf(nov, c3.iccid), { ratePlanId: ca.id, billableDays: 30, feeAmount: "6" });
  t.match(chargeOf(nov, c4.iccid, ca.id), { billableDays: 15, feeAmount: "3" });
  t.match(chargeOf(nov, c4.iccid, cb.id), { billableDays: 15, feeAmount: "6" });
  t.equal(nov!.simCharges.filter((c) => c.iccid === c4.iccid).length, 2, "one charge per SIM and plan");
  t.match(chargeOf(nov, c5.iccid, cb.id), { billableDays: 16, activated: true, feeAmount: "12", activationAmount: "0" });
  t.notOk(chargeOf(nov, c5.iccid, ca.id), "nothing on A while in test");

  const dec = billIn(await compute(ctx, tenant.id, DEC), "EUR");
  t.same(linesOf(dec), [
    ["monthly_fee", "Monthly fee – CHG-A (Change A)", "2", "SIM-month", "6", 1200], // c2, c4
    ["monthly_fee", "Monthly fee – CHG-B (Change B)", "3", "SIM-month", "12", 3600], // c1, c3, c5
  ]);
  t.match(chargeOf(dec, c3.iccid), { ratePlanId: cb.id, billableDays: 31, feeAmount: "12" });
  t.equal(dec!.simCharges.filter((c) => c.iccid === c3.iccid).length, 1, "no CHG-A segment for c3 in December");
});

t.test("usage in test state or without a plan is not billed; a SIM without history has had its status since it was created", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const plan = await createPricedPlan(ctx.prisma, { monthlyFee: "4.00", overagePerMb: "0.01", activationFee: "1.00" }, { code: "TEST-T", name: "Test T" });
  const t1 = await simWithHistory(ctx.prisma, tenant.id, [[READY, "ready"], ["2026-11-10T08:00:00Z", "active"]]);
  await assign(ctx.prisma, t1, plan.id, "2026-01-01");
  await addUsage(ctx.prisma, t1, "2026-11-05", { bytes: 100n * MB, smsMo: 4 }); // in test: free
  await addUsage(ctx.prisma, t1, "2026-11-10", { bytes: 50n * MB }); // the day it went active: billed
  await addUsage(ctx.prisma, t1, "2026-11-12", { bytes: 70n * MB });
  const t2 = await simWithHistory(ctx.prisma, tenant.id, [[READY, "ready"]]); // never activated
  await assign(ctx.prisma, t2, plan.id, "2026-01-01");
  await addUsage(ctx.prisma, t2, "2026-11-07", { bytes: 900n * MB });
  const n1 = await simWithHistory(ctx.prisma, tenant.id, [[READY, "ready"], [LIVE, "active"]]); // no plan at all
  await addUsage(ctx.prisma, n1, "2026-11-04", { bytes: 500n * MB });
  const n2 = await simWithHistory(ctx.prisma, tenant.id, [[READY, "ready"], [LIVE, "active"]]);
  await assign(ctx.prisma, n2, plan.id, "2026-11-21"); // a plan only from the 21st
  await addUsage(ctx.prisma, n2, "2026-11-15", { bytes: 200n * MB });
  await addUsage(ctx.prisma, n2, "2026-11-25", { bytes: 30n * MB });
  // A SIM as the factories make it (no history), created on the 21st: active since then.
  const f1 = await createSim(ctx.prisma, { tenantId: tenant.id, status: "active" });
  await ctx.prisma.sim.update({ where: { id: f1.id }, data: { createdAt: new Date("2026-11-21T00:00:00Z") } });
  await assign(ctx.prisma, f1, plan.id, "2026-01-01");

  const tb = await compute(ctx, tenant.id);
  const eur = billIn(tb, "EUR");
  t.same(linesOf(eur), [
    ["monthly_fee", "Monthly fee – TEST-T (Test T)", "3", "SIM-month", "4", 1200], // t1, n2, f1
    ["activation_fee", "Activation fee – TEST-T (Test T)", "1", "SIM", "1", 100], // t1
    ["data_overage", "Data beyond the allowance – TEST-T (Test T), 0 MB per SIM", "150", "MB", "0.01", 150], // 50 + 70 + 30
  ]);
  t.equal(netTotal(eur), 1450n);
  t.same(eur!.simCharges.map((c) => c.iccid).sort(), [t1.iccid, n2.iccid, f1.iccid].sort(), "no charges for the SIM in test or the one without a plan");
  t.match(chargeOf(eur, t1.iccid), { billableDays: 21, bytes: 120n * MB, smsMo: 0, activated: true });
  t.match(chargeOf(eur, n2.iccid), { billableDays: 10, bytes: 30n * MB });
  t.match(chargeOf(eur, f1.iccid), { billableDays: 10, activated: false });
  t.same(await ctx.prisma.$transaction((tx) => computeTenantBill(txSql(tx), tenant.id, NOV)), tb, "the same in a transaction (partial-day usage read too)");
  t.same((await compute(ctx, tenant.id, OCT)).bills, [], "October: t1 was in test, n1 and n2 had no plan, f1 did not exist");
});

t.test("one bill per currency, each rounded to its own minor unit", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const eur = await createPricedPlan(ctx.prisma, { monthlyFee: "5.00" }, { code: "CUR-EUR", name: "Euro", currency: "EUR" });
  const usd = await createPricedPlan(ctx.prisma, { monthlyFee: "7.00" }, { code: "CUR-USD", name: "Dollar", currency: "USD" });
  const jpy = await createPricedPlan(ctx.prisma, { monthlyFee: "480", prorate: true }, { code: "CUR-JPY", name: "Yen", currency: "JPY" });
  const e1 = await simOn(ctx, tenant.id, eur.id);
  const u1 = await simOn(ctx, tenant.id, usd.id);
  const j1 = await simOn(ctx, tenant.id, jpy.id, [[LIVE, "active"], ["2026-11-11T00:00:00Z", "suspended"]]); // 10 days

  const tb = await compute(ctx, tenant.id);
  t.same(tb.bills.map((b) => b.currency), ["EUR", "JPY", "USD"]);
  t.same(linesOf(billIn(tb, "EUR")), [["monthly_fee", "Monthly fee – CUR-EUR (Euro)", "1", "SIM-month", "5", 500]]);
  t.same(linesOf(billIn(tb, "JPY")), [["monthly_fee", "Monthly fee – CUR-JPY (Yen), prorated by active days", "0.333333", "SIM-month", "480", 160]]); // 159.99984 yen
  t.same(linesOf(billIn(tb, "USD")), [["monthly_fee", "Monthly fee – CUR-USD (Dollar)", "1", "SIM-month", "7", 700]]);
  t.same(tb.bills.map((b) => b.simCharges.map((c) => c.iccid)), [[e1.iccid], [j1.iccid], [u1.iccid]], "each SIM's charges go with its plan's currency");
});

t.test("prices: the version in effect on the period's first day; none at all refuses the bill", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const plan = await createPricedPlan(ctx.prisma, { monthlyFee: "5.00" }, { code: "VER-1", name: "Versions" });
  await addPlanVersion(ctx.prisma, plan.id, { monthlyFee: "7.00", effectiveFrom: "2026-11-01" }, 2);
  await addPlanVersion(ctx.prisma, plan.id, { monthlyFee: "9.00", effectiveFrom: "2026-12-01" }, 3);
  await simOn(ctx, tenant.id, plan.id);
  const versionOf = async (p = NOV) => billIn(await compute(ctx, tenant.id, p), "EUR")!.lines.map((l) => [l.ratePlanVersion, l.unitPrice, Number(l.netMinor)]);
  t.same(await versionOf(OCT), [[1, "5", 500]]);
  t.same(await versionOf(NOV), [[2, "7", 700]]);
  t.same(await versionOf(DEC), [[3, "9", 900]]);

  // A plan priced only from December, with a SIM billable in November.
  const late = await createTenant(ctx.prisma);
  const future = await createPricedPlan(ctx.prisma, { monthlyFee: "3.00", effectiveFrom: "2026-12-01" }, { code: "FUTURE-1", name: "Future" });
  await simOn(ctx, late.id, future.id);
  await t.rejects(compute(ctx, late.id), { status: 422, code: "rate_plan_unpriced", message: /FUTURE-1.*2026-11-01/ });
  t.equal(billIn(await compute(ctx, late.id, DEC), "EUR")!.lines.length, 1, "priced in December");

  // A plan with no version at all.
  const bare = await createTenant(ctx.prisma);
  const unpriced = await createRatePlan(ctx.prisma, { code: "BARE-1" });
  const inTest = await simWithHistory(ctx.prisma, bare.id, [[READY, "ready"]]);
  await assign(ctx.prisma, inTest, unpriced.id, "2026-01-01");
  t.same((await compute(ctx, bare.id)).bills, [], "a SIM in test costs nothing: the missing price does not matter yet");
  await simOn(ctx, bare.id, unpriced.id, [[LIVE, "active"], ["2026-10-01T00:00:00Z", "suspended"]]);
  await t.rejects(compute(ctx, bare.id), { code: "rate_plan_unpriced", message: /BARE-1/ }, "a suspended SIM is charged too");
});
