import t from "tap";
import { DEMO_PRICES, DEMO_RATE_PLAN, seedDemoFleet } from "../../src/modules/demo/demo-fleet.js";
import { pricesInEffect } from "../../src/modules/rate-plans/plan-prices.js";
import { txSql } from "../../src/platform/db/database.js";
import { addPlanVersion, createPricedPlan } from "../billing/factories.js";
import { build } from "../helpers/build.js";
import { createRatePlan, createTenant } from "../helpers/factories.js";

t.test("pricesInEffect: the version starting last on or before the day, on the pool and in a transaction", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const sql = ctx.runtime.db.sql;
  const plan = await createPricedPlan(prisma, { monthlyFee: "5.00", effectiveFrom: "2026-01-01", includedBytes: 9_007_199_254_740_993n, overagePerMb: "0.0125" }, { code: "PRICED", currency: "CHF" });
  await addPlanVersion(prisma, plan.id, { monthlyFee: "4.50", effectiveFrom: "2026-07-01", prorate: true, dataAllowance: "pooled" }, 2);
  const unpriced = await createRatePlan(prisma, { code: "UNPRICED" });

  const before = await pricesInEffect(sql, [plan.id, unpriced.id], "2025-12-31");
  t.equal(before.size, 0, "nothing before the first version; unpriced plans are absent");

  const first = await pricesInEffect(sql, [plan.id, unpriced.id, plan.id], new Date("2026-06-30T23:59:59.999Z"));
  t.same([...first.keys()], [plan.id]);
  const p = first.get(plan.id)!;
  t.match(p, { ratePlanId: plan.id, code: "PRICED", currency: "CHF", version: 1, effectiveFrom: "2026-01-01", prorate: false, dataAllowance: "per_sim" });
  t.equal(p.includedBytes, 9_007_199_254_740_993n, "bytes exact past 2^53");
  t.equal(p.monthlyFee.toFixed(2), "5.00");
  t.equal(p.overagePerMb.mul(3).toString(), "0.0375", "decimal arithmetic, no floats");

  const second = (await pricesInEffect(sql, [plan.id], "2026-07-01")).get(plan.id)!;
  t.match(second, { version: 2, effectiveFrom: "2026-07-01", prorate: true, dataAllowance: "pooled" });
  t.equal(second.monthlyFee.toString(), "4.5");

  const inTx = await prisma.$transaction((tx) => pricesInEffect(txSql(tx), [plan.id], "2026-12-01"));
  t.match(inTx.get(plan.id), { version: 2, effectiveFrom: "2026-07-01", includedBytes: 0n });
  t.equal(inTx.get(plan.id)!.monthlyFee.toString(), "4.5", "the same answer inside a transaction");
  t.equal((await pricesInEffect(sql, [], "2026-12-01")).size, 0);
});

t.test("the demo plan has prices and the demo SIMs their plan assignments, once", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const tenant = await createTenant(prisma);
  const seeded = await seedDemoFleet(prisma, { tenantId: tenant.id, slug: "pricing-demo", sims: 40, days: 2 });
  t.equal(seeded.created, true);

  const plan = await prisma.ratePlan.findUniqueOrThrow({ where: { code: DEMO_RATE_PLAN.code }, include: { versions: true } });
  t.equal(plan.versions.length, 1);
  const [oldest] = await prisma.$queryRaw<Array<{ month: string }>>`
    SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM') AS month FROM connectivity.sims WHERE tenant_id = ${tenant.id}::uuid`;
  const version = plan.versions[0]!;
  t.equal(version.effectiveFrom.toISOString().slice(0, 10), `${oldest!.month}-01`, "in effect since the oldest SIM's month");
  t.same(
    { monthlyFee: version.monthlyFee.toFixed(2), includedBytes: version.includedBytes.toString(), overagePerMb: version.overagePerMb.toFixed(2), smsMoPrice: version.smsMoPrice.toFixed(2), activationFee: version.activationFee.toFixed(2) },
    { monthlyFee: DEMO_PRICES.monthlyFee, includedBytes: DEMO_PRICES.includedBytes, overagePerMb: DEMO_PRICES.overagePerMb, smsMoPrice: DEMO_PRICES.smsMoPrice, activationFee: DEMO_PRICES.activationFee },
  );
  const today = (await pricesInEffect(ctx.runtime.db.sql, [plan.id], new Date())).get(plan.id);
  t.equal(today?.monthlyFee.toFixed(2), "2.50", "billable today");

  const [check] = await prisma.$queryRaw<Array<{ sims: number; assigned: number; wrong: number }>>`
    SELECT (SELECT count(*)::int FROM connectivity.sims WHERE tenant_id = ${tenant.id}::uuid) AS sims,
           (SELECT count(*)::int FROM connectivity.sim_rate_plan_assignments WHERE tenant_id = ${tenant.id}::uuid) AS assigned,
           (SELECT count(*)::int FROM connectivity.sim_rate_plan_assignments a JOIN connectivity.sims s ON s.id = a.sim_id
             WHERE a.tenant_id = ${tenant.id}::uuid AND (a.rate_plan_id <> ${plan.id}::uuid OR a.kind <> 'allocation'
               OR a.effective_from <> (s.created_at AT TIME ZONE 'UTC')::date)) AS wrong`;
  t.same(check, { sims: 40, assigned: 40, wrong: 0 }, "one allocation assignment per SIM, from its creation day");

  // Again, and a second demo tenant: no second version (the first already covers its SIMs), their own assignments.
  t.equal((await seedDemoFleet(prisma, { tenantId: tenant.id, slug: "pricing-demo", sims: 40, days: 2 })).created, false);
  const other = await createTenant(prisma);
  await seedDemoFleet(prisma, { tenantId: other.id, slug: "pricing-demo-2", sims: 10, days: 1 });
  const versions = await prisma.ratePlanVersion.findMany({ where: { ratePlanId: plan.id } });
  t.ok(versions.length >= 1 && versions.length <= 2, "a second version only where the other tenant's SIMs are older");
  t.equal(await prisma.simRatePlanAssignment.count({ where: { tenantId: tenant.id } }), 40);
  t.equal(await prisma.simRatePlanAssignment.count({ where: { tenantId: other.id } }), 10);
  const [uncovered] = await prisma.$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM connectivity.sim_rate_plan_assignments a
    WHERE NOT EXISTS (SELECT 1 FROM enterprise.rate_plan_versions v WHERE v.rate_plan_id = a.rate_plan_id AND v.effective_from <= a.effective_from)`;
  t.equal(uncovered!.n, 0, "every demo assignment starts where the plan has prices");
});
