import { createInvoice } from "../../invoices/factory.js";
import type { DomainAccess } from "./types.js";

/**
 * Reading invoices: customer owners, admins and billing contacts read their own tenant's; platform owners,
 * admins and billing staff read every tenant's (tenant A's here); operators and viewers, staff or customer, see
 * no billing (403). Each request reads a fresh issued invoice, so the PDF route renders and stores it.
 */
const LINES = [{ description: "Monthly fee – ACCESS", quantity: "3", unit: "SIM-month", unitPrice: "5.00" }];

export const access: DomainAccess = {
  recipes: {
    listInvoices: { request: async (_c, w, a) => ({ method: "GET", url: a.platform ? `/v1/invoices?tenantId=${w.tenantA.id}` : "/v1/invoices?status=issued" }) },
    getInvoice: { request: async (c, w, a) => ({ method: "GET", url: `/v1/invoices/${(await createInvoice(c.prisma, { tenantId: a.platform ? w.tenantA.id : a.tenantId, lines: LINES })).id}` }) },
    getInvoicePdf: { request: async (c, w, a) => ({ method: "GET", url: `/v1/invoices/${(await createInvoice(c.prisma, { tenantId: a.platform ? w.tenantA.id : a.tenantId, lines: LINES })).id}/pdf` }) },
    getInvoiceCsv: { request: async (c, w, a) => ({ method: "GET", url: `/v1/invoices/${(await createInvoice(c.prisma, { tenantId: a.platform ? w.tenantA.id : a.tenantId, lines: LINES })).id}/csv` }) },
  },

  async attacks(ctx, tenantAId) {
    const invoice = await createInvoice(ctx.prisma, { tenantId: tenantAId, lines: LINES });
    const draft = await createInvoice(ctx.prisma, { tenantId: tenantAId, status: "draft", lines: LINES });
    return {
      attacks: {
        listInvoices: { method: "GET", url: `/v1/invoices?tenantId=${tenantAId}` },
        getInvoice: { method: "GET", url: `/v1/invoices/${invoice.id}` },
        getInvoicePdf: { method: "GET", url: `/v1/invoices/${invoice.id}/pdf` },
        getInvoiceCsv: { method: "GET", url: `/v1/invoices/${draft.id}/csv` },
      },
      ids: [invoice.id, invoice.number!, draft.id],
      lists: ["/v1/invoices", "/v1/invoices?status=issued&status=draft", "/v1/invoices?kind=invoice"],
    };
  },
};
