import type { InvoiceKind } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import type { BillLine, SimCharge } from "./bill.types.js";
import type { InvoiceParty } from "./billing-settings.js";
import { invoiceTotals } from "./invoice-totals.js";
import type { VatDecision } from "./vat.js";

/** A line as stored: the computation's line (or a credit line), its position and VAT rate. */
export interface DraftLine extends BillLine {
  position: number;
  /** Percent with two places, "19.00". */
  vatRate: string;
}

export interface DraftInput {
  tenantId: string;
  kind: InvoiceKind;
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  supplier: InvoiceParty;
  customer: InvoiceParty;
  vat: Pick<VatDecision, "treatment" | "note">;
  lines: DraftLine[];
  /** A credit note's VAT per rate where it must take exactly what is left of the invoice's (see credit-notes.ts). */
  vatOverride?: ReadonlyMap<string, bigint>;
  creditedInvoiceId?: string | null;
  reason?: string | null;
  billingRunId?: string | null;
}

/**
 * Stores a draft invoice or credit note with its lines and totals (net per rate, VAT once per rate). Drafts have
 * no number; issuing (invoice-issue.ts) gives them one. Returns the new id.
 */
export async function insertDraft(tx: Db, input: DraftInput): Promise<string> {
  const totals = invoiceTotals(input.lines, input.vatOverride);
  const invoice = await tx.invoice.create({
    data: {
      tenantId: input.tenantId,
      kind: input.kind,
      status: "draft",
      periodStart: input.periodStart,
      periodEnd: input.periodEnd,
      currency: input.currency,
      supplier: input.supplier as object,
      customer: input.customer as object,
      vatTreatment: input.vat.treatment,
      vatNote: input.vat.note,
      vatBreakdown: totals.breakdown as unknown as object,
      netMinor: totals.netMinor,
      vatMinor: totals.vatMinor,
      totalMinor: totals.totalMinor,
      creditedInvoiceId: input.creditedInvoiceId ?? null,
      reason: input.reason ?? null,
      billingRunId: input.billingRunId ?? null,
      lines: {
        createMany: {
          data: input.lines.map((l) => ({
            position: l.position,
            kind: l.kind,
            description: l.description.slice(0, 300),
            ratePlanId: l.ratePlanId,
            ratePlanVersion: l.ratePlanVersion,
            quantity: l.quantity,
            unit: l.unit,
            unitPrice: l.unitPrice,
            netMinor: l.netMinor,
            vatRate: l.vatRate,
            adjustsPeriod: l.adjustsPeriod ? new Date(`${l.adjustsPeriod.slice(0, 10)}T00:00:00Z`) : null,
          })),
        },
      },
    },
    select: { id: true },
  });
  return invoice.id;
}

/** Rows per statement: a 100,000-SIM tenant's charges go in a few large set-based inserts. */
const CHARGES_PER_STATEMENT = 20_000;

/**
 * The per-SIM charges behind a draft's lines (its CSV, and the record of what each period's usage was billed
 * at), one statement per 20,000 SIMs: parallel array parameters unnest()ed into rows, whatever the fleet size.
 */
export async function insertSimCharges(tx: Db, invoiceId: string, charges: readonly SimCharge[]): Promise<void> {
  for (let i = 0; i < charges.length; i += CHARGES_PER_STATEMENT) {
    const c = charges.slice(i, i + CHARGES_PER_STATEMENT);
    const col = <T>(f: (x: SimCharge) => T) => c.map(f);
    await tx.$executeRaw`
      INSERT INTO enterprise.invoice_sim_charges (invoice_id, sim_id, iccid, rate_plan_id, usage_period, billable_days, suspended_days, activated,
        bytes, included_bytes, overage_bytes, sms_mo, sms_mt, fee_amount, activation_amount, overage_amount, sms_amount)
      SELECT ${invoiceId}::uuid, u.* FROM unnest(
        ${col((x) => x.simId)}::uuid[], ${col((x) => x.iccid)}::text[], ${col((x) => x.ratePlanId)}::uuid[], ${col((x) => x.usagePeriod.slice(0, 10))}::date[],
        ${col((x) => x.billableDays)}::int[], ${col((x) => x.suspendedDays)}::int[], ${col((x) => x.activated)}::boolean[],
        ${col((x) => x.bytes.toString())}::bigint[], ${col((x) => x.includedBytes.toString())}::bigint[], ${col((x) => x.overageBytes.toString())}::bigint[],
        ${col((x) => x.smsMo)}::int[], ${col((x) => x.smsMt)}::int[],
        ${col((x) => x.feeAmount)}::numeric[], ${col((x) => x.activationAmount)}::numeric[], ${col((x) => x.overageAmount)}::numeric[], ${col((x) => x.smsAmount)}::numeric[]
      ) AS u`;
  }
}
