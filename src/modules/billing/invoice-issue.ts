import type { Db } from "../../platform/db/database.js";
import { ConflictError, UnprocessableError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import type { Actor } from "../access/principal.js";
import { appendAudit, type SystemActor } from "../audit/audit.writer.js";
import { deliverSoon, emitWebhookEvent } from "../webhooks/webhook-events.js";
import { customerParty, missingIssuerDetails, type EffectiveBillingSettings } from "./billing-settings.js";
import { invoiceTotals, rateKey } from "./invoice-totals.js";
import { formatMinor } from "./money.js";
import { takeNextNumber, seriesCode } from "./numbering.js";
import { isoDate } from "./period.js";
import { decideVat } from "./vat.js";

/** What issuing produced, for the work after commit (`announceIssued`) and the callers' answers. */
export interface IssuedDocument {
  id: string;
  tenantId: string;
  kind: "invoice" | "credit_note";
  number: string;
  /** The `invoice.issued` webhook deliveries written in the transaction. */
  deliveryIds: string[];
}

export interface IssueOptions {
  actor: Actor | SystemActor;
  settings: EffectiveBillingSettings;
  /** The issuing instant: the issue date is its UTC day. */
  now?: Date;
}

const DAY_MS = 86_400_000;
const utcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

/**
 * Issues a draft (invoice or credit note) inside the caller's transaction: the invoice row is locked, so two
 * concurrent issues of one draft cannot both pass the draft check. An invoice's supplier and customer snapshots
 * are refreshed from the billing settings and the tenant as they are now (a draft may have waited for review),
 * and with them the VAT decision: if it changed, the lines take the new rate and the totals are recomputed.
 * A credit note keeps the parties and VAT of the invoice it corrects. Then the number is taken (last but for
 * the outbox rows: every other issuer waits on the series from here to commit), the issue date is today (UTC),
 * an invoice is due `paymentTermsDays` later, and `invoice.issued` and the audit event are written.
 */
export async function issueDraft(tx: Db, invoiceId: string, opts: IssueOptions): Promise<IssuedDocument> {
  const now = opts.now ?? new Date();
  const { settings } = opts;
  const [locked] = await tx.$queryRaw<Array<{ status: string }>>`SELECT status::text FROM enterprise.invoices WHERE id = ${invoiceId}::uuid FOR UPDATE`;
  if (!locked) throw new Error(`issueDraft: invoice ${invoiceId} not found`);
  if (locked.status !== "draft") throw new ConflictError(`The invoice is ${locked.status}: only a draft can be issued.`, "invoice_not_draft", { invoiceStatus: locked.status });
  const draft = await tx.invoice.findUniqueOrThrow({ where: { id: invoiceId }, include: { lines: { select: { netMinor: true, vatRate: true } }, tenant: true } });

  let parties = {};
  let totals = { netMinor: draft.netMinor, vatMinor: draft.vatMinor, totalMinor: draft.totalMinor, breakdown: draft.vatBreakdown as unknown };
  if (draft.kind === "invoice") {
    const missing = missingIssuerDetails(settings.issuer);
    if (missing.length) {
      throw new UnprocessableError(`The issuer's billing details are incomplete (${missing.join(", ")}): set them with PUT /v1/billing/settings before invoices are issued.`, "billing_settings_incomplete");
    }
    const customer = customerParty(draft.tenant);
    const vat = decideVat(settings.issuer, customer, settings.vatRateOverrides);
    if (draft.lines.some((l) => rateKey(l.vatRate) !== vat.rate)) {
      await tx.invoiceLine.updateMany({ where: { invoiceId }, data: { vatRate: vat.rate } });
    }
    const t = invoiceTotals(draft.lines.map((l) => ({ netMinor: l.netMinor, vatRate: vat.rate })));
    totals = { netMinor: t.netMinor, vatMinor: t.vatMinor, totalMinor: t.totalMinor, breakdown: t.breakdown };
    parties = { supplier: settings.issuer as object, customer: customer as object, vatTreatment: vat.treatment, vatNote: vat.note };
  }

  const issueDate = utcDay(now);
  const dueDate = draft.kind === "invoice" ? new Date(issueDate.getTime() + settings.paymentTermsDays * DAY_MS) : null;
  const prefix = draft.kind === "invoice" ? settings.invoicePrefix : settings.creditNotePrefix;
  const { series, number } = await takeNextNumber(tx, seriesCode(prefix, issueDate));
  const issued = await tx.invoice.update({
    where: { id: invoiceId },
    data: {
      ...parties,
      netMinor: totals.netMinor,
      vatMinor: totals.vatMinor,
      totalMinor: totals.totalMinor,
      vatBreakdown: totals.breakdown as object,
      status: "issued",
      series,
      number,
      issueDate,
      dueDate,
      issuedAt: now,
    },
  });

  const period = isoDate(issued.periodStart).slice(0, 7);
  const total = formatMinor(issued.totalMinor, issued.currency);
  const deliveryIds = await emitWebhookEvent(tx, {
    tenantId: issued.tenantId,
    type: "invoice.issued",
    occurredAt: now,
    data: {
      id: issued.id,
      kind: issued.kind,
      number,
      period,
      currency: issued.currency,
      total,
      issueDate: isoDate(issueDate),
      dueDate: dueDate ? isoDate(dueDate) : null,
      creditedInvoiceId: issued.creditedInvoiceId,
      links: { self: `/v1/invoices/${issued.id}`, pdf: `/v1/invoices/${issued.id}/pdf`, csv: `/v1/invoices/${issued.id}/csv` },
    },
  });
  await appendAudit(tx, opts.actor, {
    tenantId: issued.tenantId,
    action: issued.kind === "invoice" ? "invoice.issued" : "credit_note.issued",
    targetType: "invoice",
    targetId: issued.id,
    data: { number, period, currency: issued.currency, total, billingRunId: issued.billingRunId, creditedInvoiceId: issued.creditedInvoiceId },
  });
  return { id: issued.id, tenantId: issued.tenantId, kind: issued.kind, number, deliveryIds };
}

/**
 * After the issuing transaction committed: the webhooks to the dispatcher, and the PDF and the mail to their
 * jobs. Job ids are the document's, so announcing twice (a retried job) renders and mails once.
 */
export async function announceIssued(jobs: JobRunner, docs: readonly IssuedDocument[]): Promise<void> {
  await deliverSoon(jobs, docs.flatMap((d) => d.deliveryIds));
  for (const d of docs) {
    await jobs.enqueue("invoices.render", { invoiceId: d.id }, { jobId: `invoices.render-${d.id}` });
    await jobs.enqueue("invoices.notify", { invoiceId: d.id }, { jobId: `invoices.notify-${d.id}` });
  }
}
