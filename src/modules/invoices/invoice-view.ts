import type { Invoice, InvoiceLine } from "../../generated/prisma/client.js";
import { formatMinor, formatPrice } from "../billing/money.js";
import { isoDate } from "../billing/period.js";
import type { InvoiceLineView, InvoiceSummary, InvoiceView } from "./invoices.schemas.js";

/** The invoice's credit notes (issued or paid), as the view lists them and as they reduce what is outstanding. */
export interface CreditNoteRef {
  id: string;
  number: string | null;
  totalMinor: bigint;
}

const periodKey = (d: Date): string => isoDate(d).slice(0, 7);
const lastDayBefore = (end: Date): string => isoDate(new Date(end.getTime() - 86_400_000));
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const day = (d: Date | null): string | null => (d ? isoDate(d) : null);

export function toInvoiceSummary(inv: Invoice, creditNotes: readonly CreditNoteRef[] = []): InvoiceSummary {
  const c = inv.currency;
  const creditedMinor = creditNotes.reduce((sum, n) => sum + n.totalMinor, 0n);
  const customer = inv.customer as { legalName?: string };
  return {
    id: inv.id,
    tenantId: inv.tenantId,
    kind: inv.kind,
    status: inv.status,
    number: inv.number,
    period: periodKey(inv.periodStart),
    supplyFrom: isoDate(inv.periodStart),
    supplyTo: lastDayBefore(inv.periodEnd),
    currency: c,
    issueDate: day(inv.issueDate),
    dueDate: day(inv.dueDate),
    customerName: customer.legalName ?? "",
    vatTreatment: inv.vatTreatment,
    totals: {
      net: formatMinor(inv.netMinor, c),
      vat: formatMinor(inv.vatMinor, c),
      total: formatMinor(inv.totalMinor, c),
      paid: formatMinor(inv.paidMinor, c),
      credited: formatMinor(creditedMinor, c),
      outstanding: formatMinor(inv.totalMinor + creditedMinor - inv.paidMinor, c),
    },
    creditedInvoiceId: inv.creditedInvoiceId,
    createdAt: inv.createdAt.toISOString(),
    issuedAt: iso(inv.issuedAt),
    paidAt: iso(inv.paidAt),
    voidedAt: iso(inv.voidedAt),
  };
}

export function toInvoiceLineView(l: InvoiceLine, currency: string): InvoiceLineView {
  return {
    position: l.position,
    kind: l.kind as InvoiceLineView["kind"],
    description: l.description,
    ratePlanId: l.ratePlanId,
    ratePlanVersion: l.ratePlanVersion,
    quantity: l.quantity.toString(),
    unit: l.unit,
    unitPrice: formatPrice(l.unitPrice),
    net: formatMinor(l.netMinor, currency),
    vatRate: Number(l.vatRate.toString()).toFixed(2),
    adjustsPeriod: l.adjustsPeriod ? periodKey(l.adjustsPeriod) : null,
  };
}

/**
 * The whole invoice. `creditedInvoiceNumber`: for a credit note, the number of the invoice it corrects (the
 * caller reads it; it is printed on the credit note).
 */
export function toInvoiceView(inv: Invoice & { lines: InvoiceLine[] }, creditNotes: readonly CreditNoteRef[] = [], creditedInvoiceNumber: string | null = null): InvoiceView {
  const c = inv.currency;
  const breakdown = inv.vatBreakdown as Array<{ rate: string; netMinor: string | number; vatMinor: string | number }>;
  const party = (p: unknown) => {
    const x = p as InvoiceView["supplier"] & { bankDetails?: InvoiceView["supplier"]["bankDetails"] | null };
    const bank = x.bankDetails?.iban ? { bankDetails: { iban: x.bankDetails.iban, ...(x.bankDetails.bic ? { bic: x.bankDetails.bic } : {}), ...(x.bankDetails.bankName ? { bankName: x.bankDetails.bankName } : {}) } } : {};
    return { legalName: x.legalName, address: x.address, country: x.country, vatId: x.vatId ?? null, email: x.email ?? null, ...bank };
  };
  return {
    ...toInvoiceSummary(inv, creditNotes),
    supplier: party(inv.supplier),
    customer: party(inv.customer),
    vatNote: inv.vatNote,
    vatBreakdown: breakdown.map((b) => ({ rate: b.rate, net: formatMinor(BigInt(b.netMinor), c), vat: formatMinor(BigInt(b.vatMinor), c) })),
    lines: [...inv.lines].sort((a, b) => a.position - b.position).map((l) => toInvoiceLineView(l, c)),
    reason: inv.reason,
    voidReason: inv.voidReason,
    billingRunId: inv.billingRunId,
    creditedInvoiceNumber: inv.kind === "credit_note" ? creditedInvoiceNumber : null,
    creditNotes: creditNotes.map((n) => ({ id: n.id, number: n.number, total: formatMinor(n.totalMinor, c) })),
    links: { pdf: `/v1/invoices/${inv.id}/pdf`, csv: `/v1/invoices/${inv.id}/csv` },
  };
}
