import type { Invoice, InvoiceLine } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import { ConflictError, ValidationError, type FieldError } from "../../platform/errors.js";
import type { InvoiceParty } from "./billing-settings.js";
import { insertDraft, type DraftLine } from "./invoice-drafts.js";
import { issueDraft, type IssueOptions, type IssuedDocument } from "./invoice-issue.js";
import { invoiceTotals, rateKey, readBreakdown } from "./invoice-totals.js";
import { decimal, toMinor, vatMinor } from "./money.js";
import { isoDate } from "./period.js";

/**
 * Credit notes: corrections of an issued invoice, issued like invoices (own series, gapless) with negative
 * quantities and amounts. Each credit line keeps the POSITION of the invoice line it credits, so what is left to
 * credit of a line is its amount plus the credit lines at its position across the invoice's credit notes: a
 * line is never credited beyond what it charged, and the whole never beyond the invoice's total. VAT is
 * computed once per rate on the credit note's net; the credit that brings a rate's net to zero takes exactly
 * the VAT left at that rate, so partial credits' roundings never add up to more VAT than was charged.
 */

export interface CreditLineRequest {
  /** The invoice line's position. */
  position: number;
  /** How much of the line's quantity to credit (exact decimal > 0); omitted: all that is left of it. */
  quantity?: string;
}

type InvoiceWithLines = Invoice & { lines: InvoiceLine[] };

interface Remaining {
  quantity: ReturnType<typeof decimal>;
  netMinor: bigint;
}

/** What the invoice's issued credit notes took so far: per line position, per VAT rate, and in total. */
async function creditedSoFar(tx: Db, invoiceId: string) {
  const perLine = await tx.$queryRaw<Array<{ position: number; qty: string; net: string }>>`
    SELECT l.position, sum(l.quantity)::text AS qty, sum(l.net_minor)::text AS net
    FROM enterprise.invoice_lines l JOIN enterprise.invoices c ON c.id = l.invoice_id
    WHERE c.credited_invoice_id = ${invoiceId}::uuid AND c.kind = 'credit_note' AND c.status IN ('issued', 'paid')
    GROUP BY l.position`;
  const notes = await tx.invoice.findMany({
    where: { creditedInvoiceId: invoiceId, kind: "credit_note", status: { in: ["issued", "paid"] } },
    select: { vatBreakdown: true, totalMinor: true },
  });
  const perRate = new Map<string, { netMinor: bigint; vatMinor: bigint }>();
  for (const n of notes) {
    for (const [rate, v] of readBreakdown(n.vatBreakdown)) {
      const prev = perRate.get(rate) ?? { netMinor: 0n, vatMinor: 0n };
      perRate.set(rate, { netMinor: prev.netMinor + v.netMinor, vatMinor: prev.vatMinor + v.vatMinor });
    }
  }
  return {
    perLine: new Map(perLine.map((r) => [Number(r.position), { quantity: decimal(r.qty), netMinor: BigInt(r.net) }])),
    perRate,
    totalMinor: notes.reduce((s, n) => s + n.totalMinor, 0n),
  };
}

export interface CreditPlan {
  lines: DraftLine[];
  vatOverride: Map<string, bigint>;
  totalMinor: bigint;
}

/**
 * The credit lines for `request` (null: everything left of the invoice). Refusals: an unknown or repeated
 * position or a quantity of 0 (400), a quantity beyond what is left of its line or a total beyond what is left
 * of the invoice (409 `credit_exceeds_invoice`), nothing left to credit at all (409 `nothing_to_credit`).
 */
export async function planCredit(tx: Db, invoice: InvoiceWithLines, request: CreditLineRequest[] | null): Promise<CreditPlan> {
  const so = await creditedSoFar(tx, invoice.id);
  const remaining = (l: InvoiceLine): Remaining => {
    const c = so.perLine.get(l.position);
    return { quantity: decimal(l.quantity).add(c?.quantity ?? 0), netMinor: l.netMinor + (c?.netMinor ?? 0n) };
  };
  const byPosition = new Map(invoice.lines.map((l) => [l.position, l]));
  const creditLine = (l: InvoiceLine, quantity: ReturnType<typeof decimal>, netMinor: bigint): DraftLine => ({
    position: l.position,
    kind: "credit",
    description: `Credit: ${l.description}`,
    ratePlanId: l.ratePlanId,
    ratePlanVersion: l.ratePlanVersion,
    quantity: quantity.neg().toFixed(6),
    unit: l.unit,
    unitPrice: decimal(l.unitPrice).toFixed(6),
    netMinor: -netMinor,
    vatRate: rateKey(l.vatRate),
    adjustsPeriod: l.adjustsPeriod ? isoDate(l.adjustsPeriod) : null,
  });

  const lines: DraftLine[] = [];
  if (request === null) {
    for (const l of [...invoice.lines].sort((a, b) => a.position - b.position)) {
      const left = remaining(l);
      if (left.netMinor !== 0n) lines.push(creditLine(l, left.quantity, left.netMinor));
    }
  } else {
    const errors: FieldError[] = [];
    const seen = new Set<number>();
    request.forEach((r, i) => {
      const field = `/body/lines/${i}`;
      const l = byPosition.get(r.position);
      if (!l) return void errors.push({ field: `${field}/position`, reason: `the invoice has no line ${r.position}` });
      if (seen.has(r.position)) return void errors.push({ field: `${field}/position`, reason: `line ${r.position} is named twice` });
      seen.add(r.position);
      const left = remaining(l);
      const qty = r.quantity === undefined ? left.quantity : decimal(r.quantity);
      if (r.quantity !== undefined && qty.lte(0)) return void errors.push({ field: `${field}/quantity`, reason: "must be greater than 0" });
      if (qty.gt(left.quantity) || left.netMinor <= 0n) {
        throw new ConflictError(`Line ${r.position} has ${left.quantity.toFixed()} ${l.unit} (${left.netMinor} minor units) left to credit.`, "credit_exceeds_invoice", { position: r.position });
      }
      // The rest of a line is exactly what is left of its amount; a part is priced, never beyond the rest.
      const price = qty.eq(left.quantity) ? left.netMinor : toMinor(qty.mul(decimal(l.unitPrice)), invoice.currency);
      lines.push(creditLine(l, qty, price > left.netMinor ? left.netMinor : price));
    });
    if (errors.length) throw new ValidationError(errors.map((e) => `${e.field} ${e.reason}`).join("; "), errors);
  }
  if (lines.length === 0 || lines.every((l) => l.netMinor === 0n)) throw new ConflictError("Nothing is left to credit on this invoice.", "nothing_to_credit");

  const charged = readBreakdown(invoice.vatBreakdown);
  const vatOverride = new Map<string, bigint>();
  const netByRate = new Map<string, bigint>();
  for (const l of lines) netByRate.set(l.vatRate, (netByRate.get(l.vatRate) ?? 0n) + l.netMinor);
  for (const [rate, net] of netByRate) {
    const leftNet = (charged.get(rate)?.netMinor ?? 0n) + (so.perRate.get(rate)?.netMinor ?? 0n);
    const leftVat = (charged.get(rate)?.vatMinor ?? 0n) + (so.perRate.get(rate)?.vatMinor ?? 0n);
    const vat = vatMinor(net, rate);
    if (leftNet + net === 0n || -vat > leftVat) vatOverride.set(rate, -leftVat);
  }
  const { totalMinor } = invoiceTotals(lines, vatOverride);
  if (invoice.totalMinor + so.totalMinor + totalMinor < 0n) {
    throw new ConflictError("The credits would exceed the invoice's total.", "credit_exceeds_invoice");
  }
  return { lines, vatOverride, totalMinor };
}

/** Stores the planned credit note (parties, VAT and period of the invoice it corrects) and issues it. */
export async function issueCreditNote(tx: Db, invoice: Invoice, plan: CreditPlan, reason: string, opts: IssueOptions): Promise<IssuedDocument> {
  const id = await insertDraft(tx, {
    tenantId: invoice.tenantId,
    kind: "credit_note",
    periodStart: invoice.periodStart,
    periodEnd: invoice.periodEnd,
    currency: invoice.currency,
    supplier: invoice.supplier as unknown as InvoiceParty,
    customer: invoice.customer as unknown as InvoiceParty,
    vat: { treatment: invoice.vatTreatment, note: invoice.vatNote },
    lines: plan.lines,
    vatOverride: plan.vatOverride,
    creditedInvoiceId: invoice.id,
    reason,
  });
  return issueDraft(tx, id, opts);
}
