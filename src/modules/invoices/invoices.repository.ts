import type { Invoice, Prisma } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import { toInvoiceView, type CreditNoteRef } from "./invoice-view.js";
import type { InvoiceView } from "./invoices.schemas.js";

/** Credit notes count against an invoice once they are out (issued or paid); drafts and void ones do not. */
const COUNTING: Prisma.InvoiceWhereInput = { kind: "credit_note", status: { in: ["issued", "paid"] } };

/** The credit notes issued against each of these invoices, in issue order. */
export async function creditNotesOf(db: Db, invoiceIds: string[]): Promise<Map<string, CreditNoteRef[]>> {
  const byInvoice = new Map<string, CreditNoteRef[]>();
  if (!invoiceIds.length) return byInvoice;
  const notes = await db.invoice.findMany({
    where: { ...COUNTING, creditedInvoiceId: { in: invoiceIds } },
    select: { id: true, number: true, totalMinor: true, creditedInvoiceId: true },
    orderBy: [{ issuedAt: "asc" }, { id: "asc" }],
  });
  for (const n of notes) {
    const list = byInvoice.get(n.creditedInvoiceId!) ?? [];
    list.push({ id: n.id, number: n.number, totalMinor: n.totalMinor });
    byInvoice.set(n.creditedInvoiceId!, list);
  }
  return byInvoice;
}

/**
 * The whole document as the API and the PDF show it: lines, the credit notes against it and, for a credit note,
 * the number of the invoice it corrects. `invoice` is the row the caller already found (visibility checked).
 */
export async function readInvoiceView(db: Db, invoice: Invoice): Promise<InvoiceView> {
  const lines = await db.invoiceLine.findMany({ where: { invoiceId: invoice.id }, orderBy: { position: "asc" } });
  const notes = (await creditNotesOf(db, [invoice.id])).get(invoice.id) ?? [];
  const credited = invoice.creditedInvoiceId ? await db.invoice.findUnique({ where: { id: invoice.creditedInvoiceId }, select: { number: true } }) : null;
  return toInvoiceView({ ...invoice, lines }, notes, credited?.number ?? null);
}
