import t from "tap";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { billTenant } from "../../src/modules/billing/issuing.js";
import { REVERSE_CHARGE_NOTE, OUTSIDE_SCOPE_NOTE } from "../../src/modules/billing/vat.js";
import { build, type TestApp } from "../helpers/build.js";
import { createSim, createTenant } from "../helpers/factories.js";
import { createPricedPlan } from "./factories.js";
import { eurBill, expectedNumbers, feeLine, handCompute, numbersOf, period, simCharge, thisYear } from "./issuing-helpers.js";

/**
 * Issuing a tenant's bill (src/modules/billing/issuing.ts) with hand-made bills: drafts, VAT, totals, gapless
 * numbers, snapshots, per-SIM charges, the invoice.issued outbox row and the audit event; exactly once; and the
 * database refusing any change to an issued invoice.
 */
const ACTOR = systemActor("test-billing");
const OCT = period("2026-10");
const DAY_MS = 86_400_000;

async function setup(t: Parameters<typeof build>[0]) {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform", legalName: "Conekt GmbH" });
  return { ctx, platform };
}

const bill = (ctx: TestApp, compute: ReturnType<typeof handCompute>, tenantId: string, opts: { autoIssue?: boolean; p?: typeof OCT } = {}) =>
  billTenant({ prisma: ctx.prisma, jobs: ctx.runtime.jobs, compute }, { tenantId, period: opts.p ?? OCT, actor: ACTOR, autoIssue: opts.autoIssue ?? true });

t.test("a bill becomes an issued invoice: totals, VAT once per rate, number, dates, snapshots, SIM charges, webhook, audit", async (t) => {
  const { ctx, platform } = await setup(t);
  const tenant = await createTenant(ctx.prisma, { legalName: "Müller Logistik GmbH" });
  await ctx.prisma.tenant.update({ where: { id: tenant.id }, data: { billingEmail: "billing@mueller.example" } });
  const plan = await createPricedPlan(ctx.prisma);
  const sims = [await createSim(ctx.prisma, { tenantId: tenant.id }), await createSim(ctx.prisma, { tenantId: tenant.id })];
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: tenant.id, url: "https://hooks.example.com/billing", events: ["invoice.issued"], secretEncrypted: "unused-here" } });

  const lines = [
    feeLine(1000n, { ratePlanId: plan.id, ratePlanVersion: 1, quantity: "2.000000", unitPrice: "5.00" }),
    feeLine(333n, { kind: "data_overage", description: "Data beyond the allowance", quantity: "33.300000", unit: "MB", unitPrice: "0.01" }),
    feeLine(0n, { kind: "sms_mo", description: "SMS sent", quantity: "3.000000", unit: "SMS", unitPrice: "0.00" }),
  ];
  const charges = sims.map((s) => simCharge({ simId: s.id, iccid: s.iccid, ratePlanId: plan.id, usagePeriod: "2026-10-01", bytes: 16_650_000n, overageBytes: 16_650_000n }));
  const compute = handCompute(new Map([[tenant.id, [eurBill(lines, charges)]]]));

  const before = Date.now();
  const result = await bill(ctx, compute, tenant.id);
  t.equal(result.outcome, "invoiced");
  const inv = await ctx.prisma.invoice.findFirstOrThrow({ where: { tenantId: tenant.id }, include: { lines: { orderBy: { position: "asc" } } } });
  const year = thisYear();
  t.match(inv, { kind: "invoice", status: "issued", series: `INV-${year}`, number: `INV-${year}-000001`, currency: "EUR", vatTreatment: "standard", vatNote: null });
  // 13.33 EUR net; VAT 19 % of 13.33 = 2.5327, rounded once: 2.53; total 15.86.
  t.equal(inv.netMinor, 1333n);
  t.equal(inv.vatMinor, 253n);
  t.equal(inv.totalMinor, 1586n);
  t.same(inv.vatBreakdown, [{ rate: "19.00", netMinor: "1333", vatMinor: "253" }]);
  t.same(inv.lines.map((l) => [l.position, l.kind, l.netMinor, l.vatRate.toFixed(2)]), [
    [1, "monthly_fee", 1000n, "19.00"],
    [2, "data_overage", 333n, "19.00"],
    [3, "sms_mo", 0n, "19.00"],
  ]);
  t.equal(inv.periodStart.toISOString().slice(0, 10), "2026-10-01");
  t.equal(inv.periodEnd.toISOString().slice(0, 10), "2026-11-01");
  const today = new Date(Date.UTC(new Date(before).getUTCFullYear(), new Date(before).getUTCMonth(), new Date(before).getUTCDate()));
  t.equal(inv.issueDate!.toISOString().slice(0, 10), today.toISOString().slice(0, 10), "issued today (UTC)");
  t.equal(inv.dueDate!.getTime() - inv.issueDate!.getTime(), 30 * DAY_MS, "due after the default 30 days");
  t.ok(inv.issuedAt && inv.issuedAt.getTime() >= before - 1000);
  t.match(inv.supplier, { legalName: "Conekt GmbH", country: "DE", vatId: "DE811907980" });
  t.match(inv.customer, { legalName: "Müller Logistik GmbH", country: "DE", vatId: "DE811907980", email: "billing@mueller.example", address: { city: "Berlin" } });
  t.equal(inv.billingRunId, null);

  const stored = await ctx.prisma.invoiceSimCharge.findMany({ where: { invoiceId: inv.id }, orderBy: { iccid: "asc" } });
  t.same(stored.map((c) => [c.iccid, c.bytes, c.overageBytes, c.feeAmount.toFixed(2), c.usagePeriod.toISOString().slice(0, 10)]), [...sims].sort((a, b) => a.iccid.localeCompare(b.iccid)).map((s) => [s.iccid, 16_650_000n, 16_650_000n, "5.00", "2026-10-01"]));

  const deliveries = await ctx.prisma.webhookDelivery.findMany({ where: { tenantId: tenant.id } });
  t.equal(deliveries.length, 1, "one invoice.issued delivery in the outbox");
  t.match(deliveries[0]!.payload, {
    type: "invoice.issued",
    data: { id: inv.id, kind: "invoice", number: `INV-${year}-000001`, period: "2026-10", currency: "EUR", total: "15.86", dueDate: inv.dueDate!.toISOString().slice(0, 10), links: { pdf: `/v1/invoices/${inv.id}/pdf` } },
  });
  const audit = await ctx.prisma.auditEvent.findMany({ where: { tenantId: tenant.id, action: "invoice.issued" } });
  t.equal(audit.length, 1);
  t.match(audit[0], { actorType: "system", actorId: "test-billing", targetType: "invoice", targetId: inv.id });
  t.match(audit[0]!.data, { number: `INV-${year}-000001`, period: "2026-10", total: "15.86" });

  // Exactly once: billing the same period again changes nothing and takes no number.
  t.same(await bill(ctx, compute, tenant.id), { outcome: "skipped", reason: "already_invoiced" });
  t.equal(await ctx.prisma.invoice.count({ where: { tenantId: tenant.id } }), 1);
  t.same(await numbersOf(ctx.prisma, `INV-${year}`), expectedNumbers(`INV-${year}`, 1));
  t.ok(platform.id);
});

t.test("VAT: domestic standard rate, reverse charge for an EU business abroad, outside scope beyond the EU, the customer's rate for EU consumers", async (t) => {
  const { ctx } = await setup(t);
  const mk = async (country: string, vatId: string | null) => {
    const tenant = await createTenant(ctx.prisma);
    return ctx.prisma.tenant.update({ where: { id: tenant.id }, data: { country, vatId, billingAddress: { line1: "1 Main St", postalCode: "12345", city: "Somewhere", country } } });
  };
  const fr = await mk("FR", "FR40303265045");
  const us = await mk("US", null);
  const frConsumer = await mk("FR", null);
  const compute = handCompute(new Map([fr, us, frConsumer].map((x) => [x.id, [eurBill([feeLine(10_000n)])]])));
  for (const x of [fr, us, frConsumer]) t.equal((await bill(ctx, compute, x.id)).outcome, "invoiced");
  const read = (tenantId: string) => ctx.prisma.invoice.findFirstOrThrow({ where: { tenantId }, include: { lines: true } });

  const rc = await read(fr.id);
  t.match(rc, { vatTreatment: "reverse_charge", vatNote: REVERSE_CHARGE_NOTE, netMinor: 10_000n, vatMinor: 0n, totalMinor: 10_000n });
  t.same(rc.vatBreakdown, [{ rate: "0.00", netMinor: "10000", vatMinor: "0" }]);
  t.equal(rc.lines[0]!.vatRate.toFixed(2), "0.00");
  t.match(await read(us.id), { vatTreatment: "outside_scope", vatNote: OUTSIDE_SCOPE_NOTE, vatMinor: 0n, totalMinor: 10_000n });
  t.match(await read(frConsumer.id), { vatTreatment: "standard", vatNote: null, vatMinor: 2_000n, totalMinor: 12_000n }, "20 % French VAT");
});

t.test("nothing to bill: no bills, only zero lines, or SIM charges without lines are skipped without taking a number", async (t) => {
  const { ctx } = await setup(t);
  const [a, b, c] = [await createTenant(ctx.prisma), await createTenant(ctx.prisma), await createTenant(ctx.prisma)];
  const plan = await createPricedPlan(ctx.prisma);
  const sim = await createSim(ctx.prisma, { tenantId: c.id });
  const compute = handCompute(
    new Map([
      [b.id, [eurBill([feeLine(0n), feeLine(0n, { kind: "sms_mt" })])]],
      [c.id, [eurBill([], [simCharge({ simId: sim.id, iccid: sim.iccid, ratePlanId: plan.id, usagePeriod: "2026-09-01", feeAmount: "0" })])]],
    ]),
  );
  for (const x of [a, b, c]) t.same(await bill(ctx, compute, x.id), { outcome: "skipped", reason: "nothing_to_bill" });
  t.equal(await ctx.prisma.invoice.count(), 0);
  t.equal(await ctx.prisma.invoiceSimCharge.count(), 0);
  t.equal(await ctx.prisma.invoiceSeries.count(), 0, "no series row, no number taken");
});

t.test("one invoice per currency, numbered consecutively in the same series", async (t) => {
  const { ctx } = await setup(t);
  const tenant = await createTenant(ctx.prisma);
  const compute = handCompute(new Map([[tenant.id, [eurBill([feeLine(500n)]), eurBill([feeLine(700n)], [], "USD"), eurBill([feeLine(0n)], [], "GBP")]]]));
  const result = await bill(ctx, compute, tenant.id);
  t.equal(result.outcome, "invoiced");
  const invoices = await ctx.prisma.invoice.findMany({ where: { tenantId: tenant.id }, orderBy: { number: "asc" } });
  t.same(invoices.map((i) => [i.currency, i.netMinor, i.status]), [["EUR", 500n, "issued"], ["USD", 700n, "issued"]], "the GBP bill had nothing to charge");
  t.same(invoices.map((i) => i.number), expectedNumbers(`INV-${thisYear()}`, 2));
  t.same(await bill(ctx, compute, tenant.id), { outcome: "skipped", reason: "already_invoiced" }, "a live invoice in any currency means the period is billed");
});

t.test("without autoIssue the run leaves numberless drafts (audited), which also count as billed", async (t) => {
  const { ctx } = await setup(t);
  const tenant = await createTenant(ctx.prisma);
  const compute = handCompute(new Map([[tenant.id, [eurBill([feeLine(1234n)])]]]));
  const result = await bill(ctx, compute, tenant.id, { autoIssue: false });
  t.equal(result.outcome, "invoiced");
  const draft = await ctx.prisma.invoice.findFirstOrThrow({ where: { tenantId: tenant.id } });
  t.match(draft, { status: "draft", number: null, series: null, issueDate: null, dueDate: null, issuedAt: null, netMinor: 1234n, vatMinor: 234n, totalMinor: 1468n });
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: tenant.id, action: "invoice.drafted", targetId: draft.id } }), 1);
  t.equal(await ctx.prisma.webhookDelivery.count({ where: { tenantId: tenant.id } }), 0, "nothing announced for a draft");
  t.same(await bill(ctx, compute, tenant.id), { outcome: "skipped", reason: "already_invoiced" });
});

t.test("an issued invoice is immutable in the database: amounts, lines and SIM charges refuse changes (SQLSTATE 55000)", async (t) => {
  const { ctx } = await setup(t);
  const tenant = await createTenant(ctx.prisma);
  const plan = await createPricedPlan(ctx.prisma);
  const sim = await createSim(ctx.prisma, { tenantId: tenant.id });
  const compute = handCompute(new Map([[tenant.id, [eurBill([feeLine(1000n)], [simCharge({ simId: sim.id, iccid: sim.iccid, ratePlanId: plan.id, usagePeriod: "2026-10-01" })])]]]));
  await bill(ctx, compute, tenant.id);
  const inv = await ctx.prisma.invoice.findFirstOrThrow({ where: { tenantId: tenant.id } });
  const refuses = async (label: string, sql: string) => {
    const err = await ctx.prisma.$executeRawUnsafe(sql).then(() => null, (e: Error) => e);
    t.ok(err, `${label} is refused`);
    t.match(String(err), /55000|immutable|no longer a draft|only drafts/, `${label}: the trigger's error`);
  };
  await refuses("changing the total", `UPDATE enterprise.invoices SET total_minor = total_minor + 1 WHERE id = '${inv.id}'`);
  await refuses("changing the customer", `UPDATE enterprise.invoices SET customer = '{"legalName":"Someone else"}' WHERE id = '${inv.id}'`);
  await refuses("renumbering", `UPDATE enterprise.invoices SET number = 'INV-X' WHERE id = '${inv.id}'`);
  await refuses("back to draft", `UPDATE enterprise.invoices SET status = 'draft' WHERE id = '${inv.id}'`);
  await refuses("deleting it", `DELETE FROM enterprise.invoices WHERE id = '${inv.id}'`);
  await refuses("changing a line's amount", `UPDATE enterprise.invoice_lines SET net_minor = 1 WHERE invoice_id = '${inv.id}'`);
  await refuses("adding a line", `INSERT INTO enterprise.invoice_lines (id, invoice_id, position, kind, description, quantity, unit, unit_price, net_minor, vat_rate) VALUES (gen_random_uuid(), '${inv.id}', 9, 'credit', 'x', 1, 'item', 1, 100, 19)`);
  await refuses("deleting a line", `DELETE FROM enterprise.invoice_lines WHERE invoice_id = '${inv.id}'`);
  await refuses("changing a SIM charge", `UPDATE enterprise.invoice_sim_charges SET bytes = 1 WHERE invoice_id = '${inv.id}'`);
  const after = await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id }, include: { lines: true } });
  t.equal(after.totalMinor, inv.totalMinor);
  t.equal(after.lines.length, 1);
  // Its status may still move (payments, voiding): the content stays.
  await ctx.prisma.invoice.update({ where: { id: inv.id }, data: { status: "paid", paidMinor: inv.totalMinor, paidAt: new Date() } });
  t.equal((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } })).status, "paid");
});
