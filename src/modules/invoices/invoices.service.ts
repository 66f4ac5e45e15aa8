import { createHash } from "node:crypto";
import type { Invoice, Prisma } from "../../generated/prisma/client.js";
import { decodeTimeIdCursor, page } from "../../http/pagination.js";
import type { PrismaClient, SqlRunner } from "../../platform/db/database.js";
import { NotFoundError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor, Principal } from "../access/principal.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";
import { parsePeriod } from "../billing/period.js";
import { invoiceCsv } from "./invoice-csv.js";
import { ensureDocument } from "./invoice-documents.js";
import { renderInvoicePdf } from "./invoice-pdf.js";
import { toInvoiceSummary } from "./invoice-view.js";
import type { InvoiceListQuery, InvoicePage, InvoiceView } from "./invoices.schemas.js";
import { creditNotesOf, readInvoiceView } from "./invoices.repository.js";

export type InvoicesService = ReturnType<typeof createInvoicesService>;

/** A PDF to send: the stored document of an issued one, or a draft's preview (never stored). */
export interface InvoicePdf {
  pdf: Buffer;
  sha256: string;
  filename: string;
  draft: boolean;
}

export interface InvoiceCsv {
  filename: string;
  chunks: AsyncGenerator<string>;
}

/**
 * Drafts are the platform's work in progress: staff see them (and a preview PDF), customers never do, not even
 * that one exists (404 like another tenant's invoice).
 */
const seesDrafts = (p: Principal): boolean => p.tenantKind === "platform";

/** A document number as a file name (numbers are "INV-2026-000042"; a prefix is staff-configured text). */
const fileStem = (inv: Invoice): string => (inv.number ? inv.number.replace(/[^A-Za-z0-9._-]/g, "_") : `draft-${inv.id}`);

/**
 * Reading invoices and credit notes (`read Invoice`): the list, one document whole, its PDF and its per-SIM
 * charges as CSV. Customers (owners, admins, billing contacts and `billing:read` keys) read their own tenant's,
 * drafts excepted; platform billing staff read every tenant's. Another tenant's invoice answers 404.
 */
export function createInvoicesService(deps: { prisma: PrismaClient; sql: SqlRunner }) {
  const { prisma, sql } = deps;

  async function findVisible(actor: Actor, principal: Principal, id: string): Promise<Invoice> {
    const invoice = await prisma.invoice.findFirst({
      where: { AND: [accessibleBy(actor.ability, "read").ofType("Invoice"), { id }, seesDrafts(principal) ? {} : { status: { not: "draft" } }] },
    });
    if (!invoice) throw new NotFoundError("Invoice");
    return invoice;
  }

  return {
    /** Newest first (by creation, then id), filtered in the query: another tenant's or a hidden draft never loads. */
    async list(actor: Actor, query: InvoiceListQuery): Promise<InvoicePage> {
      const principal = authorize(actor, "read", "Invoice");
      if (query.tenantId) await requireVisibleTenant(prisma, actor, query.tenantId, "Invoice");
      const before = decodeTimeIdCursor(query.cursor);
      const period = query.period ? parsePeriod(query.period) : null;
      const where: Prisma.InvoiceWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("Invoice"),
          seesDrafts(principal) ? {} : { status: { not: "draft" } },
          query.tenantId ? { tenantId: query.tenantId } : {},
          query.status?.length ? { status: { in: query.status } } : {},
          query.kind ? { kind: query.kind } : {},
          period ? { periodStart: period.start } : {},
          before ? { OR: [{ createdAt: { lt: before.at } }, { createdAt: before.at, id: { lt: before.id } }] } : {},
        ],
      };
      const rows = await prisma.invoice.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: query.limit + 1 });
      const result = page(rows, query.limit, (i) => ({ at: i.createdAt.toISOString(), id: i.id }));
      const notes = await creditNotesOf(prisma, result.items.map((i) => i.id));
      return { items: result.items.map((i) => toInvoiceSummary(i, notes.get(i.id) ?? [])), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, id: string): Promise<InvoiceView> {
      const principal = authorize(actor, "read", "Invoice");
      return readInvoiceView(prisma, await findVisible(actor, principal, id));
    },

    /**
     * The document as PDF. Issued, paid or void: the stored document (rendered and stored now if the render job
     * has not run yet). A draft (staff only): a preview rendered for this request, marked as a draft, not stored.
     */
    async pdf(actor: Actor, id: string): Promise<InvoicePdf> {
      const principal = authorize(actor, "read", "Invoice");
      const invoice = await findVisible(actor, principal, id);
      if (invoice.status === "draft") {
        const pdf = await renderInvoicePdf(await readInvoiceView(prisma, invoice));
        return { pdf, sha256: createHash("sha256").update(pdf).digest("hex"), filename: `${fileStem(invoice)}.pdf`, draft: true };
      }
      const doc = (await ensureDocument(prisma, invoice, actor))!;
      return { pdf: doc.pdf, sha256: doc.sha256, filename: `${fileStem(invoice)}.pdf`, draft: false };
    },

    /** The per-SIM charges behind the invoice's lines, streamed (see invoice-csv.ts). */
    async csv(actor: Actor, id: string): Promise<InvoiceCsv> {
      const principal = authorize(actor, "read", "Invoice");
      const invoice = await findVisible(actor, principal, id);
      return { filename: `${fileStem(invoice)}-sims.csv`, chunks: invoiceCsv(sql, invoice.id) };
    },
  };
}
