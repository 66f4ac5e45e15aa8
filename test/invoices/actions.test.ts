import { randomUUID } from "node:crypto";
import t from "tap";
import { REVERSE_CHARGE_NOTE } from "../../src/modules/billing/vat.js";
import { notifyInvoice } from "../../src/modules/invoices/invoice-mail.js";
import { createMailer } from "../../src/platform/mail/mailer.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { keyClient } from "../devices/helpers.js";
import { expectedNumbers, feeLine, memberClient, numbersOf, staffClient, thisYear } from "../billing/issuing-helpers.js";
import { invoiceWith } from "./actions-helpers.js";

/**
 * Invoice actions: issuing a draft, voiding (a draft simply; an issued invoice through a full credit note, which
 * frees its period), and credit notes (partial and full, never beyond the invoice). Staff owners, admins and
 * billing staff only.
 */
const INV = () => `INV-${thisYear()}`;
const CN = () => `CN-${thisYear()}`;
const DAY_MS = 86_400_000;

t.test("issuing a draft numbers it and refreshes its parties and VAT as they are now; a second issue is 409", async (t) => {
  const ctx = await build(t);
  const { client: staff, platformId } = await staffClient(ctx, "billing");
  const tenant = await createTenant(ctx.prisma, { legalName: "Draft Customer SARL" });
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: tenant.id, url: "https://hooks.example.com/x", events: ["invoice.issued"], secretEncrypted: "unused-here" } });
  const draft = await invoiceWith(ctx, tenant.id, [feeLine(10_000n)], { draft: true });
  t.match(draft, { status: "draft", number: null, vatTreatment: "standard", vatMinor: 1900n });

  // Between the draft and its issue: the customer moved to France (a VAT-registered business: reverse charge)
  // and the issuer's settings were saved with 14-day terms.
  await ctx.prisma.tenant.update({ where: { id: tenant.id }, data: { country: "FR", vatId: "FR40303265045", billingAddress: { line1: "1 rue de Rivoli", postalCode: "75001", city: "Paris", country: "FR" } } });
  await ctx.prisma.billingSettings.create({
    data: { issuerLegalName: "Conekt Billing GmbH", issuerAddress: { line1: "Torstraße 1", postalCode: "10119", city: "Berlin", country: "DE" }, issuerCountry: "DE", issuerVatId: "DE811907980", paymentTermsDays: 14 },
  });

  const res = await staff.post(`/v1/invoices/${draft.id}/issue`);
  t.equal(res.status, 200);
  const view = res.json;
  t.match(view, {
    id: draft.id,
    status: "issued",
    number: `${INV()}-000001`,
    vatTreatment: "reverse_charge",
    vatNote: REVERSE_CHARGE_NOTE,
    totals: { net: "100.00", vat: "0.00", total: "100.00", outstanding: "100.00" },
    supplier: { legalName: "Conekt Billing GmbH" },
    customer: { legalName: "Draft Customer SARL", country: "FR", vatId: "FR40303265045" },
    lines: [{ position: 1, vatRate: "0.00", net: "100.00" }],
    vatBreakdown: [{ rate: "0.00", net: "100.00", vat: "0.00" }],
  });
  t.equal(new Date(`${view.dueDate}T00:00:00Z`).getTime() - new Date(`${view.issueDate}T00:00:00Z`).getTime(), 14 * DAY_MS, "due after the saved terms");
  t.equal(await ctx.prisma.webhookDelivery.count({ where: { tenantId: tenant.id, eventType: "invoice.issued" } }), 1);
  t.match(await ctx.prisma.auditEvent.findFirst({ where: { tenantId: tenant.id, action: "invoice.issued", targetId: draft.id } }), { actorType: "user" });

  const again = await staff.post(`/v1/invoices/${draft.id}/issue`);
  t.equal(again.status, 409);
  t.match(again.json, { code: "invoice_not_draft", invoiceStatus: "issued" });
  t.equal((await staff.post(`/v1/invoices/${randomUUID()}/issue`)).status, 404);
  t.same(await numbersOf(ctx.prisma, INV()), expectedNumbers(INV(), 1));

  // The platform's ERP key (billing:write) may issue too.
  const second = await invoiceWith(ctx, tenant.id, [feeLine(500n)], { draft: true });
  const key = await keyClient(ctx, platformId, ["billing:read", "billing:write"]);
  t.match((await key.post(`/v1/invoices/${second.id}/issue`)).json, { status: "issued", number: `${INV()}-000002` });
});

t.test("voiding: a draft simply; an issued invoice through a full credit note, which frees its period for a corrected invoice", async (t) => {
  const ctx = await build(t);
  const { client: staff } = await staffClient(ctx, "admin");
  const tenant = await createTenant(ctx.prisma);
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: tenant.id, url: "https://hooks.example.com/x", events: ["invoice.issued"], secretEncrypted: "unused-here" } });

  const draft = await invoiceWith(ctx, tenant.id, [feeLine(700n)], { draft: true, periodKey: "2025-01" });
  const voidedDraft = await staff.post(`/v1/invoices/${draft.id}/void`, { reason: "Wrong plan on the draft" });
  t.equal(voidedDraft.status, 200);
  t.match(voidedDraft.json, { status: "void", number: null, voidReason: "Wrong plan on the draft", creditNotes: [] });
  t.equal(await ctx.prisma.invoice.count({ where: { kind: "credit_note" } }), 0, "a draft needs no credit note");
  const twice = await staff.post(`/v1/invoices/${draft.id}/void`, { reason: "again" });
  t.equal(twice.status, 409);
  t.match(twice.json, { code: "invoice_void" });

  const lines = [feeLine(1000n, { quantity: "2.000000", unitPrice: "5.00" }), feeLine(333n, { kind: "data_overage", description: "Data beyond the allowance", quantity: "33.300000", unit: "MB", unitPrice: "0.01" })];
  const issued = await invoiceWith(ctx, tenant.id, lines, { periodKey: "2025-02" });
  t.match(issued, { number: `${INV()}-000001`, netMinor: 1333n, vatMinor: 253n, totalMinor: 1586n });
  const res = await staff.post(`/v1/invoices/${issued.id}/void`, { reason: "Billed on the wrong plan" });
  t.equal(res.status, 200);
  t.match(res.json, { status: "void", number: `${INV()}-000001`, voidReason: "Billed on the wrong plan", totals: { total: "15.86", credited: "-15.86" } });
  t.match(res.json.creditNotes, [{ number: `${CN()}-000001`, total: "-15.86" }]);

  const cn = await ctx.prisma.invoice.findFirstOrThrow({ where: { kind: "credit_note" }, include: { lines: { orderBy: { position: "asc" } } } });
  t.match(cn, { status: "issued", series: CN(), number: `${CN()}-000001`, creditedInvoiceId: issued.id, currency: "EUR", netMinor: -1333n, vatMinor: -253n, totalMinor: -1586n, reason: "Void: Billed on the wrong plan", dueDate: null });
  t.same(cn.vatBreakdown, [{ rate: "19.00", netMinor: "-1333", vatMinor: "-253" }]);
  t.same(
    cn.lines.map((l) => [l.position, l.kind, l.description, l.quantity.toFixed(6), l.unitPrice.toFixed(2), l.netMinor, l.vatRate.toFixed(2)]),
    [
      [1, "credit", "Credit: Monthly fee – TEST-PLAN (Test plan)", "-2.000000", "5.00", -1000n, "19.00"],
      [2, "credit", "Credit: Data beyond the allowance", "-33.300000", "0.01", -333n, "19.00"],
    ],
  );
  t.same(cn.customer, issued.customer, "the parties of the invoice it corrects");
  t.equal(cn.periodStart.getTime(), issued.periodStart.getTime());
  const hook = await ctx.prisma.webhookDelivery.findFirstOrThrow({ where: { tenantId: tenant.id, payload: { path: ["data", "kind"], equals: "credit_note" } } });
  t.match(hook.payload, { type: "invoice.issued", data: { id: cn.id, number: `${CN()}-000001`, total: "-15.86", creditedInvoiceId: issued.id } });
  t.match(await ctx.prisma.auditEvent.findFirst({ where: { tenantId: tenant.id, action: "invoice.voided", targetId: issued.id } }), { data: { creditNoteId: cn.id, from: "issued" } });
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: tenant.id, action: "credit_note.issued", targetId: cn.id } }), 1);

  // The credit note's mail (the invoices.notify job's work) names the invoice it corrects; sent once per address.
  await ctx.prisma.tenant.update({ where: { id: tenant.id }, data: { billingEmail: "ap@customer.example" } });
  const mailer = createMailer({ prisma: ctx.prisma, from: "billing@conekt.example", log: { info: () => undefined, warn: () => undefined } });
  t.same(await notifyInvoice({ prisma: ctx.prisma, mailer, publicUrl: ctx.config.publicUrl }, cn.id), { sent: 1, skipped: 0 });
  t.same(await notifyInvoice({ prisma: ctx.prisma, mailer, publicUrl: ctx.config.publicUrl }, cn.id), { sent: 0, skipped: 1 }, "a repeated job mails nobody twice");
  const mail = await ctx.prisma.mailMessage.findFirstOrThrow({ where: { tenantId: tenant.id } });
  t.match(mail, { to: "ap@customer.example", subject: `Credit note ${CN()}-000001 for 2025-02` });
  t.match(mail.text, `credit note ${CN()}-000001 for invoice ${INV()}-000001`);
  t.match(mail.text, "Total: -15.86 EUR");

  // The period is free again: a corrected invoice can be issued for it.
  const corrected = await invoiceWith(ctx, tenant.id, [feeLine(900n)], { periodKey: "2025-02" });
  t.match(corrected, { number: `${INV()}-000002`, status: "issued", totalMinor: 1071n });
  t.equal((await staff.post(`/v1/invoices/${cn.id}/void`, { reason: "no" })).json.code, "credit_note_not_voidable");
  t.equal((await staff.post(`/v1/invoices/${issued.id}/void`, {})).status, 400, "a reason is required");
});

t.test("an invoice with payments cannot be voided (409 invoice_has_payments) and nothing changes", async (t) => {
  const ctx = await build(t);
  const { client: staff } = await staffClient(ctx, "billing");
  const tenant = await createTenant(ctx.prisma);
  const inv = await invoiceWith(ctx, tenant.id, [feeLine(10_000n)]);
  await ctx.prisma.payment.create({ data: { tenantId: tenant.id, invoiceId: inv.id, amountMinor: 5000n, currency: "EUR", receivedOn: new Date(), method: "bank_transfer", reference: "BANK-1", source: "manual", actorType: "system" } });
  await ctx.prisma.invoice.update({ where: { id: inv.id }, data: { paidMinor: 5000n } });
  const res = await staff.post(`/v1/invoices/${inv.id}/void`, { reason: "Customer disputes it" });
  t.equal(res.status, 409);
  t.match(res.json, { code: "invoice_has_payments", invoiceStatus: "issued" });
  t.equal((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } })).status, "issued");
  t.equal(await ctx.prisma.invoice.count({ where: { kind: "credit_note" } }), 0);
  t.equal(await ctx.prisma.invoiceSeries.count({ where: { code: CN() } }), 0, "no credit-note number taken");
});

t.test("credit notes: part of a line, the rest of it, never beyond a line or the invoice; VAT adds up to what was charged; settled when credited in full", async (t) => {
  const ctx = await build(t);
  const { client: staff } = await staffClient(ctx, "billing");
  const tenant = await createTenant(ctx.prisma);
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: tenant.id, url: "https://hooks.example.com/x", events: ["invoice.paid"], secretEncrypted: "unused-here" } });
  // Three lines of 0.03 EUR: 0.09 net, VAT 19 % = 0.0171 -> 0.02; each line's own VAT would round to 0.01.
  const lines = [0, 1, 2].map((i) => feeLine(3n, { description: `Line ${i + 1}`, quantity: "3.000000", unit: "SMS", unitPrice: "0.01" }));
  const inv = await invoiceWith(ctx, tenant.id, lines);
  t.match(inv, { netMinor: 9n, vatMinor: 2n, totalMinor: 11n });
  const credit = (body: unknown) => staff.post(`/v1/invoices/${inv.id}/credit-notes`, body);

  const part = await credit({ reason: "One SMS billed twice", lines: [{ position: 1, quantity: "1" }] });
  t.equal(part.status, 201);
  t.equal(part.headers.location, `/v1/invoices/${part.json.id}`);
  t.match(part.json, {
    kind: "credit_note",
    status: "issued",
    number: `${CN()}-000001`,
    creditedInvoiceId: inv.id,
    creditedInvoiceNumber: inv.number,
    reason: "One SMS billed twice",
    totals: { net: "-0.01", vat: "0.00", total: "-0.01" },
    lines: [{ position: 1, kind: "credit", description: "Credit: Line 1", quantity: "-1", unitPrice: "0.01", net: "-0.01", vatRate: "19.00" }],
  });

  const rest = await credit({ reason: "Rest of line 1", lines: [{ position: 1 }] });
  t.match(rest.json, { number: `${CN()}-000002`, lines: [{ position: 1, quantity: "-2", net: "-0.02" }], totals: { net: "-0.02", vat: "0.00" } });
  const over = await credit({ reason: "Line 1 again", lines: [{ position: 1, quantity: "0.5" }] });
  t.equal(over.status, 409);
  t.match(over.json, { code: "credit_exceeds_invoice", position: 1 });
  t.match((await credit({ reason: "Too much", lines: [{ position: 2, quantity: "3.5" }] })).json, { code: "credit_exceeds_invoice" });

  for (const [body, field] of [
    [{ reason: "x", lines: [{ position: 9 }] }, "/body/lines/0/position"],
    [{ reason: "x", lines: [{ position: 2 }, { position: 2 }] }, "/body/lines/1/position"],
    [{ reason: "x", lines: [{ position: 2, quantity: "0" }] }, "/body/lines/0/quantity"],
  ] as const) {
    const res = await credit(body);
    t.equal(res.status, 400, field);
    t.match(res.json, { code: "validation_failed", errors: [{ field }] });
  }
  t.equal((await credit({ lines: [{ position: 2 }] })).status, 400, "a reason is required");
  t.equal((await credit({ reason: "x", lines: [{ position: 2, quantity: "-1" }] })).status, 400, "a negative quantity is malformed");

  t.equal((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } })).status, "issued", "partly credited: still open");
  const full = await credit({ reason: "Contract cancelled" });
  t.equal(full.status, 201);
  t.match(full.json, { number: `${CN()}-000003`, totals: { net: "-0.06", vat: "-0.02", total: "-0.08" } }, "the last credit takes exactly the VAT left");
  t.same(full.json.lines.map((l: { position: number }) => l.position), [2, 3], "what was left: lines 2 and 3");

  const notes = await ctx.prisma.invoice.findMany({ where: { creditedInvoiceId: inv.id } });
  t.equal(notes.reduce((s, n) => s + n.totalMinor, 0n), -11n, "the credits add up to the invoice's total");
  t.equal(notes.reduce((s, n) => s + n.vatMinor, 0n), -2n, "and to its VAT");
  const settled = await staff.get(`/v1/invoices/${inv.id}`);
  t.match(settled.json, { status: "paid", totals: { total: "0.11", credited: "-0.11", outstanding: "0.00" } }, "credited in full: settled");
  t.equal(settled.json.creditNotes.length, 3);
  t.equal(await ctx.prisma.webhookDelivery.count({ where: { tenantId: tenant.id, eventType: "invoice.paid" } }), 1);
  const nothing = await credit({ reason: "Again" });
  t.equal(nothing.status, 409);
  t.match(nothing.json, { code: "nothing_to_credit" });
  t.same(await numbersOf(ctx.prisma, CN()), expectedNumbers(CN(), 3), "refused credits took no number");

  // Only issued or paid invoices: not drafts, not void ones, not credit notes.
  const draft = await invoiceWith(ctx, tenant.id, [feeLine(100n)], { draft: true });
  t.match((await staff.post(`/v1/invoices/${draft.id}/credit-notes`, { reason: "x" })).json, { code: "invoice_not_creditable", invoiceStatus: "draft" });
  t.match((await staff.post(`/v1/invoices/${full.json.id}/credit-notes`, { reason: "x" })).json, { code: "invoice_not_creditable" });
  await staff.post(`/v1/invoices/${draft.id}/void`, { reason: "x" });
  t.match((await staff.post(`/v1/invoices/${draft.id}/credit-notes`, { reason: "x" })).json, { code: "invoice_not_creditable", invoiceStatus: "void" });
});

t.test("two full credits at once: one is issued, the other refused", async (t) => {
  const ctx = await build(t);
  const { client: staff } = await staffClient(ctx, "billing");
  const tenant = await createTenant(ctx.prisma);
  const inv = await invoiceWith(ctx, tenant.id, [feeLine(4200n)]);
  const results = await Promise.all([0, 1, 2].map(() => staff.post(`/v1/invoices/${inv.id}/credit-notes`, { reason: "Cancelled" })));
  t.same(results.map((r) => r.status).sort(), [201, 409, 409]);
  t.equal(await ctx.prisma.invoice.count({ where: { creditedInvoiceId: inv.id } }), 1);
  t.same(await numbersOf(ctx.prisma, CN()), expectedNumbers(CN(), 1));
});

t.test("customers (even the invoice's own billing contacts) may not issue, void or credit; another tenant's user gets 404 on the invoice", async (t) => {
  const ctx = await build(t);
  const { client: operatorStaff } = await staffClient(ctx, "operator");
  const tenant = await createTenant(ctx.prisma);
  const other = await createTenant(ctx.prisma);
  const inv = await invoiceWith(ctx, tenant.id, [feeLine(1000n)]);
  const draft = await invoiceWith(ctx, tenant.id, [feeLine(1000n)], { draft: true });
  const actions = (id: string) =>
    [
      ["POST", `/v1/invoices/${id}/issue`, undefined],
      ["POST", `/v1/invoices/${id}/void`, { reason: "x" }],
      ["POST", `/v1/invoices/${id}/credit-notes`, { reason: "x" }],
    ] as const;
  const callers = [
    ["own billing", await memberClient(ctx, tenant.id, "billing")],
    ["own owner", await memberClient(ctx, tenant.id, "owner")],
    ["other billing", await memberClient(ctx, other.id, "billing")],
    ["platform operator", operatorStaff],
  ] as const;
  for (const [who, client] of callers) {
    for (const id of [inv.id, draft.id]) {
      for (const [method, url, body] of actions(id)) {
        const res = await client.request(method, url, body === undefined ? {} : { body });
        t.equal(res.status, 403, `${who}: ${url}`);
      }
    }
  }
  t.match(await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: draft.id } }), { status: "draft" });
  t.match(await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } }), { status: "issued" });
  t.equal(await ctx.prisma.invoice.count({ where: { kind: "credit_note" } }), 0);

  const own = await memberClient(ctx, tenant.id, "billing");
  t.equal((await own.get(`/v1/invoices/${inv.id}`)).status, 200, "the tenant's billing contact reads it");
  const stranger = await memberClient(ctx, other.id, "billing");
  const res = await stranger.get(`/v1/invoices/${inv.id}`);
  t.equal(res.status, 404, "another tenant's billing contact: 404");
  t.match(res.json, { code: "not_found" });
});
