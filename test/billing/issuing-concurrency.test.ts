import t from "tap";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { billTenant } from "../../src/modules/billing/issuing.js";
import { UnprocessableError } from "../../src/platform/errors.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { eurBill, expectedNumbers, feeLine, handCompute, numbersOf, period, thisYear } from "./issuing-helpers.js";

/**
 * Exactly once and gapless under concurrency: billTenant calls racing for one tenant issue one invoice; many
 * tenants billed at once get consecutive numbers; a transaction that fails after taking its number (a trigger
 * refusing the issue) or before (an unpriced plan) leaves no hole and no duplicate.
 */
const ACTOR = systemActor("test-billing");
const NOV = period("2026-11");

t.test("five billTenant calls at once for one tenant and period issue one invoice", async (t) => {
  const ctx = await build(t);
  await createTenant(ctx.prisma, { kind: "platform" });
  const tenant = await createTenant(ctx.prisma);
  const compute = handCompute(new Map([[tenant.id, [eurBill([feeLine(2500n)])]]]));
  const results = await Promise.all(
    Array.from({ length: 5 }, () => billTenant({ prisma: ctx.prisma, jobs: ctx.runtime.jobs, compute }, { tenantId: tenant.id, period: NOV, actor: ACTOR, autoIssue: true })),
  );
  t.equal(results.filter((r) => r.outcome === "invoiced").length, 1, "one call issued");
  t.same(results.filter((r) => r.outcome === "skipped").map((r) => (r as { reason: string }).reason), ["already_invoiced", "already_invoiced", "already_invoiced", "already_invoiced"]);
  t.equal(await ctx.prisma.invoice.count({ where: { tenantId: tenant.id } }), 1);
  t.same(await numbersOf(ctx.prisma, `INV-${thisYear()}`), expectedNumbers(`INV-${thisYear()}`, 1));
});

t.test("tenants billed in parallel get consecutive numbers; failures before or after taking a number leave no gap", async (t) => {
  const ctx = await build(t);
  await createTenant(ctx.prisma, { kind: "platform" });
  const tenants = [];
  for (let i = 0; i < 12; i++) tenants.push(await createTenant(ctx.prisma, { legalName: `Parallel ${String(i).padStart(2, "0")} GmbH` }));
  const unpriced = tenants[3]!;
  const refusedAtIssue = tenants[7]!;
  const bills = new Map<string, ReturnType<typeof eurBill>[] | Error>(tenants.map((x, i) => [x.id, [eurBill([feeLine(BigInt(100 * (i + 1)))])]]));
  bills.set(unpriced.id, new UnprocessableError("Rate plan TEST has no price in effect on 2026-11-01.", "rate_plan_unpriced"));
  const compute = handCompute(bills);
  // A failure after the number was taken: this tenant's issuing UPDATE (which follows the series increment in the
  // same transaction) is refused by a trigger, so its transaction rolls back holding a number.
  await ctx.prisma.$executeRawUnsafe(`
    CREATE FUNCTION test_refuse_issue() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.status = 'issued' AND NEW.tenant_id = '${refusedAtIssue.id}' THEN RAISE EXCEPTION 'refused by the test'; END IF;
      RETURN NEW;
    END $$`);
  await ctx.prisma.$executeRawUnsafe(`CREATE TRIGGER test_refuse_issue BEFORE UPDATE ON enterprise.invoices FOR EACH ROW EXECUTE FUNCTION test_refuse_issue()`);

  const results = await Promise.allSettled(
    tenants.map((x) => billTenant({ prisma: ctx.prisma, jobs: ctx.runtime.jobs, compute }, { tenantId: x.id, period: NOV, actor: ACTOR, autoIssue: true })),
  );
  t.equal(results.filter((r) => r.status === "fulfilled").length, 10, "ten tenants invoiced");
  t.match(String((results[3] as PromiseRejectedResult).reason), /rate_plan_unpriced|no price/, "the unpriced tenant failed in the computation");
  t.match(String((results[7] as PromiseRejectedResult).reason), /refused by the test/, "the refused tenant failed after taking its number");
  const series = `INV-${thisYear()}`;
  t.same(await numbersOf(ctx.prisma, series), expectedNumbers(series, 10), "INV-…-000001 to 000010: no hole, no duplicate");
  t.equal(await ctx.prisma.invoice.count({ where: { tenantId: { in: [unpriced.id, refusedAtIssue.id] } } }), 0, "nothing of the failed tenants was kept");
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: refusedAtIssue.id } }), 0);
  t.equal(await ctx.prisma.webhookDelivery.count({ where: { tenantId: refusedAtIssue.id } }), 0);

  // Once fixed, they are billed with the next numbers.
  await ctx.prisma.$executeRawUnsafe(`DROP TRIGGER test_refuse_issue ON enterprise.invoices`);
  bills.set(unpriced.id, [eurBill([feeLine(999n)])]);
  for (const x of [refusedAtIssue, unpriced]) {
    t.equal((await billTenant({ prisma: ctx.prisma, jobs: ctx.runtime.jobs, compute }, { tenantId: x.id, period: NOV, actor: ACTOR, autoIssue: true })).outcome, "invoiced");
  }
  t.same(await numbersOf(ctx.prisma, series), expectedNumbers(series, 12));
  const [row] = await ctx.prisma.$queryRaw<Array<{ next_number: number }>>`SELECT next_number FROM enterprise.invoice_series WHERE code = ${series}`;
  t.equal(row!.next_number, 13, "the series' next number follows the last issued");
});
