// The PDF half of the billing benchmark: renderInvoicePdf (the invoices.render job's work) on a synthetic issued
// invoice of 10,000 lines, as a large tenant's per-plan lines or a detailed statement would make. The lines are
// consistent (net = quantity x unit price, rounded once; totals = the sum of the lines; VAT 19 % on the net), and
// the names carry letters outside Latin-1, so the Unicode font path is the one measured.

import { performance } from "node:perf_hooks";
import { formatMinor, formatPrice, Money, toMinor, vatMinor } from "../src/modules/billing/money.js";
import type { InvoiceLineView, InvoiceView } from "../src/modules/invoices/invoices.schemas.js";
import { renderInvoicePdf } from "../src/modules/invoices/invoice-pdf.js";

const KINDS: Array<[InvoiceLineView["kind"], string, string, (i: number) => string]> = [
  ["monthly_fee", "SIM-month", "2.50", (i) => String(100 + (i % 900))],
  ["suspended_fee", "SIM-month", "0.50", (i) => (1 + (i % 40) / 30).toFixed(6)],
  ["activation_fee", "SIM", "1.00", (i) => String(1 + (i % 25))],
  ["data_overage", "MB", "0.0100", (i) => (1234.567891 + i * 3.3).toFixed(6)],
  ["sms_mo", "SMS", "0.05", (i) => String(10 + (i % 500))],
  ["sms_mt", "SMS", "0.02", (i) => String(5 + (i % 300))],
];

export function syntheticInvoice(lineCount: number): InvoiceView {
  const currency = "EUR";
  const lines: InvoiceLineView[] = [];
  let net = 0n;
  for (let i = 0; i < lineCount; i++) {
    const [kind, unit, price, quantityOf] = KINDS[i % KINDS.length]!;
    const quantity = quantityOf(i);
    const lineNet = toMinor(new Money(quantity).mul(price), currency);
    net += lineNet;
    const plan = `BENCH-EU-${1 + (i % 7)}GB`;
    lines.push({
      position: i + 1,
      kind,
      description: `${kind.replace("_", " ")} – ${plan} (IoT ${1 + (i % 7)} GB Europe), cost centre Łódź-${String(i).padStart(5, "0")}`,
      ratePlanId: "01930000-0000-7000-8000-000000000001",
      ratePlanVersion: 2,
      quantity,
      unit,
      unitPrice: formatPrice(new Money(price)),
      net: formatMinor(lineNet, currency),
      vatRate: "19.00",
      adjustsPeriod: null,
    });
  }
  const vat = vatMinor(net, "19.00");
  const fmt = (m: bigint) => formatMinor(m, currency);
  const address = { line1: "ul. Piotrkowska 104", postalCode: "90-926", city: "Łódź", country: "PL" };
  return {
    id: "01980000-0000-7000-8000-000000000001",
    tenantId: "01950000-0000-7000-8000-000000000001",
    kind: "invoice",
    status: "issued",
    number: "INV-2026-000042",
    period: "2026-09",
    supplyFrom: "2026-09-01",
    supplyTo: "2026-09-30",
    currency,
    issueDate: "2026-10-02",
    dueDate: "2026-11-01",
    customerName: "Łódź Telemetria Sp. z o.o.",
    vatTreatment: "standard",
    totals: { net: fmt(net), vat: fmt(vat), total: fmt(net + vat), paid: "0.00", credited: "0.00", outstanding: fmt(net + vat) },
    creditedInvoiceId: null,
    createdAt: "2026-10-02T01:00:00.000Z",
    issuedAt: "2026-10-02T01:00:05.000Z",
    paidAt: null,
    voidedAt: null,
    supplier: {
      legalName: "Conekt Bench GmbH",
      address: { line1: "Torstraße 1", postalCode: "10119", city: "Berlin", country: "DE" },
      country: "DE",
      vatId: "DE811907980",
      email: "billing@conekt.example",
      bankDetails: { iban: "DE89370400440532013000", bic: "COBADEFFXXX", bankName: "Commerzbank" },
    },
    customer: { legalName: "Łódź Telemetria Sp. z o.o.", address, country: "PL", vatId: null, email: "faktury@customer.example" },
    vatNote: null,
    vatBreakdown: [{ rate: "19.00", net: fmt(net), vat: fmt(vat) }],
    lines,
    reason: null,
    voidReason: null,
    billingRunId: null,
    creditedInvoiceNumber: null,
    creditNotes: [],
    links: { pdf: "/v1/invoices/01980000-0000-7000-8000-000000000001/pdf", csv: "/v1/invoices/01980000-0000-7000-8000-000000000001/csv" },
  };
}

export interface PdfTiming {
  /** The first render in this process: fonts loaded and parsed, code not yet optimised. */
  coldMs: number;
  /** The best of the following renders: a worker that has rendered before. */
  warmMs: number;
  bytes: number;
  pages: number;
}

/** Renders the invoice `1 + warmRuns` times; the bytes must be a PDF and identical each time (deterministic). */
export async function timePdf(lineCount: number, warmRuns = 3): Promise<PdfTiming> {
  const view = syntheticInvoice(lineCount);
  let t0 = performance.now();
  const first = await renderInvoicePdf(view);
  const coldMs = performance.now() - t0;
  if (first.subarray(0, 5).toString("latin1") !== "%PDF-") throw new Error("renderInvoicePdf did not answer a PDF");
  let warmMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < warmRuns; i++) {
    t0 = performance.now();
    const again = await renderInvoicePdf(view);
    warmMs = Math.min(warmMs, performance.now() - t0);
    if (!again.equals(first)) throw new Error("renderInvoicePdf gave different bytes for the same invoice");
  }
  // Page objects: "/Type /Page" not followed by "s" (the /Pages tree node).
  const pages = (first.toString("latin1").match(/\/Type \/Page(?!s)/g) ?? []).length;
  return { coldMs, warmMs, bytes: first.length, pages };
}
