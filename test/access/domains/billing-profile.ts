import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../../../src/platform/db/database.js";
import type { Actor, World } from "../recipes.js";
import type { DomainAccess } from "./types.js";

/**
 * Billing details, billing contacts and the issuer's billing settings. Customer owners, admins and billing
 * contacts read and change their own tenant's details and contacts; platform owners, admins and billing staff
 * any customer's (naming it: tenant A here) and the billing settings. Operators and viewers see no billing.
 */

const suffix = () => randomBytes(5).toString("hex");

async function contactOf(prisma: PrismaClient, tenantId: string): Promise<string> {
  const row = await prisma.billingContact.create({ data: { tenantId, name: "Access Contact", email: `contact-${suffix()}@example.com` } });
  return row.id;
}

const tenantOf = (w: World, a: Actor) => (a.platform ? w.tenantA.id : a.tenantId);
/** Staff name the customer; customers act on their own tenant without naming it. */
const tenantQuery = (w: World, a: Actor) => (a.platform ? `?tenantId=${w.tenantA.id}` : "");

const ISSUER = { legalName: "Conekt GmbH", address: { line1: "Chausseestraße 10", postalCode: "10115", city: "Berlin", country: "DE" }, country: "DE" };

export const access: DomainAccess = {
  recipes: {
    getBillingProfile: { request: async (_c, w, a) => ({ method: "GET", url: `/v1/billing/profile${tenantQuery(w, a)}` }) },
    updateBillingProfile: { request: async (_c, w, a) => ({ method: "PATCH", url: `/v1/billing/profile${tenantQuery(w, a)}`, body: { billingEmail: `ap-${suffix()}@example.com` } }) },
    listBillingContacts: { request: async (_c, w, a) => ({ method: "GET", url: `/v1/billing/contacts${tenantQuery(w, a)}` }) },
    createBillingContact: {
      request: async (_c, w, a) => ({ method: "POST", url: "/v1/billing/contacts", body: { ...(a.platform && { tenantId: w.tenantA.id }), name: "New Contact", email: `new-${suffix()}@example.com` } }),
    },
    updateBillingContact: { request: async (c, w, a) => ({ method: "PATCH", url: `/v1/billing/contacts/${await contactOf(c.prisma, tenantOf(w, a))}`, body: { receivesInvoices: false } }) },
    deleteBillingContact: { request: async (c, w, a) => ({ method: "DELETE", url: `/v1/billing/contacts/${await contactOf(c.prisma, tenantOf(w, a))}` }) },
    getBillingSettings: { request: async () => ({ method: "GET", url: "/v1/billing/settings" }) },
    putBillingSettings: { request: async () => ({ method: "PUT", url: "/v1/billing/settings", body: { issuer: ISSUER } }) },
  },

  async attacks(ctx, tenantAId) {
    const contactId = await contactOf(ctx.prisma, tenantAId);
    return {
      attacks: {
        updateBillingContact: { method: "PATCH", url: `/v1/billing/contacts/${contactId}`, body: { name: "pwned" } },
        deleteBillingContact: { method: "DELETE", url: `/v1/billing/contacts/${contactId}` },
        getBillingProfile: { method: "GET", url: `/v1/billing/profile?tenantId=${tenantAId}` },
        updateBillingProfile: { method: "PATCH", url: `/v1/billing/profile?tenantId=${tenantAId}`, body: { billingEmail: "pwned@example.com" } },
        listBillingContacts: { method: "GET", url: `/v1/billing/contacts?tenantId=${tenantAId}` },
        createBillingContact: { method: "POST", url: "/v1/billing/contacts", body: { tenantId: tenantAId, name: "Spy", email: "spy@example.com" } },
      },
      ids: [contactId],
      lists: ["/v1/billing/contacts", "/v1/billing/profile"],
    };
  },
};
