import t from "tap";
import { settleInvoice } from "../../src/modules/billing/settlement.js";
import { build } from "../helpers/build.js";
import { createTenant, createUser, createWorld } from "../helpers/factories.js";
import type { Client } from "../helpers/client.js";
import type { TestApp } from "../helpers/build.js";
import { createCreditNote, createInvoice, today } from "./helpers.js";

async function signedIn(ctx: TestApp, user: { email: string; password: string }): Promise<Client> {
  const c = ctx.client();
  const res = await c.login(user.email, user.password);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  return c;
}

/** A world with a platform billing clerk signed in. */
async function setup(t: Parameters<typeof build>[0]) {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const clerk = await createUser(ctx.prisma, { tenantId: w.platform.id, role: "billing" });
  const staff = await signedIn(ctx, clerk);
  return { ctx, w, clerk, staff };
}

const pay = (c: Client, body: Record<string, unknown>) => c.post("/v1/payments", { currency: "EUR", receivedOn: today(), ...body });

t.test("a partial then a full payment settle the invoice: paid, with history, webhook and audit", async (t) => {
  const { ctx, w, clerk, staff } = await setup(t);
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: w.tenantA.id, url: "https://hooks.example.com/billing", events: ["invoice.paid"], secretEncrypted: "unused-here" } });
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 11_900n });

  const first = await pay(staff, { invoiceNumber: inv.number, amount: "100.00", reference: "BANK-1", method: "bank_transfer", note: "first half" });
  t.equal(first.status, 201, "the first payment is recorded");
  t.match(first.json, {
    tenantId: w.tenantA.id,
    invoiceId: inv.id,
    invoiceNumber: inv.number,
    amount: "100.00",
    currency: "EUR",
    receivedOn: today(),
    method: "bank_transfer",
    reference: "BANK-1",
    source: "manual",
    importId: null,
    note: "first half",
    invoice: { id: inv.id, status: "issued", total: "119.00", paid: "100.00", credited: "0.00", outstanding: "19.00", paidAt: null },
  });
  t.equal(await ctx.prisma.webhookDelivery.count({ where: { tenantId: w.tenantA.id } }), 0, "no webhook while something is outstanding");

  const second = await pay(staff, { invoiceId: inv.id, amount: "19", reference: "BANK-2", method: "card" });
  t.equal(second.status, 201, "the second payment is recorded");
  t.match(second.json.invoice, { status: "paid", paid: "119.00", outstanding: "0.00" });
  t.ok(second.json.invoice.paidAt, "paidAt set");
  const row = await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } });
  t.equal(row.status, "paid");
  t.equal(row.paidMinor, 11_900n);

  const deliveries = await ctx.prisma.webhookDelivery.findMany({ where: { tenantId: w.tenantA.id } });
  t.equal(deliveries.length, 1, "one invoice.paid webhook");
  t.match(deliveries[0]!.payload, { type: "invoice.paid", data: { invoiceId: inv.id, number: inv.number, currency: "EUR", total: "119.00", paid: "119.00" } });

  const audit = await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: "payment.recorded" }, orderBy: { seq: "asc" } });
  t.equal(audit.length, 2, "each payment audited in the customer's chain");
  t.equal(audit[0]!.actorId, clerk.id);
  t.match(audit[1]!.data, { invoiceId: inv.id, amount: "19.00", reference: "BANK-2", invoiceStatus: "paid" });

  // The history: the tenant's billing contact sees both, newest first.
  const billing = await signedIn(ctx, w.usersA.billing);
  const history = await billing.get(`/v1/payments?invoiceId=${inv.id}`);
  t.equal(history.status, 200);
  t.same(history.json.items.map((p: { reference: string }) => p.reference), ["BANK-2", "BANK-1"]);
  const one = await billing.get(`/v1/payments/${first.json.id}`);
  t.equal(one.status, 200);
  t.equal(one.json.amount, "100.00");

  // Nothing more can be paid on a settled invoice.
  const more = await pay(staff, { invoiceId: inv.id, amount: "0.01", reference: "BANK-3" });
  t.equal(more.status, 409);
  t.equal(more.json.code, "invoice_not_payable");
});

t.test("credit notes reduce what is outstanding; settleInvoice recomputes the status", async (t) => {
  const { ctx, w, staff } = await setup(t);
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 10_000n });
  await createCreditNote(ctx.prisma, w.tenantA.id, inv.id, 3_000n);
  const over = await pay(staff, { invoiceId: inv.id, amount: "70.01", reference: "CN-1" });
  t.equal(over.status, 409);
  t.equal(over.json.code, "exceeds_outstanding", "the credit note lowered the outstanding to 70.00");
  const exact = await pay(staff, { invoiceId: inv.id, amount: "70.00", reference: "CN-2" });
  t.equal(exact.status, 201);
  t.match(exact.json.invoice, { status: "paid", credited: "-30.00", outstanding: "0.00" });

  // A credit note for the whole rest of an issued invoice settles it without any payment.
  const other = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 5_000n });
  await ctx.prisma.invoice.update({ where: { id: other.id }, data: { paidMinor: 2_000n } });
  await createCreditNote(ctx.prisma, w.tenantA.id, other.id, 3_000n);
  const settled = await ctx.prisma.$transaction((tx) => settleInvoice(tx, other.id));
  t.match(settled, { invoiceId: other.id, tenantId: w.tenantA.id, status: "paid", outstandingMinor: 0n, becamePaid: true });
  const again = await ctx.prisma.$transaction((tx) => settleInvoice(tx, other.id));
  t.match(again, { status: "paid", becamePaid: false }, "settling again changes nothing");
  t.ok((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: other.id } })).paidAt);

  // Drafts are left alone.
  const draft = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 100n, status: "draft" });
  t.match(await ctx.prisma.$transaction((tx) => settleInvoice(tx, draft.id)), { status: "draft", becamePaid: false });
});

t.test("refusals write nothing: bad amounts, wrong currency, unpayable invoices, duplicates, unknown invoices", async (t) => {
  const { ctx, w, staff } = await setup(t);
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 5_000n });
  const yen = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 1_200n, currency: "JPY" });
  const draft = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 5_000n, status: "draft" });
  const voided = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 5_000n, status: "void" });
  const credit = await createCreditNote(ctx.prisma, w.tenantA.id, inv.id, 100n);

  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ["three places in EUR", { invoiceId: inv.id, amount: "1.001", reference: "R1" }, 400, "validation_failed"],
    ["places in JPY", { invoiceId: yen.id, amount: "1.5", currency: "JPY", reference: "R1" }, 400, "validation_failed"],
    ["zero", { invoiceId: inv.id, amount: "0.00", reference: "R1" }, 400, "validation_failed"],
    ["a float-looking exponent", { invoiceId: inv.id, amount: "1e3", reference: "R1" }, 400, "validation_failed"],
    ["no invoice named", { amount: "1.00", reference: "R1" }, 400, "validation_failed"],
    ["both ways of naming it", { invoiceId: inv.id, invoiceNumber: inv.number, amount: "1.00", reference: "R1" }, 400, "validation_failed"],
    ["a future day", { invoiceId: inv.id, amount: "1.00", reference: "R1", receivedOn: "2999-01-01" }, 400, "validation_failed"],
    ["an unknown method", { invoiceId: inv.id, amount: "1.00", reference: "R1", method: "cash" }, 400, "validation_failed"],
    ["currency mismatch", { invoiceId: inv.id, amount: "1.00", currency: "USD", reference: "R1" }, 422, "currency_mismatch"],
    ["a draft", { invoiceId: draft.id, amount: "1.00", reference: "R1" }, 409, "invoice_not_payable"],
    ["a void invoice", { invoiceNumber: voided.number, amount: "1.00", reference: "R1" }, 409, "invoice_not_payable"],
    ["a credit note", { invoiceId: credit.id, amount: "1.00", reference: "R1" }, 409, "invoice_not_payable"],
    ["more than outstanding", { invoiceId: inv.id, amount: "49.01", reference: "R1" }, 409, "exceeds_outstanding"],
    ["an unknown invoice", { invoiceId: "0190a000-0000-7000-8000-000000000000", amount: "1.00", reference: "R1" }, 404, "not_found"],
    ["an unknown number", { invoiceNumber: "INV-0000-000000", amount: "1.00", reference: "R1" }, 404, "not_found"],
  ];
  for (const [label, body, status, code] of cases) {
    const res = await pay(staff, body);
    t.equal(res.status, status, `${label}: ${res.body}`);
    t.equal(res.json.code, code, label);
    t.match(res.headers["content-type"], /application\/problem\+json/);
  }
  const field = await pay(staff, { invoiceId: inv.id, amount: "1.001", reference: "R1" });
  t.match(field.json.errors, [{ field: "/body/amount" }], "the offending field is named");
  t.equal(await ctx.prisma.payment.count(), 0, "nothing recorded");
  t.equal((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } })).paidMinor, 0n);

  t.equal((await pay(staff, { invoiceId: yen.id, amount: "1200", currency: "JPY", reference: "R1" })).status, 201, "JPY has no minor places");
  const dup = await pay(staff, { invoiceId: inv.id, amount: "1.00", reference: "R1" });
  t.equal(dup.status, 409);
  t.equal(dup.json.code, "duplicate_reference", "the reference is taken in this tenant");
  t.equal(await ctx.prisma.payment.count(), 1);
  // Another tenant may use the same bank reference.
  const invB = await createInvoice(ctx.prisma, { tenantId: w.tenantB.id, totalMinor: 500n });
  t.equal((await pay(staff, { invoiceId: invB.id, amount: "5.00", reference: "R1" })).status, 201);
});

t.test("concurrent payments cannot overpay an invoice", async (t) => {
  const { ctx, w, staff } = await setup(t);
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 10_000n });
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => pay(staff, { invoiceId: inv.id, amount: "40.00", reference: `RACE-${i}` })));
  const statuses = results.map((r) => r.status).sort();
  t.same(statuses, [201, 201, 409, 409, 409, 409], "two of 40.00 fit in 100.00");
  t.ok(results.filter((r) => r.status === 409).every((r) => r.json.code === "exceeds_outstanding"));
  const row = await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } });
  t.equal(row.paidMinor, 8_000n);
  const sum = await ctx.prisma.payment.aggregate({ where: { invoiceId: inv.id }, _sum: { amountMinor: true } });
  t.equal(sum._sum.amountMinor, 8_000n, "paid_minor equals the payments recorded");

  // The same reference twice at once: one payment, one 409.
  const twins = await Promise.all([0, 1].map(() => pay(staff, { invoiceId: inv.id, amount: "1.00", reference: "TWIN" })));
  t.same(twins.map((r) => r.status).sort(), [201, 409]);
  t.equal(twins.find((r) => r.status === 409)!.json.code, "duplicate_reference");
  t.equal((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } })).paidMinor, 8_100n);
});

t.test("who may record and read payments: staff record, a tenant reads only its own", async (t) => {
  const { ctx, w, staff } = await setup(t);
  const invA = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 1_000n });
  const invB = await createInvoice(ctx.prisma, { tenantId: w.tenantB.id, totalMinor: 1_000n });
  const payA = (await pay(staff, { invoiceId: invA.id, amount: "1.00", reference: "A-1" })).json;
  const payB = (await pay(staff, { invoiceId: invB.id, amount: "2.00", reference: "B-1" })).json;

  const billingA = await signedIn(ctx, w.usersA.billing);
  const list = await billingA.get("/v1/payments");
  t.same(list.json.items.map((p: { id: string }) => p.id), [payA.id], "only tenant A's payment");
  t.equal((await billingA.get(`/v1/payments/${payB.id}`)).status, 404, "another tenant's payment is 404");
  t.equal((await billingA.get(`/v1/payments?tenantId=${w.tenantB.id}`)).status, 404, "another tenant named is 404");
  t.same((await billingA.get(`/v1/payments?invoiceId=${invB.id}`)).json.items, [], "another tenant's invoice matches nothing");
  const recordByCustomer = await pay(billingA, { invoiceId: invA.id, amount: "1.00", reference: "A-2" });
  t.equal(recordByCustomer.status, 403, "customers do not record payments");

  for (const role of ["operator", "viewer"] as const) {
    const c = await signedIn(ctx, w.usersA[role]);
    t.equal((await c.get("/v1/payments")).status, 403, `customer ${role}: no billing`);
  }
  const staffViewer = await signedIn(ctx, w.staff.viewer);
  t.equal((await staffViewer.get("/v1/payments")).status, 403, "platform viewer: no billing");
  t.equal((await pay(staffViewer, { invoiceId: invA.id, amount: "1.00", reference: "X" })).status, 403);

  const all = await staff.get("/v1/payments");
  t.same(all.json.items.map((p: { id: string }) => p.id).sort(), [payA.id, payB.id].sort(), "staff see every tenant's");
  const onlyB = await staff.get(`/v1/payments?tenantId=${w.tenantB.id}`);
  t.same(onlyB.json.items.map((p: { id: string }) => p.id), [payB.id]);
  t.equal((await staff.get(`/v1/payments?tenantId=${(await createTenant(ctx.prisma)).id}`)).json.items.length, 0);

  // Cursor pagination over the history.
  for (let i = 0; i < 4; i++) await pay(staff, { invoiceId: invA.id, amount: "1.00", reference: `A-P${i}` });
  const page1 = await billingA.get("/v1/payments?limit=2");
  t.equal(page1.json.items.length, 2);
  const page2 = await billingA.get(`/v1/payments?limit=2&cursor=${page1.json.nextCursor}`);
  const page3 = await billingA.get(`/v1/payments?limit=2&cursor=${page2.json.nextCursor}`);
  const seen = [...page1.json.items, ...page2.json.items, ...page3.json.items].map((p: { id: string }) => p.id);
  t.equal(new Set(seen).size, 5, "five payments, each once");
  t.equal(page3.json.items.length, 1);
  t.equal(page3.json.nextCursor, null);
  t.equal((await billingA.get("/v1/payments?cursor=bm9wZQ")).status, 400, "a cursor we did not issue");
});
