import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../../../src/platform/db/database.js";
import { createInvoice } from "../../payments/helpers.js";
import type { Actor, World } from "../recipes.js";
import type { DomainAccess } from "./types.js";

/**
 * Payments. Platform owners, admins and billing staff record them (one at a time or from a CSV) for any tenant
 * and read every tenant's; customer owners, admins and billing contacts read their own tenant's history. The
 * matrix's customers are tenant A's members, so every object is made in tenant A.
 */

const reference = () => `ACCESS-${randomBytes(6).toString("hex")}`;
const today = () => new Date().toISOString().slice(0, 10);

/** A payment of 1.00 on a fresh issued invoice of the tenant (written directly: no route involved). */
async function paymentOf(prisma: PrismaClient, tenantId: string): Promise<string> {
  const invoice = await createInvoice(prisma, { tenantId, totalMinor: 10_000n });
  const payment = await prisma.payment.create({
    data: { tenantId, invoiceId: invoice.id, amountMinor: 100n, currency: "EUR", receivedOn: new Date(`${today()}T00:00:00Z`), method: "bank_transfer", reference: reference(), source: "manual", actorType: "system" },
  });
  await prisma.invoice.update({ where: { id: invoice.id }, data: { paidMinor: 100n } });
  return payment.id;
}

const targetTenant = (w: World, a: Actor) => (a.platform ? w.tenantA.id : a.tenantId);

export const access: DomainAccess = {
  recipes: {
    recordPayment: {
      request: async (c, w, a) => {
        const invoice = await createInvoice(c.prisma, { tenantId: targetTenant(w, a), totalMinor: 10_000n });
        return { method: "POST", url: "/v1/payments", body: { invoiceId: invoice.id, amount: "1.00", currency: "EUR", receivedOn: today(), reference: reference() } };
      },
    },
    // The recipe client sends JSON: authorised callers get 415 (CSV only), refused ones 403 before that.
    importPayments: { request: async () => ({ method: "POST", url: "/v1/payments/import", body: { rows: [] } }) },
    listPayments: { request: async (_c, w, a) => ({ method: "GET", url: a.platform ? `/v1/payments?tenantId=${w.tenantA.id}` : "/v1/payments" }) },
    getPayment: { request: async (c, w, a) => ({ method: "GET", url: `/v1/payments/${await paymentOf(c.prisma, targetTenant(w, a))}` }) },
  },

  async attacks(ctx, tenantAId) {
    const paymentId = await paymentOf(ctx.prisma, tenantAId);
    const payment = await ctx.prisma.payment.findUniqueOrThrow({ where: { id: paymentId } });
    return {
      attacks: {
        getPayment: { method: "GET", url: `/v1/payments/${paymentId}` },
        listPayments: { method: "GET", url: `/v1/payments?tenantId=${tenantAId}` },
        recordPayment: { method: "POST", url: "/v1/payments", body: { invoiceId: payment.invoiceId, amount: "1.00", currency: "EUR", receivedOn: today(), reference: reference() } },
      },
      ids: [paymentId, payment.invoiceId, payment.reference],
      lists: ["/v1/payments", `/v1/payments?invoiceId=${payment.invoiceId}`],
    };
  },
};
