import t from "tap";
import { build } from "../helpers/build.js";
import { createRatePlan, createTenant } from "../helpers/factories.js";
import { assign, simWithHistory } from "./charges-helpers.js";
import { addPlanVersion, createPricedPlan } from "./factories.js";
import { expectedNumbers, numbersOf, staffClient, thisYear, waitFor } from "./issuing-helpers.js";
import { billableTenant, finishedRun, RUN_PERIOD, startRunApi } from "./runs-helpers.js";

/**
 * Billing runs end to end: the API, the billing.run and billing.tenant jobs on BullMQ (real Redis), the real
 * computation, issuing, the invoice.issued webhook and mail. Exactly once per tenant and period, and numbers
 * without gaps, however often and however concurrently runs are started.
 */
const series = () => `INV-${thisYear()}`;

t.test("a run invoices every customer tenant once with consecutive numbers, announces each; a second run skips them all", async (t) => {
  const ctx = await build(t, { DATABASE_POOL_MAX: "8" }, { startJobs: true });
  const { client: staff, platformId } = await staffClient(ctx, "billing");
  const plan = await createPricedPlan(ctx.prisma, { monthlyFee: "5.00" }, { code: "RUN-5", name: "Run five" });
  const billed = [
    await billableTenant(ctx.prisma, plan.id, 2, "Alpha GmbH"),
    await billableTenant(ctx.prisma, plan.id, 1, "Beta GmbH"),
    await billableTenant(ctx.prisma, plan.id, 1, "Gamma GmbH"),
  ];
  const closedLate = await billableTenant(ctx.prisma, plan.id, 1, "Closed in October GmbH");
  await ctx.prisma.tenant.update({ where: { id: closedLate.tenant.id }, data: { status: "closed", closedAt: new Date("2026-10-20T00:00:00Z") } });
  const closedEarly = await createTenant(ctx.prisma, { legalName: "Closed in September GmbH", status: "closed" });
  await ctx.prisma.tenant.update({ where: { id: closedEarly.id }, data: { closedAt: new Date("2026-09-15T00:00:00Z") } });
  const empty = await createTenant(ctx.prisma, { legalName: "No SIMs GmbH" });

  const alpha = billed[0]!.tenant;
  await ctx.prisma.tenant.update({ where: { id: alpha.id }, data: { billingEmail: "invoices@alpha.example" } });
  await ctx.prisma.billingContact.create({ data: { tenantId: alpha.id, name: "Ada Accounts", email: "ada@alpha.example", receivesInvoices: true } });
  await ctx.prisma.billingContact.create({ data: { tenantId: alpha.id, name: "Quiet Quinn", email: "quinn@alpha.example", receivesInvoices: false } });
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: alpha.id, url: "https://hooks.example.com/alpha", events: ["invoice.issued"], secretEncrypted: "unused-here" } });

  const res = await staff.post("/v1/billing/runs", { period: RUN_PERIOD });
  t.equal(res.status, 202);
  t.match(res.json, { period: RUN_PERIOD, tenantId: null, status: "queued", trigger: "manual", counts: { tenantsTotal: 0, tenantsDone: 0 }, error: null, createdBy: { type: "user" } });
  t.equal(res.headers.location, `/v1/billing/runs/${res.json.id}`);
  const run = await finishedRun(staff, res.json.id);
  t.match(run, {
    status: "completed",
    counts: { tenantsTotal: 5, tenantsDone: 5, invoicesCreated: 4, tenantsSkipped: 1, tenantsFailed: 0 },
    tenants: { pending: 0, invoiced: 4, skipped: 1, failed: 0 },
    failures: [],
  });
  t.ok(run.startedAt && run.finishedAt);
  const runTenants = await ctx.prisma.billingRunTenant.findMany({ where: { runId: run.id } });
  t.same(runTenants.map((r) => r.tenantId).sort(), [...billed.map((b) => b.tenant.id), closedLate.tenant.id, empty.id].sort(), "customers that existed and were open during the period");
  t.match(runTenants.find((r) => r.tenantId === empty.id), { state: "skipped", error: "nothing_to_bill" });

  const invoices = await ctx.prisma.invoice.findMany({ where: { billingRunId: run.id }, orderBy: { number: "asc" } });
  t.same(invoices.map((i) => i.number), expectedNumbers(series(), 4), "one number each, consecutive");
  const byTenant = new Map(invoices.map((i) => [i.tenantId, i]));
  t.match(byTenant.get(alpha.id), { status: "issued", currency: "EUR", netMinor: 1000n, vatMinor: 190n, totalMinor: 1190n }, "2 SIMs x 5.00 EUR + 19 % VAT");
  t.match(byTenant.get(closedLate.tenant.id), { netMinor: 500n, totalMinor: 595n });
  t.equal(await ctx.prisma.invoiceSimCharge.count({ where: { invoiceId: byTenant.get(alpha.id)!.id } }), 2, "its per-SIM charges");

  // Announced: the webhook outbox row, and mail to the billing email and the contact who receives invoices.
  const alphaInvoice = byTenant.get(alpha.id)!;
  const deliveries = await ctx.prisma.webhookDelivery.findMany({ where: { tenantId: alpha.id } });
  t.equal(deliveries.length, 1);
  t.match(deliveries[0], { eventType: "invoice.issued", payload: { type: "invoice.issued", data: { id: alphaInvoice.id, number: alphaInvoice.number, total: "11.90", period: RUN_PERIOD } } });
  const mails = await waitFor(() => ctx.prisma.mailMessage.findMany({ where: { tenantId: alpha.id }, orderBy: { to: "asc" } }), (m) => m.length >= 2);
  t.same(mails.map((m) => m.to), ["ada@alpha.example", "invoices@alpha.example"], "not the contact who does not receive invoices");
  t.equal(mails[0]!.subject, `Invoice ${alphaInvoice.number} for ${RUN_PERIOD}`);
  t.match(mails[0]!.text, `Total: 11.90 EUR`);
  t.match(mails[0]!.text, `Due date: ${alphaInvoice.dueDate!.toISOString().slice(0, 10)}`);
  t.match(mails[0]!.text, `${ctx.config.publicUrl}/v1/invoices/${alphaInvoice.id}/pdf`);
  const audit = await ctx.prisma.auditEvent.findMany({ where: { tenantId: alpha.id, action: "invoice.issued" } });
  t.match(audit, [{ actorType: "system", actorId: "billing-run", targetId: alphaInvoice.id, data: { billingRunId: run.id } }]);
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: platformId, action: "billing_run.created", targetId: run.id } }), 1, "the run's creation is audited");

  // Exactly once: a second run for the period skips every tenant and takes no number.
  const again = await finishedRun(staff, await startRunApi(staff, { period: RUN_PERIOD }));
  t.match(again, { status: "completed", counts: { tenantsTotal: 5, invoicesCreated: 0, tenantsSkipped: 5, tenantsFailed: 0 } });
  t.same(await numbersOf(ctx.prisma, series()), expectedNumbers(series(), 4));
  t.equal(await ctx.prisma.invoice.count({ where: { periodStart: new Date("2026-10-01T00:00:00Z") } }), 4);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(await ctx.prisma.mailMessage.count({ where: { tenantId: alpha.id } }), 2, "nobody mailed twice");

  // The list: newest first, filtered by period and status.
  const list = await staff.get(`/v1/billing/runs?period=${RUN_PERIOD}`);
  t.equal(list.status, 200);
  t.same(list.json.items.map((r: { id: string }) => r.id), [again.id, run.id]);
  const paged = await staff.get(`/v1/billing/runs?period=${RUN_PERIOD}&limit=1`);
  t.same(paged.json.items.map((r: { id: string }) => r.id), [again.id]);
  const second = await staff.get(`/v1/billing/runs?period=${RUN_PERIOD}&limit=1&cursor=${paged.json.nextCursor}`);
  t.same(second.json.items.map((r: { id: string }) => r.id), [run.id]);
  t.equal(second.json.nextCursor, null);
  t.same((await staff.get("/v1/billing/runs?status=failed")).json.items, []);
});

t.test("two runs at once issue one invoice per tenant, gapless even when a tenant fails; a later run bills the tenant once fixed", async (t) => {
  const ctx = await build(t, { DATABASE_POOL_MAX: "8" }, { startJobs: true });
  const { client: staff } = await staffClient(ctx, "admin");
  const plan = await createPricedPlan(ctx.prisma, { monthlyFee: "7.50" });
  const tenants = [];
  for (let i = 0; i < 8; i++) tenants.push(await billableTenant(ctx.prisma, plan.id, 1 + (i % 3), `Concurrent ${i} GmbH`));
  // A tenant on a plan without a price: its bill cannot be made.
  const unpricedPlan = await createRatePlan(ctx.prisma, { code: "NO-PRICE" });
  const broken = await billableTenant(ctx.prisma, unpricedPlan.id, 1, "Unpriced GmbH");

  const [r1, r2] = await Promise.all([startRunApi(staff, { period: RUN_PERIOD }), startRunApi(staff, { period: RUN_PERIOD })]);
  const [d1, d2] = [await finishedRun(staff, r1), await finishedRun(staff, r2)];
  t.equal(d1.counts.invoicesCreated + d2.counts.invoicesCreated, 8, "eight invoices across both runs");
  for (const d of [d1, d2]) {
    t.equal(d.counts.tenantsTotal, 9);
    t.equal(d.counts.tenantsDone, 9);
    t.equal(d.status, "failed", "a run with a failed tenant ends failed");
    t.equal(d.counts.tenantsFailed, 1);
    t.match(d.error, /1 of 9 tenant\(s\) failed/);
    t.match(d.failures, [{ tenantId: broken.tenant.id, tenantName: "Unpriced GmbH", error: /^rate_plan_unpriced: .*NO-PRICE/ }]);
  }
  for (const x of tenants) t.equal(await ctx.prisma.invoice.count({ where: { tenantId: x.tenant.id } }), 1, `${x.tenant.legalName}: one invoice`);
  t.same(await numbersOf(ctx.prisma, series()), expectedNumbers(series(), 8), "numbers 1..8, no hole, no duplicate");

  // Priced now: a new run bills just that tenant, with the next number.
  await addPlanVersion(ctx.prisma, unpricedPlan.id, { monthlyFee: "1.00" }, 1);
  const fixed = await finishedRun(staff, await startRunApi(staff, { period: RUN_PERIOD }));
  t.match(fixed, { status: "completed", counts: { invoicesCreated: 1, tenantsSkipped: 8, tenantsFailed: 0 } });
  t.same(await numbersOf(ctx.prisma, series()), expectedNumbers(series(), 9));
  t.match(await ctx.prisma.invoice.findFirstOrThrow({ where: { tenantId: broken.tenant.id } }), { number: `${series()}-000009`, netMinor: 100n });
});

t.test("a run for one tenant bills only that tenant", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const { client: staff } = await staffClient(ctx, "owner");
  const plan = await createPricedPlan(ctx.prisma);
  const a = await billableTenant(ctx.prisma, plan.id);
  const b = await billableTenant(ctx.prisma, plan.id);
  const run = await finishedRun(staff, await startRunApi(staff, { period: RUN_PERIOD, tenantId: a.tenant.id }));
  t.match(run, { tenantId: a.tenant.id, status: "completed", counts: { tenantsTotal: 1, invoicesCreated: 1 } });
  t.equal(await ctx.prisma.invoice.count({ where: { tenantId: a.tenant.id } }), 1);
  t.equal(await ctx.prisma.invoice.count({ where: { tenantId: b.tenant.id } }), 0);
  // A SIM that is only in test (ready) all month gives a tenant nothing to bill.
  const quiet = await createTenant(ctx.prisma);
  const sim = await simWithHistory(ctx.prisma, quiet.id, [["2026-08-01T00:00:00Z", "ready"]]);
  await assign(ctx.prisma, sim, plan.id, "2026-01-01");
  const skipped = await finishedRun(staff, await startRunApi(staff, { period: RUN_PERIOD, tenantId: quiet.id }));
  t.match(skipped, { status: "completed", counts: { tenantsTotal: 1, invoicesCreated: 0, tenantsSkipped: 1 } });
});
