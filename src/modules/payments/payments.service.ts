import { subject as asSubject } from "@casl/ability";
import type { Prisma } from "../../generated/prisma/client.js";
import { decodeCursor, invalidCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { isUniqueViolation } from "../../platform/db/prisma-errors.js";
import { AppError, ConflictError, NotFoundError, UnprocessableError, ValidationError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";
import { appendAudit } from "../audit/audit.writer.js";
import { formatMinor } from "../billing/money.js";
import { eventActor } from "../sims/sim-events.js";
import { deliverSoon } from "../webhooks/webhook-events.js";
import { importPayments } from "./payment-import.js";
import { parsePaymentAmount, parseReceivedOn, refusePayment } from "./payment-rules.js";
import { addPaid, lockInvoices, settleAndAnnounce, settlementView, toPaymentView } from "./payments.repository.js";
import type { PaymentCreateBody, PaymentImportResult, PaymentListQuery, PaymentRecorded, PaymentView } from "./payments.schemas.js";

export type PaymentsService = ReturnType<typeof createPaymentsService>;

const withInvoiceNumber = { invoice: { select: { number: true } } } as const;

/**
 * Payments against issued invoices: recorded by platform staff (or the platform's ERP key), one at a time or
 * from a bank statement CSV; read as a payment history by the invoice's tenant. Each payment adds to the
 * invoice's paid amount and settles it (paid once nothing is outstanding, with an `invoice.paid` webhook).
 */
export function createPaymentsService(deps: { prisma: PrismaClient; jobs: JobRunner }) {
  const { prisma, jobs } = deps;

  /** Staff hold `create Payment` for every tenant; the check is per tenant all the same (404, never 403). */
  const mayPayFor = (actor: Actor, tenantId: string) => actor.ability.can("create", asSubject("Payment", { tenantId }) as never);

  return {
    async record(actor: Actor, body: PaymentCreateBody): Promise<PaymentRecorded> {
      authorize(actor, "create", "Payment");
      if ((body.invoiceId === undefined) === (body.invoiceNumber === undefined)) {
        throw new ValidationError("Name the invoice by exactly one of invoiceId and invoiceNumber.", [{ field: "/body/invoiceId", reason: "exactly one of invoiceId and invoiceNumber is required" }]);
      }
      const amountMinor = parsePaymentAmount(body.amount, body.currency);
      const receivedOn = parseReceivedOn(body.receivedOn);
      // Banks pad references; the CSV import trims its cells, so manual entry does too (one reference, one key).
      const reference = body.reference.trim();
      const errors = [
        ...(reference === "" ? [{ field: "/body/reference", reason: "must not be blank" }] : []),
        ...(amountMinor === null ? [{ field: "/body/amount", reason: `must be greater than 0 with at most the ${body.currency} minor-unit places` }] : []),
        ...(receivedOn === null ? [{ field: "/body/receivedOn", reason: "must be a day not in the future" }] : []),
      ];
      if (errors.length) throw new ValidationError(errors.map((e) => `${e.field} ${e.reason}`).join("; "), errors);
      const by = eventActor(actor);

      const done = await prisma.$transaction(async (tx) => {
        const [inv] = await lockInvoices(tx, body.invoiceId !== undefined ? { ids: [body.invoiceId] } : { numbers: [body.invoiceNumber!] });
        if (!inv || !mayPayFor(actor, inv.tenantId)) throw new NotFoundError("Invoice");
        const refusal = refusePayment(inv, body.currency, amountMinor!);
        if (refusal?.code === "currency_mismatch") throw new UnprocessableError(`The payment cannot be recorded: ${refusal.reason}.`, refusal.code);
        if (refusal) throw new ConflictError(`The payment cannot be recorded: ${refusal.reason}.`, refusal.code);
        if (await tx.payment.findUnique({ where: { tenantId_reference: { tenantId: inv.tenantId, reference } }, select: { id: true } })) {
          throw duplicateReference(reference);
        }
        const payment = await tx.payment.create({
          data: {
            tenantId: inv.tenantId,
            invoiceId: inv.id,
            amountMinor: amountMinor!,
            currency: inv.currency,
            receivedOn: receivedOn!,
            method: body.method ?? "bank_transfer",
            reference,
            source: "manual",
            note: body.note?.trim() || null,
            actorType: by.type,
            actorId: by.id,
          },
          include: withInvoiceNumber,
        });
        await addPaid(tx, new Map([[inv.id, amountMinor!]]));
        const { settlements, deliveryIds } = await settleAndAnnounce(tx, [inv.id]);
        await appendAudit(tx, actor, {
          tenantId: inv.tenantId,
          action: "payment.recorded",
          targetType: "payment",
          targetId: payment.id,
          data: { invoiceId: inv.id, invoiceNumber: inv.number, amount: formatMinor(amountMinor!, inv.currency), currency: inv.currency, reference, method: payment.method, invoiceStatus: settlements[0]!.status },
        });
        return { payment, invoice: await settlementView(tx, inv.id), deliveryIds };
      }).catch((err: unknown) => {
        // Two requests with one reference at once: the unique key refuses the second.
        if (isUniqueViolation(err)) throw duplicateReference(reference);
        throw err;
      });
      await deliverSoon(jobs, done.deliveryIds);
      return { ...toPaymentView(done.payment), invoice: done.invoice };
    },

    async importCsv(actor: Actor, body: unknown, atomic: boolean): Promise<PaymentImportResult> {
      authorize(actor, "create", "Payment");
      // JSON has a parser of its own app-wide, so it arrives here parsed: a statement is CSV only.
      if (typeof body !== "string") throw new AppError(415, "unsupported_media_type", "Unsupported media type", "Send the bank statement as text/csv.");
      const result = await importPayments(prisma, actor, body, atomic);
      await deliverSoon(jobs, result.deliveryIds);
      return result.answer;
    },

    async list(actor: Actor, query: PaymentListQuery): Promise<{ items: PaymentView[]; nextCursor: string | null }> {
      authorize(actor, "read", "Payment");
      if (query.tenantId) await requireVisibleTenant(prisma, actor, query.tenantId, "Payment");
      const cursor = decodeCursor(query.cursor, ["on", "id"] as const);
      if (cursor && (!/^\d{4}-\d{2}-\d{2}$/.test(cursor.on) || Number.isNaN(Date.parse(cursor.on)))) throw invalidCursor();
      const on = cursor ? new Date(`${cursor.on}T00:00:00Z`) : undefined;
      // Newest receipt first; ids (UUIDv7) order payments received on the same day.
      const after: Prisma.PaymentWhereInput = on ? { OR: [{ receivedOn: { lt: on } }, { receivedOn: on, id: { lt: cursor!.id } }] } : {};
      const rows = await prisma.payment.findMany({
        where: {
          AND: [
            accessibleBy(actor.ability, "read").ofType("Payment"),
            query.tenantId ? { tenantId: query.tenantId } : {},
            query.invoiceId ? { invoiceId: query.invoiceId } : {},
            after,
          ],
        },
        include: withInvoiceNumber,
        orderBy: [{ receivedOn: "desc" }, { id: "desc" }],
        take: query.limit + 1,
      });
      const result = page(rows, query.limit, (p) => ({ on: p.receivedOn.toISOString().slice(0, 10), id: p.id }));
      return { items: result.items.map(toPaymentView), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, id: string): Promise<PaymentView> {
      authorize(actor, "read", "Payment");
      const row = await prisma.payment.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Payment"), { id }] }, include: withInvoiceNumber });
      if (!row) throw new NotFoundError("Payment");
      return toPaymentView(row);
    },
  };
}

const duplicateReference = (reference: string): AppError =>
  new ConflictError(`A payment with reference "${reference}" is already recorded for this tenant.`, "duplicate_reference");
