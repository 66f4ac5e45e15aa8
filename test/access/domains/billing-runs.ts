import { systemActor } from "../../../src/modules/audit/audit.writer.js";
import { billTenant } from "../../../src/modules/billing/issuing.js";
import { periodOf } from "../../../src/modules/billing/period.js";
import type { TestApp } from "../../helpers/build.js";
import { eurBill, feeLine, handCompute } from "../../billing/issuing-helpers.js";
import type { DomainAccess } from "./types.js";

/**
 * Billing runs and the invoice actions (issue, void, credit notes): platform owners, admins and billing staff
 * only. Customers, even the invoice's own billing contacts, are refused (403) before anything is looked up;
 * staff act on tenant A's invoices (every tenant's), fresh ones per request.
 */

// Each invoice made here bills a period of its own (1800-01, 1800-02, ...): one live invoice per tenant and period.
// Other suites' invoice factories use 1900-1983 (test/payments/helpers.ts) and 2030 on (test/invoices/factory.ts).
let serial = 0;
async function invoiceOf(ctx: TestApp, tenantId: string, draft: boolean): Promise<string> {
  // Issuing needs a complete issuer: the access suites' worlds may hold no platform tenant to draw it from, and
  // the settings recipe (putBillingSettings) may have saved an issuer without a VAT id.
  const issuer = { issuerLegalName: "Conekt GmbH", issuerAddress: { line1: "Torstraße 1", postalCode: "10119", city: "Berlin", country: "DE" }, issuerCountry: "DE", issuerVatId: "DE136695976" };
  await ctx.prisma.billingSettings.upsert({ where: { id: 1 }, create: issuer, update: issuer });
  const n = serial++;
  const period = periodOf(1800 + Math.floor(n / 12), (n % 12) + 1);
  const compute = handCompute(new Map([[tenantId, [eurBill([feeLine(1000n)])]]]));
  const result = await billTenant({ prisma: ctx.prisma, jobs: ctx.runtime.jobs, compute }, { tenantId, period, actor: systemActor("access-matrix"), autoIssue: !draft });
  if (result.outcome !== "invoiced") throw new Error(`access recipe: no invoice (${result.outcome}${"reason" in result ? `: ${result.reason}` : ""}, period ${period.key})`);
  return result.invoiceIds[0]!;
}

async function runOf(ctx: TestApp, tenantId: string | null): Promise<string> {
  const run = await ctx.prisma.billingRun.create({ data: { periodStart: new Date("2020-01-01T00:00:00Z"), tenantId, trigger: "manual", actorType: "system" } });
  return run.id;
}

export const access: DomainAccess = {
  recipes: {
    createBillingRun: { request: async (_c, w) => ({ method: "POST", url: "/v1/billing/runs", body: { period: "2020-01", tenantId: w.tenantA.id } }) },
    listBillingRuns: { request: async () => ({ method: "GET", url: "/v1/billing/runs" }) },
    getBillingRun: { request: async (c) => ({ method: "GET", url: `/v1/billing/runs/${await runOf(c, null)}` }) },
    issueInvoice: { request: async (c, w) => ({ method: "POST", url: `/v1/invoices/${await invoiceOf(c, w.tenantA.id, true)}/issue` }) },
    voidInvoice: { request: async (c, w) => ({ method: "POST", url: `/v1/invoices/${await invoiceOf(c, w.tenantA.id, false)}/void`, body: { reason: "access matrix" } }) },
    createCreditNote: { request: async (c, w) => ({ method: "POST", url: `/v1/invoices/${await invoiceOf(c, w.tenantA.id, false)}/credit-notes`, body: { reason: "access matrix" } }) },
  },

  async attacks(ctx, tenantAId) {
    const draft = await invoiceOf(ctx, tenantAId, true);
    const issued = await invoiceOf(ctx, tenantAId, false);
    const run = await runOf(ctx, tenantAId);
    return {
      attacks: {
        createBillingRun: { method: "POST", url: "/v1/billing/runs", body: { period: "2020-01", tenantId: tenantAId } },
        getBillingRun: { method: "GET", url: `/v1/billing/runs/${run}` },
        issueInvoice: { method: "POST", url: `/v1/invoices/${draft}/issue` },
        voidInvoice: { method: "POST", url: `/v1/invoices/${issued}/void`, body: { reason: "attack" } },
        createCreditNote: { method: "POST", url: `/v1/invoices/${issued}/credit-notes`, body: { reason: "attack" } },
      },
      ids: [draft, issued, run],
      lists: ["/v1/billing/runs", `/v1/billing/runs?period=2020-01`],
    };
  },
};
