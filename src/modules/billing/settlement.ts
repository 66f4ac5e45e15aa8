import type { InvoiceStatus } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import { txSql } from "../../platform/db/database.js";

/** What settling an invoice found and did. */
export interface Settlement {
  invoiceId: string;
  tenantId: string;
  status: InvoiceStatus;
  /** total + credit notes (negative) - paid, in minor units; 0 or less means settled. */
  outstandingMinor: bigint;
  /** true when this call moved the invoice from issued to paid (the caller emits `invoice.paid` after commit). */
  becamePaid: boolean;
}

interface Row {
  id: string;
  tenant_id: string;
  kind: string;
  status: InvoiceStatus;
  total: string;
  paid: string;
  credited: string;
}

/**
 * Recomputes an issued (or paid) invoice's status from what was paid and what its credit notes took off:
 * outstanding <= 0 -> paid (paid_at now, kept if it already was paid), else issued (paid_at cleared, e.g. after a
 * credit note was voided). Drafts, void invoices and credit notes themselves are returned unchanged.
 *
 * Call it inside the transaction that changed paid_minor or issued a credit note; it locks the invoice row
 * (FOR UPDATE) so concurrent settlements of one invoice serialise. Selects `::text` so it works on both Prisma's
 * raw results and the pool's.
 */
export async function settleInvoice(tx: Db, invoiceId: string, now: Date = new Date()): Promise<Settlement> {
  const sql = txSql(tx);
  const [inv] = await sql.query<Row>(
    `SELECT i.id::text, i.tenant_id::text, i.kind::text, i.status::text, i.total_minor::text AS total, i.paid_minor::text AS paid,
            (SELECT COALESCE(sum(c.total_minor), 0)::text FROM enterprise.invoices c
              WHERE c.credited_invoice_id = i.id AND c.kind = 'credit_note' AND c.status IN ('issued', 'paid')) AS credited
       FROM enterprise.invoices i WHERE i.id = $1::uuid FOR UPDATE OF i`,
    [invoiceId],
  );
  if (!inv) throw new Error(`settleInvoice: invoice ${invoiceId} not found`);
  const outstandingMinor = BigInt(inv.total) + BigInt(inv.credited) - BigInt(inv.paid);
  const base = { invoiceId: inv.id, tenantId: inv.tenant_id, outstandingMinor };
  if (inv.kind !== "invoice" || (inv.status !== "issued" && inv.status !== "paid")) {
    return { ...base, status: inv.status, becamePaid: false };
  }
  const status: InvoiceStatus = outstandingMinor <= 0n ? "paid" : "issued";
  if (status === inv.status) return { ...base, status, becamePaid: false };
  await tx.invoice.update({ where: { id: inv.id }, data: { status, paidAt: status === "paid" ? now : null } });
  return { ...base, status, becamePaid: status === "paid" };
}
