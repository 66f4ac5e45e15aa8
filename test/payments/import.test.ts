import t from "tap";
import { build, type TestApp } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";
import { createUser, createWorld } from "../helpers/factories.js";
import { createInvoice, today } from "./helpers.js";

async function setup(t: Parameters<typeof build>[0]) {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const clerk = await createUser(ctx.prisma, { tenantId: w.platform.id, role: "billing" });
  const staff = ctx.client();
  await staff.login(clerk.email, clerk.password);
  return { ctx, w, clerk, staff };
}

const upload = (c: Client, csv: string, query = "") => c.request("POST", `/v1/payments/import${query}`, { rawBody: csv, headers: { "content-type": "text/csv" } });

const paidMinor = async (ctx: TestApp, id: string) => (await ctx.prisma.invoice.findUniqueOrThrow({ where: { id } })).paidMinor;

t.test("a statement with good, duplicate and bad rows; importing it again adds nothing", async (t) => {
  const { ctx, w, staff } = await setup(t);
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: w.tenantA.id, url: "https://hooks.example.com/billing", events: ["invoice.paid"], secretEncrypted: "unused-here" } });
  const a1 = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 10_000n });
  const a2 = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 5_000n });
  const b1 = await createInvoice(ctx.prisma, { tenantId: w.tenantB.id, totalMinor: 2_000n });
  const draft = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 100n, status: "draft" });
  // Recorded by hand before the statement came: its row is a duplicate.
  const manual = await staff.post("/v1/payments", { invoiceId: a2.id, amount: "10.00", currency: "EUR", receivedOn: today(), reference: "STMT-03" });
  t.equal(manual.status, 201);

  const d = today();
  const csv = [
    "Invoice Number;Amount;Currency;Received On;Reference;Method;Note",
    `${a1.number};60.00;EUR;${d};STMT-01;bank_transfer;first`,
    `${a1.number};40.00;eur;${d};STMT-02;;"rest; with a semicolon"`,
    `${a2.number};10.00;EUR;${d};STMT-03;;`,
    `${b1.number};20.00;EUR;${d};STMT-04;card;`,
    `${a1.number};0.01;EUR;${d};STMT-05;;`,
    `${a2.number};10.001;EUR;${d};STMT-06;;`,
    `${a2.number};10.00;USD;${d};STMT-07;;`,
    `INV-NOPE-1;10.00;EUR;${d};STMT-08;;`,
    `${draft.number ?? "DRAFT-HAS-NO-NUMBER"};1.00;EUR;${d};STMT-09;;`,
    `${a2.number};10.00;EUR;2999-01-01;STMT-10;;`,
    `${a2.number};10.00;EUR;${d};;;`,
    `${a2.number};10.00;EUR;${d};STMT-12;cash;`,
    `${a2.number};10.00;EUR;${d};STMT-01;;same reference as line 2`,
    `${a2.number};10.00`,
    ";;;;;;",
    `${a2.number};41.00;EUR;${d};STMT-15;;`,
    "",
  ].join("\r\n");

  const res = await upload(staff, csv);
  t.equal(res.status, 200, "the import answers every row");
  t.match(res.json, { received: 15, recorded: 3, duplicates: 2, rejected: 10 });
  t.ok(res.json.importId);
  const byRef = (ref: string | null, line?: number) => res.json.rows.find((r: { reference: string | null; line: number }) => r.reference === ref && (line === undefined || r.line === line));
  t.match(byRef("STMT-01", 2), { status: "recorded", code: null, invoiceNumber: a1.number });
  t.ok(byRef("STMT-01", 2).paymentId);
  t.match(byRef("STMT-02"), { line: 3, status: "recorded" });
  t.match(byRef("STMT-03"), { line: 4, status: "duplicate", code: "duplicate_reference", reason: /already recorded/ });
  t.match(byRef("STMT-04"), { status: "recorded" });
  t.match(byRef("STMT-05"), { status: "rejected", code: "invoice_not_payable", reason: /nothing is outstanding/ });
  t.match(byRef("STMT-06"), { status: "rejected", code: "invalid_amount" });
  t.match(byRef("STMT-07"), { status: "rejected", code: "currency_mismatch" });
  t.match(byRef("STMT-08"), { status: "rejected", code: "invoice_not_found" });
  t.match(byRef("STMT-09"), { status: "rejected", code: "invoice_not_found" }, "a draft has no number to pay against");
  t.match(byRef("STMT-10"), { status: "rejected", code: "invalid_date" });
  t.match(byRef(null, 12), { status: "rejected", code: "missing_field", reason: /reference/ });
  t.match(byRef("STMT-12"), { status: "rejected", code: "invalid_method" });
  t.match(byRef("STMT-01", 14), { status: "duplicate", code: "duplicate_reference", reason: /line 2/ });
  t.match(byRef(null, 15), { status: "rejected", code: "malformed" });
  t.match(byRef("STMT-15"), { line: 17, status: "rejected", code: "exceeds_outstanding" }, "40.00 left on a2 after the manual 10.00");

  t.equal(await paidMinor(ctx, a1.id), 10_000n);
  t.equal((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: a1.id } })).status, "paid");
  t.equal(await paidMinor(ctx, a2.id), 1_000n, "only the manual payment");
  t.equal(await paidMinor(ctx, b1.id), 2_000n);
  const imported = await ctx.prisma.payment.findMany({ where: { importId: res.json.importId }, orderBy: { reference: "asc" } });
  t.same(imported.map((p) => [p.reference, p.amountMinor, p.source, p.method, p.note]), [
    ["STMT-01", 6_000n, "csv_import", "bank_transfer", "first"],
    ["STMT-02", 4_000n, "csv_import", "bank_transfer", "rest; with a semicolon"],
    ["STMT-04", 2_000n, "csv_import", "card", null],
  ]);
  const deliveries = await ctx.prisma.webhookDelivery.findMany({ where: { tenantId: w.tenantA.id } });
  t.equal(deliveries.length, 1, "invoice.paid for a1");
  t.match(deliveries[0]!.payload, { type: "invoice.paid", data: { invoiceId: a1.id } });
  const auditA = await ctx.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "payments.imported" } });
  t.match(auditA.data, { payments: 2, invoices: [a1.id], invoicesPaid: [a1.id] });
  t.ok(await ctx.prisma.auditEvent.findFirst({ where: { tenantId: w.tenantB.id, action: "payments.imported" } }));
  t.ok(await ctx.prisma.auditEvent.findFirst({ where: { tenantId: w.platform.id, action: "payments.imported" } }), "the importer's chain records the import");

  // The same statement again: every row that was recorded is now a duplicate; nothing is added.
  const before = await ctx.prisma.payment.count();
  const again = await upload(staff, csv);
  t.equal(again.status, 200);
  t.match(again.json, { importId: null, recorded: 0, duplicates: 5, rejected: 10 });
  t.equal(await ctx.prisma.payment.count(), before, "no payment added");
  t.equal(await paidMinor(ctx, a1.id), 10_000n);
});

t.test("atomic=true: one rejected row records nothing; a clean file records everything", async (t) => {
  const { ctx, w, staff } = await setup(t);
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 3_000n });
  const d = today();
  const bad = `invoiceNumber,amount,currency,receivedOn,reference\n${inv.number},10.00,EUR,${d},AT-1\n${inv.number},25.00,EUR,${d},AT-2\n`;
  const res = await upload(staff, bad, "?atomic=true");
  t.equal(res.status, 422);
  t.match(res.json, { code: "import_rejected", received: 2, recorded: 0, rejected: 1, rows: [{ line: 3, reference: "AT-2", code: "exceeds_outstanding" }] });
  t.equal(res.json.rows.length, 1, "the rejected rows are listed");
  t.equal(await ctx.prisma.payment.count(), 0);
  t.equal(await paidMinor(ctx, inv.id), 0n);

  const good = `invoiceNumber,amount,currency,receivedOn,reference\n${inv.number},10.00,EUR,${d},AT-1\n${inv.number},20.00,EUR,${d},AT-2\n`;
  const ok = await upload(staff, good, "?atomic=true");
  t.equal(ok.status, 200);
  t.match(ok.json, { recorded: 2, rejected: 0 });
  t.equal((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } })).status, "paid");
  // Duplicates are not rejections: re-importing atomically is fine and adds nothing.
  const again = await upload(staff, good, "?atomic=true");
  t.equal(again.status, 200);
  t.match(again.json, { recorded: 0, duplicates: 2 });
});

t.test("unusable files are refused whole (400); customers and non-billing staff cannot import", async (t) => {
  const { ctx, w, staff } = await setup(t);
  const cases: Array<[string, string]> = [
    ["an unknown column", "invoiceNumber,amount,currency,receivedOn,reference,iban\n"],
    ["a missing column", "invoiceNumber,amount,currency,receivedOn\nX,1.00,EUR,2026-01-01\n"],
    ["a repeated column", "invoiceNumber,amount,amount,currency,receivedOn,reference\n"],
    ["an unclosed quote", 'invoiceNumber,amount,currency,receivedOn,reference\n"X,1.00,EUR,2026-01-01,R\n'],
    ["too many rows", `invoiceNumber,amount,currency,receivedOn,reference\n${"X,1.00,EUR,2026-01-01,R\n".repeat(10_001)}`],
  ];
  for (const [label, csv] of cases) {
    const res = await upload(staff, csv);
    t.equal(res.status, 400, label);
    t.equal(res.json.code, "validation_failed", label);
  }
  const json = await staff.post("/v1/payments/import", { rows: [] });
  t.equal(json.status, 415, "CSV only");

  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 1_000n });
  const csv = `invoiceNumber,amount,currency,receivedOn,reference\n${inv.number},1.00,EUR,${today()},C-1\n`;
  for (const user of [w.usersA.owner, w.usersA.billing, w.staff.viewer]) {
    const c = ctx.client();
    await c.login(user.email, user.password);
    t.equal((await upload(c, csv)).status, 403);
  }
  t.equal(await ctx.prisma.payment.count(), 0);
});

t.test("10,000 rows in one import (the limit) are recorded set-based, in seconds", async (t) => {
  const { ctx, w, staff } = await setup(t);
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 1_000_000n });
  const d = today();
  const lines = ["invoiceNumber,amount,currency,receivedOn,reference"];
  for (let i = 0; i < 10_000; i++) lines.push(`${inv.number},1.00,EUR,${d},BULK-${i}`);
  const started = Date.now();
  const res = await upload(staff, lines.join("\n"));
  const seconds = (Date.now() - started) / 1000;
  t.equal(res.status, 200);
  t.match(res.json, { received: 10_000, recorded: 10_000, rejected: 0 });
  t.equal(await paidMinor(ctx, inv.id), 1_000_000n);
  t.equal((await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: inv.id } })).status, "paid");
  t.ok(seconds < 30, `took ${seconds.toFixed(1)} s`);
});
