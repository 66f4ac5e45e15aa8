import { formatMinor, parseMinor } from "../billing/money.js";

/**
 * What a payment must satisfy, shared by manual entry and the CSV import so both refuse the same things with the
 * same codes. Pure: the invoice's state is read (and locked) by the caller.
 */

/** An invoice as payments see it: amounts in minor units, credit notes (negative) summed. */
export interface PayableInvoice {
  id: string;
  tenantId: string;
  kind: "invoice" | "credit_note";
  status: "draft" | "issued" | "paid" | "void";
  number: string | null;
  currency: string;
  totalMinor: bigint;
  paidMinor: bigint;
  creditedMinor: bigint;
}

export const outstandingOf = (inv: Pick<PayableInvoice, "totalMinor" | "paidMinor" | "creditedMinor">): bigint => inv.totalMinor + inv.creditedMinor - inv.paidMinor;

export interface Refusal {
  code: "currency_mismatch" | "invoice_not_payable" | "exceeds_outstanding";
  reason: string;
}

/**
 * Why `amountMinor` in `currency` cannot be paid against `inv` now, or null when it can. Only an issued invoice
 * with something outstanding takes money: drafts have no number to pay against, void ones are cancelled, credit
 * notes are money owed to the customer, and a settled invoice would be overpaid.
 */
export function refusePayment(inv: PayableInvoice, currency: string, amountMinor: bigint): Refusal | null {
  if (currency !== inv.currency) return { code: "currency_mismatch", reason: `the invoice is in ${inv.currency}, the payment in ${currency}` };
  const outstanding = outstandingOf(inv);
  if (inv.kind !== "invoice") return { code: "invoice_not_payable", reason: "a credit note does not take payments" };
  if (inv.status !== "issued" && inv.status !== "paid") return { code: "invoice_not_payable", reason: `the invoice is ${inv.status}` };
  if (outstanding <= 0n) return { code: "invoice_not_payable", reason: "nothing is outstanding on the invoice" };
  if (amountMinor > outstanding) return { code: "exceeds_outstanding", reason: `the amount exceeds the outstanding ${formatMinor(outstanding, inv.currency)} ${inv.currency}` };
  return null;
}

/** An amount string in the currency's places, greater than zero; null when it is not one. */
export function parsePaymentAmount(text: string, currency: string): bigint | null {
  const minor = parseMinor(text.trim(), currency);
  return minor !== null && minor > 0n ? minor : null;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** "YYYY-MM-DD" naming a real day, not after today (UTC, with a day's grace for time zones ahead of UTC). */
export function parseReceivedOn(text: string, now: Date = new Date()): Date | null {
  const m = DATE.exec(text.trim());
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (d.toISOString().slice(0, 10) !== text.trim()) return null;
  if (d.getTime() > now.getTime() + 86_400_000) return null;
  return d;
}
