import t from "tap";
import { createProcessors } from "../../jobs/processors.js";
import { createKeyring } from "../../src/platform/crypto.js";
import { planRun } from "../../src/modules/billing/billing-run-plan.js";
import { billRunTenant } from "../../src/modules/billing/billing-run-tenant.js";
import { scheduleBillingRun } from "../../src/modules/billing/billing-schedule.js";
import { previousPeriod, periodContaining } from "../../src/modules/billing/period.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { createPricedPlan } from "./factories.js";
import { billableTenant } from "./runs-helpers.js";

/**
 * The monthly schedule: billing.schedule runs hourly on every instance; the previous month's run is created once
 * `runDelayHours` after the month ended, once per period however many schedulers fire at once.
 */
const deps = (ctx: Awaited<ReturnType<typeof build>>) => ({ prisma: ctx.prisma, jobs: ctx.runtime.jobs });

t.test("the scheduled run waits runDelayHours, then is created once for two concurrent schedulers", async (t) => {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const plan = await createPricedPlan(ctx.prisma);
  const customer = await billableTenant(ctx.prisma, plan.id, 2);

  // October ended at 2026-11-01T00:00Z; the default delay is 24 hours.
  t.same(await scheduleBillingRun(deps(ctx), new Date("2026-11-01T23:59:59Z")), { due: false, period: "2026-10" });
  t.equal(await ctx.prisma.billingRun.count(), 0);

  const at = new Date("2026-11-02T00:00:00Z");
  const [a, b] = await Promise.all([scheduleBillingRun(deps(ctx), at), scheduleBillingRun(deps(ctx), at)]);
  t.ok(a.due && b.due);
  if (!a.due || !b.due) return;
  t.equal(a.runId, b.runId, "both schedulers found the same run");
  t.same([a.created, b.created].sort(), [false, true], "one of them created it");
  const runs = await ctx.prisma.billingRun.findMany();
  t.equal(runs.length, 1);
  t.match(runs[0], { trigger: "schedule", status: "queued", actorType: "system", actorId: "billing.schedule", tenantId: null });
  t.equal(runs[0]!.periodStart.toISOString().slice(0, 10), "2026-10-01");
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: platform.id, action: "billing_run.created", targetId: a.runId } }), 1);

  // Every later hour of the month finds it.
  const later = await scheduleBillingRun(deps(ctx), new Date("2026-11-20T10:00:00Z"));
  t.match(later, { due: true, created: false, runId: a.runId });
  t.equal(await ctx.prisma.billingRun.count(), 1);

  // The run bills like any other (driven here by hand: the test's workers are not started).
  t.match(await planRun(deps(ctx), a.runId), { tenants: 1, queued: 1 });
  t.match(await planRun(deps(ctx), a.runId), { tenants: 1, queued: 1 }, "re-planning (a retried job) queues the pending tenant again, lists nobody twice");
  t.equal(await ctx.prisma.billingRunTenant.count({ where: { runId: a.runId } }), 1);
  const outcome = await billRunTenant(deps(ctx), a.runId, customer.tenant.id, { lastAttempt: false });
  t.match(outcome, { outcome: "invoiced" });
  t.match(await billRunTenant(deps(ctx), a.runId, customer.tenant.id, { lastAttempt: false }), { outcome: "already_done", state: "invoiced" }, "a repeated job bills nothing");
  t.match(await ctx.prisma.billingRun.findUniqueOrThrow({ where: { id: a.runId } }), { status: "completed", tenantsDone: 1, invoicesCreated: 1 });
  t.equal(await ctx.prisma.invoice.count({ where: { tenantId: customer.tenant.id } }), 1);
  t.same(await planRun(deps(ctx), a.runId), { tenants: 0, queued: 0 }, "a finished run is not planned again");
});

t.test("the billing.schedule processor, fired twice at once, creates the previous month's run once", async (t) => {
  const ctx = await build(t);
  await createTenant(ctx.prisma, { kind: "platform" });
  // No delay: the previous month is always due, whatever the clock says today.
  await ctx.prisma.billingSettings.create({
    data: { issuerLegalName: "Conekt GmbH", issuerAddress: { line1: "Torstraße 1", postalCode: "10119", city: "Berlin", country: "DE" }, issuerCountry: "DE", issuerVatId: "DE136695976", runDelayHours: 0 },
  });
  const processors = createProcessors({ prisma: ctx.prisma, sql: ctx.runtime.db.sql, config: ctx.config, keyring: createKeyring(ctx.runtime.secrets.encryptionKeys), connectors: ctx.runtime.connectors, jobs: () => ctx.runtime.jobs });
  const jobCtx = { attempt: 1, progress: async () => undefined, log: () => undefined };
  await Promise.all([processors["billing.schedule"]({}, jobCtx), processors["billing.schedule"]({}, jobCtx)]);
  const runs = await ctx.prisma.billingRun.findMany();
  t.equal(runs.length, 1);
  t.equal(runs[0]!.periodStart.toISOString().slice(0, 7), previousPeriod(periodContaining(new Date())).key);
  t.equal(runs[0]!.trigger, "schedule");

  // No customer tenant at all: the run completes as soon as it is planned.
  t.same(await planRun(deps(ctx), runs[0]!.id), { tenants: 0, queued: 0 });
  t.match(await ctx.prisma.billingRun.findUniqueOrThrow({ where: { id: runs[0]!.id } }), { status: "completed", tenantsTotal: 0, tenantsDone: 0 });
  t.ok((await ctx.prisma.billingRun.findUniqueOrThrow({ where: { id: runs[0]!.id } })).finishedAt);
});

t.test("nothing is issued while the issuer's details are incomplete: the schedule waits, issuing refuses", async (t) => {
  const ctx = await build(t);
  // The bootstrap's platform tenant: placeholders for the address, no VAT id, and no billing settings saved.
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  await ctx.prisma.tenant.update({ where: { id: platform.id }, data: { vatId: null, billingAddress: { line1: "-", postalCode: "-", city: "-", country: "DE" } } });
  const plan = await createPricedPlan(ctx.prisma);
  const customer = await billableTenant(ctx.prisma, plan.id, 1);

  const waiting = await scheduleBillingRun(deps(ctx), new Date("2026-11-02T00:00:00Z"));
  t.same(waiting, { due: false, period: "2026-10", waitingFor: ["address.line1", "address.postalCode", "address.city", "vatId"] });
  t.equal(await ctx.prisma.billingRun.count(), 0, "no run was created");

  // A run started by hand fails the tenant with the reason, and takes no invoice number.
  const run = await ctx.prisma.billingRun.create({ data: { periodStart: new Date("2026-10-01T00:00:00Z"), trigger: "manual", actorType: "system", tenantsTotal: 1 } });
  await ctx.prisma.billingRunTenant.create({ data: { runId: run.id, tenantId: customer.tenant.id } });
  const outcome = await billRunTenant(deps(ctx), run.id, customer.tenant.id, { lastAttempt: true });
  t.match(outcome, { outcome: "failed", error: /^billing_settings_incomplete: .*vatId/ });
  t.equal(await ctx.prisma.invoice.count({ where: { tenantId: customer.tenant.id } }), 0, "no invoice, not even a draft");
  t.equal(await ctx.prisma.invoiceSeries.count(), 0, "no number taken");

  // Once the platform's details are complete, the schedule creates the run.
  await ctx.prisma.tenant.update({ where: { id: platform.id }, data: { vatId: "DE136695976", billingAddress: { line1: "Invalidenstraße 1", postalCode: "10115", city: "Berlin", country: "DE" } } });
  t.match(await scheduleBillingRun(deps(ctx), new Date("2026-11-02T01:00:00Z")), { due: true, created: true, period: "2026-10" });
});
