import t, { type Test } from "tap";
import { Money, formatMinor, toMinor, vatMinor } from "../../src/modules/billing/money.js";
import { REVERSE_CHARGE_NOTE } from "../../src/modules/billing/vat.js";
import { renderInvoicePdf } from "../../src/modules/invoices/invoice-pdf.js";
import type { InvoiceView } from "../../src/modules/invoices/invoices.schemas.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { POLISH_CUSTOMER, SUPPLIER, createInvoice, type LineSpec } from "./factory.js";
import { amountAfter, download, minorOf, pdfText, platformTenant, signedIn } from "./helpers.js";

/**
 * The PDF as a reader (and an auditor) sees it: every field an EU VAT invoice must state, found in the text
 * `pdftotext -layout` extracts, with totals that are the sum of the lines printed.
 */

const LINES: LineSpec[] = [
  { kind: "monthly_fee", description: "Monthly fee – IOT-1GB-EU (IoT 1 GB Europe)", quantity: "120", unit: "SIM-month", unitPrice: "5.00" },
  { kind: "suspended_fee", description: "Suspended SIMs – IOT-1GB-EU", quantity: "7.5", unit: "SIM-month", unitPrice: "1.25" },
  { kind: "activation_fee", description: "Activation fee – IOT-1GB-EU", quantity: "3", unit: "SIM", unitPrice: "10.00" },
  { kind: "data_overage", description: "Data beyond the included 1 GB per SIM – IOT-1GB-EU", quantity: "1234.567891", unit: "MB", unitPrice: "0.0125" },
  { kind: "sms_mo", description: "SMS sent by the SIMs", quantity: "250", unit: "SMS", unitPrice: "0.05" },
];

interface PrintedLine {
  position: number;
  quantity: string;
  unit: string;
  unitPrice: string;
  vatRate: string;
  net: bigint;
}

/** A table row's first text line: position, description, quantity, unit, unit price, VAT %, net. */
const ROW = /^\s*(\d+)\s+.*?\s(-?\d+(?:\.\d+)?)\s+(\S+)\s+(\d+(?:\.\d+)?)\s+(\d{1,2}\.\d{2})\s+(-?[\d,]+\.\d{2})\s*$/;

/** The invoice lines printed on every page: the rows between each page's table header and its end. */
function printedLines(text: string): PrintedLine[] {
  const lines: PrintedLine[] = [];
  for (const page of text.split("\f")) {
    const rows = page.split("\n");
    const start = rows.findIndex((l) => /#\s+Description\s+Quantity\s+Unit\s+Unit price\s+VAT %\s+Net/.test(l));
    if (start < 0) continue;
    for (const row of rows.slice(start + 1)) {
      if (/VAT rate|Page \d+ of \d+/.test(row)) break;
      const m = ROW.exec(row);
      if (m) lines.push({ position: Number(m[1]), quantity: m[2]!, unit: m[3]!, unitPrice: m[4]!, vatRate: m[5]!, net: minorOf(m[6]!) });
    }
  }
  return lines;
}

/** The checks every document's text passes: lines as computed, their sum the net total, VAT once per rate. */
function checkArithmetic(t: Test, text: string, opts: { lines: number; rate: string; sign?: bigint }) {
  const printed = printedLines(text);
  t.same(printed.map((l) => l.position), Array.from({ length: opts.lines }, (_, i) => i + 1), "every line printed once, in order");
  for (const l of printed) {
    t.equal(l.net, (opts.sign ?? 1n) * toMinor(new Money(l.quantity).mul(l.unitPrice), "EUR"), `line ${l.position}: quantity x unit price = net`);
    t.equal(l.vatRate, opts.rate, `line ${l.position}: VAT ${opts.rate} %`);
  }
  const net = printed.reduce((s, l) => s + l.net, 0n);
  t.equal(amountAfter(text, "Net total"), net, "the net total is the sum of the line nets printed");
  t.equal(amountAfter(text, "VAT total"), vatMinor(net, opts.rate), "VAT = rate x net, rounded once");
  t.equal(amountAfter(text, "Total (EUR)"), net + vatMinor(net, opts.rate), "total = net + VAT");
  t.equal(amountAfter(text, `${opts.rate} %`), vatMinor(net, opts.rate), "the VAT breakdown's row for the rate");
}

t.test("an issued invoice's PDF states every mandatory field, and its totals are the sum of its lines", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  // A Polish customer without a VAT id: Polish VAT (the place of supply of telecoms is the customer's).
  const invoice = await createInvoice(ctx.prisma, { tenantId: tenant.id, period: "2026-11", vatRate: "23.00", lines: LINES });
  const billing = await signedIn(ctx, tenant.id, "billing");

  const res = await download(billing, `/v1/invoices/${invoice.id}/pdf`);
  t.equal(res.status, 200);
  t.equal(res.headers["content-type"], "application/pdf");
  t.equal(res.bytes.subarray(0, 5).toString("latin1"), "%PDF-");
  const text = await pdfText(res.bytes);

  const mandatory: Array<[string, string]> = [
    ["title", "Invoice"],
    ["sequential number", `Invoice number ${invoice.number}`],
    ["issue date", "Issue date 2026-12-01"],
    ["due date", "Due date 2026-12-31"],
    ["supply period", "Supply period 2026-11-01 to 2026-11-30"],
    ["currency", "Currency EUR"],
    ["supplier's legal name", SUPPLIER.legalName],
    ["supplier's street", "Friedrichstraße 68"],
    ["supplier's postal code and city", "10117 Berlin"],
    ["supplier's country", "Germany"],
    ["supplier's VAT id", "VAT ID: DE811907980"],
    ["customer's legal name (non-Latin-1 letters)", "Łódź Sp. z o.o."],
    ["customer's street", "ul. Piotrkowska 104"],
    ["customer's postal code and city", "90-926 Łódź"],
    ["customer's country", "Poland"],
    ["table header", "Description"],
    ["a line's description", "Monthly fee – IOT-1GB-EU (IoT 1 GB Europe)"],
    ["a quantity with its unit", "1234.567891 MB"],
    ["a unit price", "0.0125"],
    ["VAT breakdown", "VAT rate"],
    ["net total", "Net total"],
    ["VAT total", "VAT total"],
    ["total", "Total (EUR)"],
    ["payment terms", "Payment terms: 30 days net"],
    ["amount due and by when", `Please pay ${formatMinor(invoice.totalMinor, "EUR")} EUR by 2026-12-31`],
    ["bank account", "IBAN DE89370400440532013000, BIC COBADEFFXXX, Commerzbank"],
    ["page numbering", "Page 1 of 1"],
  ];
  const flat = text.replace(/[ \t]+/g, " ");
  for (const [what, needle] of mandatory) t.ok(flat.includes(needle), `${what}: "${needle}"`);
  t.notOk(flat.includes("Reverse charge"), "no reverse-charge note on a standard invoice");
  t.notOk(flat.includes("DRAFT"), "an issued invoice carries no draft mark");

  checkArithmetic(t, text, { lines: LINES.length, rate: "23.00" });
  t.equal(amountAfter(text, "Net total"), invoice.netMinor, "the printed net is the invoice's");
  t.equal(amountAfter(text, "Total (EUR)"), invoice.totalMinor, "the printed total is the invoice's");
});

t.test("reverse charge: the statement, 0.00 % VAT on every line, both VAT ids; a credit note names the invoice it corrects", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const customer = { legalName: "Győri Telemetria Kft.", address: { line1: "Baross Gábor út 12", postalCode: "9024", city: "Győr", country: "HU" }, country: "HU", vatId: "HU12892312", email: null };
  const invoice = await createInvoice(ctx.prisma, { tenantId: tenant.id, customer, vatTreatment: "reverse_charge", lines: LINES });
  const staff = await signedIn(ctx, await platformTenant(ctx), "billing");

  const text = await pdfText((await download(staff, `/v1/invoices/${invoice.id}/pdf`)).bytes);
  const flat = text.replace(/\s+/g, " ");
  t.ok(flat.includes(REVERSE_CHARGE_NOTE), "the reverse-charge statement (Art. 196)");
  t.ok(flat.includes("Győri Telemetria Kft.") && flat.includes("VAT ID: HU12892312"), "the customer's name and VAT id");
  t.ok(flat.includes("VAT ID: DE811907980"), "the supplier's VAT id");
  checkArithmetic(t, text, { lines: LINES.length, rate: "0.00" });
  t.equal(amountAfter(text, "VAT total"), 0n);

  const note = await createInvoice(ctx.prisma, {
    tenantId: tenant.id,
    kind: "credit_note",
    customer,
    vatTreatment: "reverse_charge",
    creditedInvoiceId: invoice.id,
    reason: "Activation fees charged twice",
    lines: [LINES[2]!],
  });
  const noteText = await pdfText((await download(staff, `/v1/invoices/${note.id}/pdf`)).bytes);
  const noteFlat = noteText.replace(/\s+/g, " ");
  t.ok(noteFlat.includes("Credit note"), "titled as a credit note");
  t.ok(noteFlat.includes(`Credit note number ${note.number}`), "its own number");
  t.ok(noteFlat.includes(`Corrects invoice ${invoice.number}`), "the number of the invoice it corrects");
  t.ok(noteFlat.includes(`This credit note corrects invoice ${invoice.number}.`));
  t.ok(noteFlat.includes("Reason: Activation fees charged twice"));
  t.ok(noteFlat.includes(REVERSE_CHARGE_NOTE));
  t.notOk(noteFlat.includes("Please pay"), "a credit note asks for no payment");
  checkArithmetic(t, noteText, { lines: 1, rate: "0.00", sign: -1n });
  t.equal(amountAfter(noteText, "Total (EUR)"), -3000n, "negative amounts");
});

t.test("a long invoice runs over pages that repeat the table header and number themselves", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const lines: LineSpec[] = Array.from({ length: 130 }, (_, i) => ({
    kind: "data_overage",
    // Some descriptions wrap over two or three lines of their column.
    description: i % 9 === 0 ? `Data beyond the included allowance, cost centre ${i}: fleet telemetry units in the Łódź, Győr and Şişli depots` : `Data overage, cost centre ${i}`,
    quantity: `${100 + i}.${String(i * 7919 % 1_000_000).padStart(6, "0")}`,
    unit: "MB",
    unitPrice: "0.0125",
  }));
  const invoice = await createInvoice(ctx.prisma, { tenantId: tenant.id, lines });
  const owner = await signedIn(ctx, tenant.id, "owner");
  const text = await pdfText((await download(owner, `/v1/invoices/${invoice.id}/pdf`)).bytes);
  const pages = text.split("\f").filter((p) => p.trim());
  t.ok(pages.length >= 3, `${pages.length} pages`);
  pages.forEach((page, i) => {
    t.match(page, new RegExp(`Page ${i + 1} of ${pages.length}`), `page ${i + 1} is numbered`);
    if (i < pages.length - 1 || /#\s+Description/.test(page)) t.match(page, /#\s+Description\s+Quantity\s+Unit\s+Unit price\s+VAT %\s+Net \(EUR\)/, `page ${i + 1} has the table header`);
  });
  t.match(pages[1]!, new RegExp(`Invoice ${invoice.number} – continued`), "a continuation page names the invoice");
  t.ok(text.includes("Şişli"), "letters outside Latin-1 in the lines print too");
  checkArithmetic(t, text, { lines: 130, rate: "19.00" });
});

t.test("rendering: the same document gives the same bytes; a draft is marked on every page", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const draft = await createInvoice(ctx.prisma, { tenantId: tenant.id, status: "draft", lines: LINES, customer: { ...POLISH_CUSTOMER, legalName: "Şişli Lojistik A.Ş." } });
  const staff = await signedIn(ctx, await platformTenant(ctx), "admin");
  const first = await download(staff, `/v1/invoices/${draft.id}/pdf`);
  t.equal(first.status, 200);
  t.equal(first.headers["cache-control"], "no-store", "a preview is never cached");
  t.match(first.headers["content-disposition"], `attachment; filename="draft-${draft.id}.pdf"`);
  const text = await pdfText(first.bytes);
  t.ok(text.includes("DRAFT – not a valid invoice"), "visibly marked as a draft");
  t.ok(text.includes("– (assigned when issued)"), "no number yet");
  t.ok(text.includes("Şişli Lojistik A.Ş."));
  t.equal(await ctx.prisma.invoiceDocument.count(), 0, "a draft's preview is not stored");
  const again = await download(staff, `/v1/invoices/${draft.id}/pdf`);
  t.ok(again.bytes.equals(first.bytes), "rendering is deterministic (creation date and file id from the document)");
  t.equal(again.headers.etag, first.headers.etag);
});

/** An issued invoice view of `n` lines, as the render job would pass it (consistent amounts, Unicode names). */
function bigView(n: number): InvoiceView {
  const lines = Array.from({ length: n }, (_, i) => {
    const quantity = `${1000 + i}.${String((i * 7919) % 1_000_000).padStart(6, "0")}`;
    return { position: i + 1, kind: "data_overage" as const, description: `Data overage – cost centre Łódź-${i}`, ratePlanId: null, ratePlanVersion: null, quantity, unit: "MB", unitPrice: "0.0125", net: formatMinor(toMinor(new Money(quantity).mul("0.0125"), "EUR"), "EUR"), vatRate: "19.00", adjustsPeriod: null };
  });
  const net = lines.reduce((s, l) => s + minorOf(l.net), 0n);
  const vat = vatMinor(net, "19.00");
  const fmt = (m: bigint) => formatMinor(m, "EUR");
  return {
    id: "01980000-0000-7000-8000-000000000001", tenantId: "01950000-0000-7000-8000-000000000001", kind: "invoice", status: "issued", number: "INV-2026-000042",
    period: "2026-11", supplyFrom: "2026-11-01", supplyTo: "2026-11-30", currency: "EUR", issueDate: "2026-12-01", dueDate: "2026-12-31", customerName: POLISH_CUSTOMER.legalName,
    vatTreatment: "standard", totals: { net: fmt(net), vat: fmt(vat), total: fmt(net + vat), paid: "0.00", credited: "0.00", outstanding: fmt(net + vat) },
    creditedInvoiceId: null, createdAt: "2026-12-01T01:00:00.000Z", issuedAt: "2026-12-01T02:00:00.000Z", paidAt: null, voidedAt: null,
    supplier: { legalName: SUPPLIER.legalName, address: SUPPLIER.address, country: "DE", vatId: SUPPLIER.vatId, email: SUPPLIER.email, bankDetails: { iban: "DE89370400440532013000", bic: "COBADEFFXXX" } },
    customer: { legalName: POLISH_CUSTOMER.legalName, address: POLISH_CUSTOMER.address, country: "PL", vatId: null, email: null },
    vatNote: null, vatBreakdown: [{ rate: "19.00", net: fmt(net), vat: fmt(vat) }], lines, reason: null, voidReason: null, billingRunId: null,
    creditedInvoiceNumber: null, creditNotes: [], links: { pdf: "", csv: "" },
  };
}

t.test("renderInvoicePdf: 10,000 lines, every one printed, the totals adding up", async (t) => {
  const view = bigView(10_000);
  const started = performance.now();
  const pdf = await renderInvoicePdf(view);
  t.comment(`10,000 lines: ${Math.round(performance.now() - started)} ms (cold), ${pdf.length} bytes`);
  const text = await pdfText(pdf);
  t.match(text, /Page 1 of \d{3}/);
  const printed = printedLines(text);
  t.equal(printed.length, 10_000, "every line printed");
  t.equal(amountAfter(text, "Net total"), printed.reduce((s, l) => s + l.net, 0n));
  t.ok((await renderInvoicePdf(view)).equals(pdf), "the same view gives the same bytes");
});
