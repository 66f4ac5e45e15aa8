import type { PrismaClient } from "../src/platform/db/database.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import { systemActor } from "../src/modules/audit/audit.writer.js";
import { ensureDocument } from "../src/modules/invoices/invoice-documents.js";

const ACTOR = systemActor("invoices-render");

/**
 * invoices.render: after an invoice or credit note is issued, render its PDF and store it (invoice_documents,
 * immutable), so downloads serve stored bytes and never wait for a render. Idempotent: a document already
 * stored (an earlier attempt, or a download that came first) is left as it is. An invoice that is gone or
 * still a draft has nothing to render.
 */
export function invoicesRenderJob(deps: { prisma: PrismaClient }): Processor<"invoices.render"> {
  return async (data, ctx) => {
    const invoice = await deps.prisma.invoice.findUnique({ where: { id: data.invoiceId } });
    if (!invoice || invoice.status === "draft") {
      ctx.log(`invoices.render: invoice ${data.invoiceId} is ${invoice ? "a draft" : "not found"}: nothing to render`);
      return { stored: false, reason: invoice ? "draft" : "not_found" };
    }
    const doc = await ensureDocument(deps.prisma, invoice, ACTOR);
    return { stored: doc?.stored ?? false, sha256: doc?.sha256 ?? null, bytes: doc?.pdf.length ?? 0 };
  };
}
