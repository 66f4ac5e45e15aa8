import type { Db, PrismaClient } from "../../platform/db/database.js";
import { ConflictError, NotFoundError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { loadBillingSettings } from "../billing/billing-settings.js";
import { issueCreditNote, planCredit } from "../billing/credit-notes.js";
import { announceIssued, issueDraft, type IssuedDocument } from "../billing/invoice-issue.js";
import { settleAndAnnounce } from "../payments/payments.repository.js";
import { deliverSoon } from "../webhooks/webhook-events.js";
import type { CreditNoteBody, VoidInvoiceBody } from "./invoice-actions.schemas.js";
import { readInvoiceView } from "./invoices.repository.js";
import type { InvoiceView } from "./invoices.schemas.js";

export type InvoiceActionsService = ReturnType<typeof createInvoiceActionsService>;

/** Long enough for a credit note of a 10,000-line invoice; the wait for a connection is bounded separately. */
const TX = { maxWait: 30_000, timeout: 60_000 };

/** The document as the invoice routes show it (invoices.repository.ts), read in the action's transaction. */
const viewOf = async (db: Db, id: string): Promise<InvoiceView> => readInvoiceView(db, await db.invoice.findUniqueOrThrow({ where: { id } }));

/** Locks the invoice row for the rest of the transaction (payments and other actions on it wait) and reads it. */
async function lockInvoice(tx: Db, id: string) {
  await tx.$queryRaw`SELECT id FROM enterprise.invoices WHERE id = ${id}::uuid FOR UPDATE`;
  return tx.invoice.findUniqueOrThrow({ where: { id }, include: { lines: true } });
}

/**
 * Staff actions on invoices: issue a draft, void, credit. Each checks the caller's role first (customers,
 * who may read their invoices, are refused here with 403 before anything is looked up), then that the invoice
 * exists for the caller (404), then its state under a row lock (409), and writes its audit event in the same
 * transaction. New documents are announced (webhook, PDF, mail) after commit.
 */
export function createInvoiceActionsService(deps: { prisma: PrismaClient; jobs: JobRunner }) {
  const { prisma, jobs } = deps;

  async function visible(actor: Actor, action: "update" | "create", id: string): Promise<void> {
    const found = await prisma.invoice.findFirst({ where: { AND: [accessibleBy(actor.ability, action).ofType("Invoice"), { id }] }, select: { id: true } });
    if (!found) throw new NotFoundError("Invoice");
  }

  return {
    /** A draft gets its number, dates and fresh party snapshots (409 `invoice_not_draft` otherwise). */
    async issue(actor: Actor, id: string): Promise<InvoiceView> {
      authorize(actor, "update", "Invoice");
      await visible(actor, "update", id);
      const settings = await loadBillingSettings(prisma);
      const done = await prisma.$transaction(async (tx) => {
        const issued = await issueDraft(tx, id, { actor, settings });
        return { issued, view: await viewOf(tx, id) };
      }, TX);
      await announceIssued(jobs, [done.issued]);
      return done.view;
    },

    /**
     * A draft becomes void. An issued invoice without payments is credited in full (what its earlier credit
     * notes left) by a credit note, then void: that frees its period for a corrected billing run. Refused:
     * payments received (409 `invoice_has_payments`: credit or refund instead), already void (409
     * `invoice_void`), a credit note (409 `credit_note_not_voidable`).
     */
    async void(actor: Actor, id: string, body: VoidInvoiceBody): Promise<InvoiceView> {
      authorize(actor, "update", "Invoice");
      await visible(actor, "update", id);
      const settings = await loadBillingSettings(prisma);
      const done = await prisma.$transaction(async (tx) => {
        const inv = await lockInvoice(tx, id);
        if (inv.status === "void") throw new ConflictError("The invoice is already void.", "invoice_void", { invoiceStatus: inv.status });
        if (inv.kind === "credit_note") throw new ConflictError("A credit note cannot be voided.", "credit_note_not_voidable");
        if (inv.paidMinor > 0n) throw new ConflictError("Payments were received for this invoice: issue a credit note instead.", "invoice_has_payments", { invoiceStatus: inv.status });
        let creditNote: IssuedDocument | null = null;
        if (inv.status !== "draft") {
          const plan = await planCredit(tx, inv, null).catch((err: unknown) => {
            // Credited in full already: nothing to add, the invoice simply becomes void.
            if (err instanceof ConflictError && err.code === "nothing_to_credit") return null;
            throw err;
          });
          if (plan) creditNote = await issueCreditNote(tx, inv, plan, `Void: ${body.reason}`.slice(0, 500), { actor, settings });
        }
        await tx.invoice.update({ where: { id }, data: { status: "void", voidedAt: new Date(), voidReason: body.reason } });
        await appendAudit(tx, actor, {
          tenantId: inv.tenantId,
          action: "invoice.voided",
          targetType: "invoice",
          targetId: id,
          data: { number: inv.number, from: inv.status, reason: body.reason, creditNoteId: creditNote?.id ?? null, creditNoteNumber: creditNote?.number ?? null },
        });
        return { creditNote, view: await viewOf(tx, id) };
      }, TX);
      if (done.creditNote) await announceIssued(jobs, [done.creditNote]);
      return done.view;
    },

    /**
     * A credit note for some lines (a quantity of each, or what is left of it) or for everything left of an
     * issued or paid invoice (409 `invoice_not_creditable` otherwise). The invoice is then settled: credited
     * in full it counts as paid (with `invoice.paid`).
     */
    async createCreditNote(actor: Actor, id: string, body: CreditNoteBody): Promise<InvoiceView> {
      authorize(actor, "create", "Invoice");
      await visible(actor, "create", id);
      const settings = await loadBillingSettings(prisma);
      const done = await prisma.$transaction(async (tx) => {
        const inv = await lockInvoice(tx, id);
        if (inv.kind !== "invoice" || (inv.status !== "issued" && inv.status !== "paid")) {
          throw new ConflictError(`Only an issued or paid invoice can be credited; this ${inv.kind.replace("_", " ")} is ${inv.status}.`, "invoice_not_creditable", { invoiceStatus: inv.status });
        }
        const plan = await planCredit(tx, inv, body.lines ?? null);
        const creditNote = await issueCreditNote(tx, inv, plan, body.reason, { actor, settings });
        const { deliveryIds } = await settleAndAnnounce(tx, [id]);
        return { creditNote, deliveryIds, view: await viewOf(tx, creditNote.id) };
      }, TX);
      await announceIssued(jobs, [done.creditNote]);
      await deliverSoon(jobs, done.deliveryIds);
      return done.view;
    },
  };
}
