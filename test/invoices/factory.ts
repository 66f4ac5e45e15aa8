import { randomBytes } from "node:crypto";
import type { Invoice } from "../../src/generated/prisma/client.js";
import type { InvoiceParty } from "../../src/modules/billing/billing-settings.js";
import { Money, toMinor, vatMinor } from "../../src/modules/billing/money.js";
import { parsePeriod } from "../../src/modules/billing/period.js";
import { REVERSE_CHARGE_NOTE } from "../../src/modules/billing/vat.js";
import type { PrismaClient } from "../../src/platform/db/database.js";

/**
 * Invoices as the issuing code leaves them, made by hand: a draft is inserted with its lines and per-SIM
 * charges, then issued (number, dates) in an UPDATE, since the immutability triggers accept content only while
 * a document is a draft. Amounts are consistent: each line's net is quantity x unit price rounded once, VAT is
 * computed once per rate, the totals are the sums.
 */

export interface LineSpec {
  kind?: "monthly_fee" | "suspended_fee" | "activation_fee" | "data_overage" | "sms_mo" | "sms_mt" | "late_usage" | "credit";
  description: string;
  quantity: string;
  unit: string;
  unitPrice: string;
  /** Default: quantity x unit price, rounded half-up to the minor unit. */
  netMinor?: bigint;
  ratePlanId?: string;
}

export interface ChargeSpec {
  simId: string;
  iccid: string;
  ratePlanId: string;
  /** "YYYY-MM"; default the invoice's period. */
  usagePeriod?: string;
  billableDays?: number;
  suspendedDays?: number;
  activated?: boolean;
  bytes?: bigint;
  includedBytes?: bigint;
  overageBytes?: bigint;
  smsMo?: number;
  smsMt?: number;
  feeAmount?: string;
  activationAmount?: string;
  overageAmount?: string;
  smsAmount?: string;
}

export const SUPPLIER: InvoiceParty = {
  legalName: "Conekt Connectivity GmbH",
  address: { line1: "Friedrichstraße 68", postalCode: "10117", city: "Berlin", country: "DE" },
  country: "DE",
  vatId: "DE811907980",
  email: "billing@conekt.example",
  bankDetails: { iban: "DE89370400440532013000", bic: "COBADEFFXXX", bankName: "Commerzbank" },
};

export const POLISH_CUSTOMER: InvoiceParty = {
  legalName: "Łódź Sp. z o.o.",
  address: { line1: "ul. Piotrkowska 104", postalCode: "90-926", city: "Łódź", country: "PL" },
  country: "PL",
  vatId: null,
  email: "faktury@lodz.example",
};

let serial = 0;
const runTag = randomBytes(2).toString("hex").toUpperCase();

export interface InvoiceSpec {
  tenantId: string;
  /** "YYYY-MM"; default a month of its own per call (one live invoice per tenant, period and currency). */
  period?: string;
  currency?: string;
  kind?: "invoice" | "credit_note";
  status?: "draft" | "issued" | "paid" | "void";
  supplier?: InvoiceParty;
  customer?: InvoiceParty;
  vatTreatment?: "standard" | "reverse_charge" | "outside_scope";
  /** Percent with two places; default 19.00 (0.00 under reverse charge). */
  vatRate?: string;
  vatNote?: string | null;
  lines: LineSpec[];
  charges?: ChargeSpec[];
  creditedInvoiceId?: string;
  reason?: string;
  /** Default 2026-12-01 (issued at 02:00 UTC that day), due 30 days later. */
  issueDate?: string;
  number?: string;
}

/** A document in the given state (default issued) with its lines and charges. */
export async function createInvoice(prisma: PrismaClient, spec: InvoiceSpec): Promise<Invoice> {
  const currency = spec.currency ?? "EUR";
  const kind = spec.kind ?? "invoice";
  const n = ++serial;
  const period = parsePeriod(spec.period ?? `20${30 + Math.floor(n / 12)}-${String((n % 12) + 1).padStart(2, "0")}`)!;
  const treatment = spec.vatTreatment ?? "standard";
  const rate = spec.vatRate ?? (treatment === "standard" ? "19.00" : "0.00");
  const sign = kind === "credit_note" ? -1n : 1n;
  const lines = spec.lines.map((l, i) => ({
    position: i + 1,
    kind: l.kind ?? "monthly_fee",
    description: l.description,
    ratePlanId: l.ratePlanId ?? null,
    quantity: l.quantity,
    unit: l.unit,
    unitPrice: l.unitPrice,
    netMinor: l.netMinor ?? sign * toMinor(new Money(l.quantity).mul(l.unitPrice), currency),
    vatRate: rate,
  }));
  const net = lines.reduce((s, l) => s + l.netMinor, 0n);
  const vat = vatMinor(net, rate);
  const draft = await prisma.invoice.create({
    data: {
      tenantId: spec.tenantId,
      kind,
      status: "draft",
      periodStart: period.start,
      periodEnd: period.end,
      currency,
      supplier: (spec.supplier ?? SUPPLIER) as object,
      customer: (spec.customer ?? POLISH_CUSTOMER) as object,
      vatTreatment: treatment,
      vatNote: spec.vatNote !== undefined ? spec.vatNote : treatment === "reverse_charge" ? REVERSE_CHARGE_NOTE : null,
      vatBreakdown: [{ rate, netMinor: net.toString(), vatMinor: vat.toString() }],
      netMinor: net,
      vatMinor: vat,
      totalMinor: net + vat,
      creditedInvoiceId: spec.creditedInvoiceId ?? null,
      reason: spec.reason ?? null,
    },
  });
  await prisma.invoiceLine.createMany({ data: lines.map((l) => ({ ...l, invoiceId: draft.id })) });
  if (spec.charges?.length) {
    await prisma.invoiceSimCharge.createMany({
      data: spec.charges.map((c) => ({
        invoiceId: draft.id,
        simId: c.simId,
        iccid: c.iccid,
        ratePlanId: c.ratePlanId,
        usagePeriod: parsePeriod(c.usagePeriod ?? period.key)!.start,
        billableDays: c.billableDays ?? period.days,
        suspendedDays: c.suspendedDays ?? 0,
        activated: c.activated ?? false,
        bytes: c.bytes ?? 0n,
        includedBytes: c.includedBytes ?? 0n,
        overageBytes: c.overageBytes ?? 0n,
        smsMo: c.smsMo ?? 0,
        smsMt: c.smsMt ?? 0,
        feeAmount: c.feeAmount ?? "0",
        activationAmount: c.activationAmount ?? "0",
        overageAmount: c.overageAmount ?? "0",
        smsAmount: c.smsAmount ?? "0",
      })),
    });
  }
  const status = spec.status ?? "issued";
  if (status === "draft") return draft;

  const issueDate = new Date(`${spec.issueDate ?? "2026-12-01"}T00:00:00Z`);
  const prefix = kind === "credit_note" ? "CN" : "INV";
  const series = `${prefix}-${issueDate.getUTCFullYear()}`;
  const number = spec.number ?? `${series}-${runTag}${String(n).padStart(4, "0")}`;
  const issued = await prisma.invoice.update({
    where: { id: draft.id },
    data: { status: "issued", series, number, issueDate, dueDate: new Date(issueDate.getTime() + 30 * 86_400_000), issuedAt: new Date(issueDate.getTime() + 2 * 3600_000) },
  });
  if (status === "paid") return prisma.invoice.update({ where: { id: draft.id }, data: { status: "paid", paidMinor: issued.totalMinor, paidAt: new Date() } });
  if (status === "void") return prisma.invoice.update({ where: { id: draft.id }, data: { status: "void", voidedAt: new Date(), voidReason: "test" } });
  return issued;
}

/**
 * Lines that detail per-SIM charges as the billing computation does: one line per kind of amount, its net the
 * sum of the SIMs' exact shares rounded once.
 */
export function linesForCharges(charges: ChargeSpec[], currency = "EUR"): LineSpec[] {
  const sum = (pick: (c: ChargeSpec) => string | undefined) => charges.reduce((s, c) => s.add(pick(c) ?? "0"), new Money(0));
  const fee = sum((c) => c.feeAmount);
  const overage = sum((c) => c.overageAmount);
  const sms = sum((c) => c.smsAmount);
  const activation = sum((c) => c.activationAmount);
  const lines: LineSpec[] = [
    { kind: "monthly_fee", description: "Monthly fee – per-SIM charges", quantity: "1", unit: "item", unitPrice: fee.toFixed(6), netMinor: toMinor(fee, currency) },
    { kind: "data_overage", description: "Data beyond the included allowance", quantity: "1", unit: "item", unitPrice: overage.toFixed(6), netMinor: toMinor(overage, currency) },
    { kind: "sms_mo", description: "SMS", quantity: "1", unit: "item", unitPrice: sms.toFixed(6), netMinor: toMinor(sms, currency) },
    { kind: "activation_fee", description: "Activation fees", quantity: "1", unit: "item", unitPrice: activation.toFixed(6), netMinor: toMinor(activation, currency) },
  ];
  return lines;
}
