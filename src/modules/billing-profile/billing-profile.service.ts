import type { Prisma, Tenant } from "../../generated/prisma/client.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { ConflictError, ValidationError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { MAX_CONTACTS_PER_TENANT, toContactView } from "./billing-contacts.service.js";
import { billingTenant } from "./billing-tenant.js";
import { VAT_ID, type BillingProfilePatchBody, type BillingProfileView, type TenantQuery } from "./billing-profile.schemas.js";

export type BillingProfileService = ReturnType<typeof createBillingProfileService>;

/** "de 811.907-980" -> "DE811907980"; null when it is not a plausible VAT id even so. */
export function normaliseVatId(text: string): string | null {
  const v = text.replace(/[\s.-]/g, "").toUpperCase();
  return VAT_ID.test(v) ? v : null;
}

/**
 * A customer's billing details: what its invoices are addressed to. Changing them affects the invoices made from
 * now on only: each invoice keeps the snapshot taken when it was drafted. The legal name and country are the
 * tenant's identity, changed by platform staff through the tenant API, so they are shown here but not edited.
 * Authorised as `update BillingContact` on the tenant ("billing details").
 */
export function createBillingProfileService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  async function view(db: Db, tenant: Tenant): Promise<BillingProfileView> {
    const contacts = await db.billingContact.findMany({ where: { tenantId: tenant.id }, orderBy: { id: "asc" }, take: MAX_CONTACTS_PER_TENANT });
    return {
      tenantId: tenant.id,
      legalName: tenant.legalName,
      country: tenant.country,
      vatId: tenant.vatId,
      billingAddress: tenant.billingAddress as BillingProfileView["billingAddress"],
      billingEmail: tenant.billingEmail,
      contacts: contacts.map(toContactView),
      updatedAt: tenant.updatedAt.toISOString(),
    };
  }

  return {
    async get(actor: Actor, query: TenantQuery): Promise<BillingProfileView> {
      return view(prisma, await billingTenant(prisma, actor, query.tenantId, "read", "/query/tenantId"));
    },

    async update(actor: Actor, query: TenantQuery, patch: BillingProfilePatchBody): Promise<BillingProfileView> {
      const tenant = await billingTenant(prisma, actor, query.tenantId, "update", "/query/tenantId");
      authorize(actor, "update", "BillingContact", { tenantId: tenant.id });
      if (tenant.status === "closed") throw new ConflictError("The tenant is closed: its billing details no longer change.", "tenant_closed");
      const vatId = patch.vatId === undefined || patch.vatId === null ? patch.vatId : normaliseVatId(patch.vatId);
      if (vatId === null && patch.vatId) {
        throw new ValidationError("The VAT id is not plausible.", [{ field: "/body/vatId", reason: "must be a two-letter country prefix and 2-13 letters or digits, e.g. DE811907980" }]);
      }
      const data: Prisma.TenantUpdateInput = {
        ...(patch.billingAddress !== undefined && { billingAddress: patch.billingAddress }),
        ...(patch.billingEmail !== undefined && { billingEmail: patch.billingEmail?.trim().toLowerCase() ?? null }),
        ...(vatId !== undefined && { vatId }),
      };
      return prisma.$transaction(async (tx) => {
        const updated = await tx.tenant.update({ where: { id: tenant.id }, data });
        await appendAudit(tx, actor, {
          tenantId: tenant.id,
          action: "billing_profile.updated",
          targetType: "tenant",
          targetId: tenant.id,
          data: {
            changed: Object.keys(data).sort(),
            ...(vatId !== undefined && { vatId: { before: tenant.vatId, after: updated.vatId } }),
            ...(patch.billingEmail !== undefined && { billingEmail: { before: tenant.billingEmail, after: updated.billingEmail } }),
          },
        });
        return view(tx, updated);
      });
    },
  };
}
