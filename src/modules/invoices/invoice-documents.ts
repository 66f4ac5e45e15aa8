import { createHash } from "node:crypto";
import type { Invoice } from "../../generated/prisma/client.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { Actor } from "../access/principal.js";
import { appendAudit, type SystemActor } from "../audit/audit.writer.js";
import { renderInvoicePdf } from "./invoice-pdf.js";
import { readInvoiceView } from "./invoices.repository.js";

/** An issued document's PDF as stored (invoice_documents): written once, served byte for byte ever after. */
export interface StoredDocument {
  pdf: Buffer;
  sha256: string;
  /** Whether this call stored it (false: it was there already, or a concurrent call stored it first). */
  stored: boolean;
}

export async function findDocument(prisma: PrismaClient, invoiceId: string): Promise<Omit<StoredDocument, "stored"> | null> {
  const row = await prisma.invoiceDocument.findUnique({ where: { invoiceId }, select: { pdf: true, sha256: true } });
  return row ? { pdf: Buffer.from(row.pdf), sha256: row.sha256 } : null;
}

/**
 * The PDF of an issued, paid or void invoice or credit note: the stored one, or rendered now and stored. The
 * render job (invoices.render) does this right after issuing; a download that comes first does it itself.
 * Rendering happens outside any transaction (up to a second for a 10,000-line invoice); the insert is
 * `ON CONFLICT DO NOTHING` and the answer is the row read back, so two first requests at once (or the job and
 * a request) serve the same bytes, whichever stored them. Storing records `invoice.document_stored`.
 * A draft has no document: null.
 */
export async function ensureDocument(prisma: PrismaClient, invoice: Invoice, actor: Actor | SystemActor): Promise<StoredDocument | null> {
  if (invoice.status === "draft") return null;
  const existing = await findDocument(prisma, invoice.id);
  if (existing) return { ...existing, stored: false };

  const pdf = await renderInvoicePdf(await readInvoiceView(prisma, invoice));
  const sha256 = createHash("sha256").update(pdf).digest("hex");
  const stored = await prisma.$transaction(async (tx) => {
    const inserted = await tx.$executeRaw`
      INSERT INTO enterprise.invoice_documents (invoice_id, pdf, sha256) VALUES (${invoice.id}::uuid, ${pdf}, ${sha256})
      ON CONFLICT (invoice_id) DO NOTHING`;
    if (inserted === 1) {
      await appendAudit(tx, actor, {
        tenantId: invoice.tenantId,
        action: "invoice.document_stored",
        targetType: "invoice",
        targetId: invoice.id,
        data: { number: invoice.number, kind: invoice.kind, sha256, bytes: pdf.length },
      });
    }
    return inserted === 1;
  });
  const row = await findDocument(prisma, invoice.id);
  if (!row) throw new Error(`invoice ${invoice.id}: its document vanished after being stored`);
  return { ...row, stored };
}
