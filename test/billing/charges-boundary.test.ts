import t, { type Test } from "tap";
import { computeTenantBill } from "../../src/modules/billing/charges.js";
import { parsePeriod } from "../../src/modules/billing/period.js";
import { rollUpJournal } from "../../src/modules/usage/rollup.js";
import { build, type TestApp } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { ingestRecords, sourceId, usageFeed } from "../usage/helpers.js";
import { createPricedPlan } from "./factories.js";
import { assign, billIn, linesOf, simWithHistory, storeIssued } from "./charges-helpers.js";

/**
 * End to end through ingestion and the rollup: a record started at 23:59:59.999 UTC on the last day of a month is
 * billed in that month, one started at 00:00:00.000 UTC the next day in the next; one that arrives after the month
 * was invoiced is billed once, on the next invoice.
 */
const OCT = parsePeriod("2026-10")!;
const NOV = parsePeriod("2026-11")!;

const record = (iccid: string, startedAt: string, bytesUp: number) => ({
  sourceId: sourceId(),
  iccid,
  startedAt,
  endedAt: new Date(new Date(startedAt).getTime() + 1_000).toISOString(),
  bytesUp,
  bytesDown: 0,
});

async function ingestAndRollUp(t: Test, ctx: TestApp, tenantId: string, records: Array<Record<string, unknown>>) {
  const res = await ingestRecords(await usageFeed(ctx, tenantId), records);
  t.match(res.json, { accepted: records.length, rejected: 0 });
  t.match(await rollUpJournal({ prisma: ctx.prisma, jobs: ctx.runtime.jobs }), { outcome: "drained", records: records.length });
}

t.test("usage at the last millisecond of a month is billed in it, at midnight in the next; late usage once after", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const plan = await createPricedPlan(ctx.prisma, { monthlyFee: "0", overagePerMb: "1.00" }, { code: "EDGE-1", name: "Edge" });
  const sim = await simWithHistory(ctx.prisma, tenant.id, [["2026-08-01T00:00:00Z", "ready"], ["2026-09-01T00:00:00Z", "active"]]);
  await assign(ctx.prisma, sim, plan.id, "2026-01-01");

  await ingestAndRollUp(t, ctx, tenant.id, [record(sim.iccid, "2026-10-31T23:59:59.999Z", 1_000_000), record(sim.iccid, "2026-11-01T00:00:00.000Z", 2_000_000)]);
  const days = await ctx.prisma.usageDaily.findMany({ where: { tenantId: tenant.id }, orderBy: { day: "asc" } });
  t.same(days.map((d) => [d.day.toISOString().slice(0, 10), d.bytesUp]), [["2026-10-31", 1_000_000n], ["2026-11-01", 2_000_000n]]);

  const oct = await computeTenantBill(ctx.runtime.db.sql, tenant.id, OCT);
  t.same(linesOf(billIn(oct, "EUR")), [["data_overage", "Data beyond the allowance – EDGE-1 (Edge), 0 MB per SIM", "1", "MB", "1", 100]]);
  t.same(linesOf(billIn(await computeTenantBill(ctx.runtime.db.sql, tenant.id, NOV), "EUR")), [["data_overage", "Data beyond the allowance – EDGE-1 (Edge), 0 MB per SIM", "2", "MB", "1", 200]]);

  // October is invoiced; then a record of October arrives.
  await storeIssued(ctx.prisma, oct);
  await ingestAndRollUp(t, ctx, tenant.id, [record(sim.iccid, "2026-10-15T12:00:00Z", 500_000)]);
  t.same(linesOf(billIn(await computeTenantBill(ctx.runtime.db.sql, tenant.id, NOV), "EUR")), [
    ["data_overage", "Data beyond the allowance – EDGE-1 (Edge), 0 MB per SIM", "2", "MB", "1", 200],
    ["late_usage", "Late usage for 2026-10: data beyond the allowance – EDGE-1 (Edge), 0 MB per SIM", "0.5", "MB", "1", 50],
  ]);
});
