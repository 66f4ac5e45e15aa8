import type { Payment } from "../../generated/prisma/client.js";
import { txSql, type Db } from "../../platform/db/database.js";
import { formatMinor } from "../billing/money.js";
import { isoDate } from "../billing/period.js";
import { settleInvoice, type Settlement } from "../billing/settlement.js";
import { emitWebhookEvents, type WebhookEvent } from "../webhooks/webhook-events.js";
import type { PayableInvoice } from "./payment-rules.js";
import type { InvoiceSettlementView, PaymentView } from "./payments.schemas.js";

interface InvoiceRow {
  id: string;
  tenant_id: string;
  kind: PayableInvoice["kind"];
  status: PayableInvoice["status"];
  number: string | null;
  currency: string;
  total: string;
  paid: string;
}

/**
 * Locks invoices (FOR UPDATE, in id order so two writers never wait on each other in a cycle) and reads what
 * payments need. Two payments of one invoice thus check "outstanding" one after the other, never both against
 * the same figure. Amounts are selected as text: the same code runs on Prisma's raw results and the pool's.
 */
export async function lockInvoices(tx: Db, by: { ids: string[] } | { numbers: string[] }): Promise<PayableInvoice[]> {
  const [column, cast, values] = "ids" in by ? ["id", "uuid[]", by.ids] : ["number", "text[]", by.numbers];
  if (values.length === 0) return [];
  const sql = txSql(tx);
  const rows = await sql.query<InvoiceRow>(
    `SELECT i.id::text, i.tenant_id::text, i.kind::text, i.status::text, i.number, i.currency,
            i.total_minor::text AS total, i.paid_minor::text AS paid
       FROM enterprise.invoices i WHERE i.${column} = ANY($1::${cast}) ORDER BY i.id FOR UPDATE`,
    [values],
  );
  // Credit notes in one grouped read (not a subquery per invoice): an import may name thousands of invoices.
  const credits = rows.length
    ? await sql.query<{ id: string; credited: string }>(
        `SELECT credited_invoice_id::text AS id, sum(total_minor)::text AS credited FROM enterprise.invoices
          WHERE credited_invoice_id = ANY($1::uuid[]) AND kind = 'credit_note' AND status IN ('issued', 'paid') GROUP BY credited_invoice_id`,
        [rows.map((r) => r.id)],
      )
    : [];
  const credited = new Map(credits.map((c) => [c.id, BigInt(c.credited)]));
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    kind: r.kind,
    status: r.status,
    number: r.number,
    currency: r.currency.trim(),
    totalMinor: BigInt(r.total),
    paidMinor: BigInt(r.paid),
    creditedMinor: credited.get(r.id) ?? 0n,
  }));
}

/** Adds received amounts to the invoices' paid_minor (one statement for any number of invoices). */
export async function addPaid(tx: Db, increments: ReadonlyMap<string, bigint>): Promise<void> {
  if (increments.size === 0) return;
  const ids = [...increments.keys()];
  await txSql(tx).query(
    `UPDATE enterprise.invoices i SET paid_minor = i.paid_minor + d.amount, updated_at = now()
       FROM unnest($1::uuid[], $2::bigint[]) AS d(id, amount) WHERE i.id = d.id`,
    [ids, ids.map((id) => increments.get(id)!.toString())],
  );
}

/**
 * Settles each invoice and records an `invoice.paid` webhook (outbox, same transaction) for those that became
 * paid. Returns the settlements and the delivery ids to hand to the dispatcher after commit.
 */
export async function settleAndAnnounce(tx: Db, invoiceIds: readonly string[]): Promise<{ settlements: Settlement[]; deliveryIds: string[] }> {
  const settlements: Settlement[] = [];
  for (const id of [...new Set(invoiceIds)].sort()) settlements.push(await settleInvoice(tx, id));
  const paid = settlements.filter((s) => s.becamePaid).map((s) => s.invoiceId);
  if (paid.length === 0) return { settlements, deliveryIds: [] };
  const invoices = await tx.invoice.findMany({ where: { id: { in: paid } } });
  const events: WebhookEvent[] = invoices.map((inv) => ({
    tenantId: inv.tenantId,
    type: "invoice.paid",
    occurredAt: inv.paidAt ?? new Date(),
    data: {
      invoiceId: inv.id,
      number: inv.number,
      period: isoDate(inv.periodStart).slice(0, 7),
      currency: inv.currency,
      total: formatMinor(inv.totalMinor, inv.currency),
      paid: formatMinor(inv.paidMinor, inv.currency),
      paidAt: inv.paidAt?.toISOString() ?? null,
    },
  }));
  return { settlements, deliveryIds: await emitWebhookEvents(tx, events) };
}

/** The invoice as a payment's answer shows it (after settlement, inside the same transaction). */
export async function settlementView(tx: Db, invoiceId: string): Promise<InvoiceSettlementView> {
  const [inv] = await lockInvoices(tx, { ids: [invoiceId] });
  const row = await tx.invoice.findUniqueOrThrow({ where: { id: invoiceId }, select: { paidAt: true } });
  const c = inv!.currency;
  return {
    id: inv!.id,
    number: inv!.number,
    status: inv!.status,
    total: formatMinor(inv!.totalMinor, c),
    paid: formatMinor(inv!.paidMinor, c),
    credited: formatMinor(inv!.creditedMinor, c),
    outstanding: formatMinor(inv!.totalMinor + inv!.creditedMinor - inv!.paidMinor, c),
    paidAt: row.paidAt?.toISOString() ?? null,
  };
}

export function toPaymentView(p: Payment & { invoice: { number: string | null } }): PaymentView {
  return {
    id: p.id,
    tenantId: p.tenantId,
    invoiceId: p.invoiceId,
    invoiceNumber: p.invoice.number,
    amount: formatMinor(p.amountMinor, p.currency),
    currency: p.currency,
    receivedOn: isoDate(p.receivedOn),
    method: p.method,
    reference: p.reference,
    source: p.source as PaymentView["source"],
    importId: p.importId,
    note: p.note,
    createdAt: p.createdAt.toISOString(),
  };
}
