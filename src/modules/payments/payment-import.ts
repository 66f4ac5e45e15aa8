import { randomUUID } from "node:crypto";
import { subject as asSubject } from "@casl/ability";
import { txSql, type Db, type PrismaClient } from "../../platform/db/database.js";
import { AppError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { eventActor, UUID_V7_SQL } from "../sims/sim-events.js";
import { paymentRowsFromCsv, type GoodPaymentRow } from "./payment-import-rows.js";
import { refusePayment, type PayableInvoice } from "./payment-rules.js";
import { addPaid, lockInvoices, settleAndAnnounce } from "./payments.repository.js";
import type { PaymentImportResult, PaymentImportRowView } from "./payments.schemas.js";

interface Accepted {
  index: number;
  row: GoodPaymentRow;
  invoice: PayableInvoice;
}

/**
 * POST /v1/payments/import: a bank statement, row by row in file order, in one transaction. Each row is recorded,
 * a duplicate (its reference is already recorded for the invoice's tenant, or an earlier row of the file has it:
 * so importing the same statement again adds nothing), or rejected with a code. The invoices named are locked
 * first, and each accepted row lowers what is outstanding for the rows after it, so a file can never overpay
 * an invoice. Payments are written set-based; each touched invoice is settled once at the end.
 */
export async function importPayments(prisma: PrismaClient, actor: Actor, text: string, atomic: boolean): Promise<{ answer: PaymentImportResult; deliveryIds: string[] }> {
  const principal = authorize(actor, "create", "Payment");
  const parsed = paymentRowsFromCsv(text);
  const by = eventActor(actor);

  return prisma.$transaction(
    async (tx) => {
      const rows: PaymentImportRowView[] = [];
      const numbers = [...new Set(parsed.flatMap((p) => ("good" in p ? [p.good.invoiceNumber] : [])))];
      // An invoice the caller may not record payments for is, to them, an invoice that does not exist.
      const invoices = (await lockInvoices(tx, { numbers })).filter((inv) => actor.ability.can("create", asSubject("Payment", { tenantId: inv.tenantId }) as never));
      const byNumber = new Map(invoices.map((inv) => [inv.number!, { ...inv }]));
      const taken = await recordedReferences(tx, parsed.flatMap((p) => ("good" in p ? [p.good] : [])), byNumber);

      const accepted: Accepted[] = [];
      for (const p of parsed) {
        if ("rejected" in p) {
          rows.push({ line: p.rejected.line, reference: p.rejected.reference, invoiceNumber: p.rejected.invoiceNumber, status: "rejected", code: p.rejected.code, reason: p.rejected.reason, paymentId: null });
          continue;
        }
        const row = p.good;
        const base = { line: row.line, reference: row.reference, invoiceNumber: row.invoiceNumber, paymentId: null };
        const invoice = byNumber.get(row.invoiceNumber);
        if (!invoice) {
          rows.push({ ...base, status: "rejected", code: "invoice_not_found", reason: `no invoice ${row.invoiceNumber}` });
          continue;
        }
        const key = refKey(invoice.tenantId, row.reference);
        const earlier = taken.get(key);
        if (earlier !== undefined) {
          rows.push({ ...base, status: "duplicate", code: "duplicate_reference", reason: earlier === "recorded" ? "a payment with this reference is already recorded" : `line ${earlier} of this file has the same reference` });
          continue;
        }
        const refusal = refusePayment(invoice, row.currency, row.amountMinor);
        if (refusal) {
          rows.push({ ...base, status: "rejected", code: refusal.code, reason: refusal.reason });
          continue;
        }
        invoice.paidMinor += row.amountMinor;
        taken.set(key, row.line);
        accepted.push({ index: rows.length, row, invoice });
        rows.push({ ...base, status: "recorded", code: null, reason: null });
      }

      const rejected = rows.filter((r) => r.status === "rejected").length;
      if (atomic && rejected) throw rejectedImport(rows);
      if (accepted.length === 0) return { answer: answer(null, rows), deliveryIds: [] };

      const importId = randomUUID();
      const inserted = await insertPayments(tx, accepted, importId, by);
      const increments = new Map<string, bigint>();
      const perTenant = new Map<string, { payments: number; invoices: Set<string> }>();
      for (const a of accepted) {
        const id = inserted.get(refKey(a.invoice.tenantId, a.row.reference));
        const view = rows[a.index]!;
        if (!id) {
          // Recorded by another request since the check (a manual entry with the same reference): not ours to add.
          rows[a.index] = { ...view, status: "duplicate", code: "duplicate_reference", reason: "a payment with this reference was recorded meanwhile" };
          continue;
        }
        rows[a.index] = { ...view, paymentId: id };
        increments.set(a.invoice.id, (increments.get(a.invoice.id) ?? 0n) + a.row.amountMinor);
        const t = perTenant.get(a.invoice.tenantId) ?? { payments: 0, invoices: new Set<string>() };
        t.payments++;
        t.invoices.add(a.invoice.id);
        perTenant.set(a.invoice.tenantId, t);
      }
      await addPaid(tx, increments);
      const { settlements, deliveryIds } = await settleAndAnnounce(tx, [...increments.keys()]);
      const paidNow = new Set(settlements.filter((s) => s.becamePaid).map((s) => s.invoiceId));

      // Each tenant's chain records its own payments; the importer's records the import as a whole.
      for (const [tenantId, t] of perTenant) {
        await appendAudit(tx, actor, {
          tenantId,
          action: "payments.imported",
          targetType: "payment_import",
          targetId: importId,
          // Bounded: a statement may touch thousands of a tenant's invoices; the payments carry the import id.
          data: { payments: t.payments, invoiceCount: t.invoices.size, invoices: [...t.invoices].slice(0, AUDIT_IDS), invoicesPaid: [...t.invoices].filter((id) => paidNow.has(id)).slice(0, AUDIT_IDS) },
        });
      }
      const result = answer(importId, rows);
      if (!perTenant.has(principal.tenantId)) {
        await appendAudit(tx, actor, {
          tenantId: principal.tenantId,
          action: "payments.imported",
          targetType: "payment_import",
          targetId: importId,
          data: { atomic, received: result.received, recorded: result.recorded, duplicates: result.duplicates, rejected: result.rejected, tenants: perTenant.size },
        });
      }
      return { answer: result, deliveryIds };
    },
    { maxWait: 10_000, timeout: 300_000 },
  );
}

/** Invoice ids listed per audit event at most. */
const AUDIT_IDS = 1000;

const refKey = (tenantId: string, reference: string) => `${tenantId}\u0000${reference}`;

/** References of the file already recorded for the tenants of the invoices it names: "recorded" per key. */
async function recordedReferences(tx: Db, rows: readonly GoodPaymentRow[], byNumber: ReadonlyMap<string, PayableInvoice>): Promise<Map<string, "recorded" | number>> {
  const tenants = [...new Set([...byNumber.values()].map((i) => i.tenantId))];
  const refs = [...new Set(rows.map((r) => r.reference))];
  const taken = new Map<string, "recorded" | number>();
  if (!tenants.length || !refs.length) return taken;
  const found = await txSql(tx).query<{ tenant_id: string; reference: string }>(
    `SELECT tenant_id::text, reference FROM enterprise.payments WHERE tenant_id = ANY($1::uuid[]) AND reference = ANY($2::text[])`,
    [tenants, refs],
  );
  for (const f of found) taken.set(refKey(f.tenant_id, f.reference), "recorded");
  return taken;
}

/** One INSERT for every accepted row; returns the new payment ids by tenant and reference. */
async function insertPayments(tx: Db, accepted: readonly Accepted[], importId: string, by: { type: string; id: string | null }): Promise<Map<string, string>> {
  const rows = await txSql(tx).query<{ id: string; tenant_id: string; reference: string }>(
    `INSERT INTO enterprise.payments (id, tenant_id, invoice_id, amount_minor, currency, received_on, method, reference, source, import_id, note, actor_type, actor_id, created_at)
     SELECT ${UUID_V7_SQL}, u.tenant_id, u.invoice_id, u.amount, u.currency, u.received_on, u.method::enterprise."PaymentMethod", u.reference, 'csv_import', $9::uuid, u.note, $10, $11, now()
       FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::date[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY
         AS u(tenant_id, invoice_id, amount, currency, received_on, method, reference, note, n)
      ORDER BY u.n
     ON CONFLICT (tenant_id, reference) DO NOTHING
     RETURNING id::text, tenant_id::text, reference`,
    [
      accepted.map((a) => a.invoice.tenantId),
      accepted.map((a) => a.invoice.id),
      accepted.map((a) => a.row.amountMinor.toString()),
      accepted.map((a) => a.invoice.currency),
      accepted.map((a) => a.row.receivedOn.toISOString().slice(0, 10)),
      accepted.map((a) => a.row.method),
      accepted.map((a) => a.row.reference),
      accepted.map((a) => a.row.note),
      importId,
      by.type,
      by.id,
    ],
  );
  return new Map(rows.map((r) => [refKey(r.tenant_id, r.reference), r.id]));
}

function answer(importId: string | null, rows: PaymentImportRowView[]): PaymentImportResult {
  const count = (s: PaymentImportRowView["status"]) => rows.filter((r) => r.status === s).length;
  return { importId, received: rows.length, recorded: count("recorded"), duplicates: count("duplicate"), rejected: count("rejected"), rows };
}

/** `?atomic=true` with a rejected row: nothing is recorded; the answer counts every row and lists the rejected ones. */
function rejectedImport(rows: PaymentImportRowView[]): AppError {
  const counts = answer(null, rows);
  return new AppError(422, "import_rejected", "Import rejected", `${counts.rejected} of ${counts.received} rows are not acceptable; with atomic=true nothing was recorded.`, {
    ...counts,
    recorded: 0,
    rows: rows.filter((r) => r.status === "rejected"),
  });
}
