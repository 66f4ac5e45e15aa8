import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../../src/platform/db/database.js";

/**
 * Invoices as the issuing step leaves them, made directly: a draft with its lines, then moved to `issued` with
 * a number (the triggers allow content writes only while it is a draft). Each one of a tenant gets a period of
 * its own (one live invoice per tenant, period and currency).
 */
let serial = 0;
const party = (legalName: string) => ({ legalName, address: { line1: "Torstraße 1", postalCode: "10119", city: "Berlin", country: "DE" }, country: "DE", vatId: "DE811907980", email: null });

export interface InvoiceSpec {
  tenantId: string;
  /** Total in minor units (net + 19 % VAT is not modelled here: net = total, vat 0). */
  totalMinor: bigint;
  currency?: string;
  status?: "draft" | "issued" | "void";
  kind?: "invoice" | "credit_note";
  creditedInvoiceId?: string;
}

export async function createInvoice(prisma: PrismaClient, spec: InvoiceSpec) {
  const n = ++serial;
  // A month of its own per invoice: 1900-01, 1900-02, ... (far from any test that bills real periods).
  const month = (process.pid % 50) * 20 + n;
  const periodStart = new Date(Date.UTC(1900 + Math.floor(month / 12), month % 12, 1));
  const periodEnd = new Date(Date.UTC(periodStart.getUTCFullYear(), periodStart.getUTCMonth() + 1, 1));
  const currency = spec.currency ?? "EUR";
  const draft = await prisma.invoice.create({
    data: {
      tenantId: spec.tenantId,
      kind: spec.kind ?? "invoice",
      periodStart,
      periodEnd,
      currency,
      supplier: party("Conekt GmbH"),
      customer: party("Customer GmbH"),
      vatTreatment: "standard",
      vatBreakdown: [{ rate: "0.00", netMinor: spec.totalMinor.toString(), vatMinor: "0" }],
      netMinor: spec.totalMinor,
      vatMinor: 0n,
      totalMinor: spec.totalMinor,
      creditedInvoiceId: spec.creditedInvoiceId ?? null,
      lines: {
        create: [{ position: 1, kind: spec.kind === "credit_note" ? "credit" : "monthly_fee", description: "Monthly fee", quantity: "1", unit: "item", unitPrice: "1", netMinor: spec.totalMinor, vatRate: "0" }],
      },
    },
  });
  if ((spec.status ?? "issued") === "draft") return draft;
  const prefix = spec.kind === "credit_note" ? "TCN" : "TINV";
  const number = `${prefix}-${process.pid}-${n}-${randomBytes(2).toString("hex")}`;
  const issued = await prisma.invoice.update({
    where: { id: draft.id },
    data: { status: "issued", series: prefix, number, issueDate: new Date(), dueDate: new Date(Date.now() + 30 * 86_400_000), issuedAt: new Date() },
  });
  if (spec.status === "void") return prisma.invoice.update({ where: { id: draft.id }, data: { status: "void", voidedAt: new Date(), voidReason: "test" } });
  return issued;
}

/** A credit note (negative total) issued against `invoiceId`. */
export const createCreditNote = (prisma: PrismaClient, tenantId: string, invoiceId: string, totalMinor: bigint, currency = "EUR") =>
  createInvoice(prisma, { tenantId, totalMinor: -totalMinor, kind: "credit_note", creditedInvoiceId: invoiceId, currency });

/** Today as YYYY-MM-DD (UTC). */
export const today = () => new Date().toISOString().slice(0, 10);
