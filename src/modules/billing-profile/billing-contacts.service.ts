import type { BillingContact, Prisma } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { isUniqueViolation } from "../../platform/db/prisma-errors.js";
import { ConflictError, NotFoundError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { billingTenant } from "./billing-tenant.js";
import type { BillingContactCreateBody, BillingContactListQuery, BillingContactPatchBody, BillingContactView } from "./billing-profile.schemas.js";

export type BillingContactsService = ReturnType<typeof createBillingContactsService>;

/** Contacts per tenant: each gets the invoice mail, so the fan-out stays bounded (and the profile lists them all). */
export const MAX_CONTACTS_PER_TENANT = 50;

export function toContactView(c: BillingContact): BillingContactView {
  return { id: c.id, tenantId: c.tenantId, name: c.name, email: c.email, phone: c.phone, receivesInvoices: c.receivesInvoices, createdAt: c.createdAt.toISOString(), updatedAt: c.updatedAt.toISOString() };
}

const duplicate = (email: string) => new ConflictError(`The tenant already has a billing contact with the email ${email}.`, "duplicate_contact");
/** Emails compare without case: one person, one contact. */
const normaliseEmail = (email: string) => email.trim().toLowerCase();

/**
 * Billing contacts: people at a customer who receive invoices besides the tenant's billing email. Customer
 * owners, admins and billing contacts manage their own tenant's; platform owners, admins and billing staff any
 * customer's. Every change is audited in the tenant's chain.
 */
export function createBillingContactsService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  async function findVisible(actor: Actor, id: string): Promise<BillingContact> {
    authorize(actor, "read", "BillingContact");
    const row = await prisma.billingContact.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("BillingContact"), { id }] } });
    if (!row) throw new NotFoundError("Billing contact");
    return row;
  }

  return {
    async list(actor: Actor, query: BillingContactListQuery): Promise<{ items: BillingContactView[]; nextCursor: string | null }> {
      const tenant = await billingTenant(prisma, actor, query.tenantId, "read", "/query/tenantId");
      const after = decodeCursor(query.cursor, ["id"] as const);
      const rows = await prisma.billingContact.findMany({
        where: { AND: [accessibleBy(actor.ability, "read").ofType("BillingContact"), { tenantId: tenant.id }, after ? { id: { gt: after.id } } : {}] },
        orderBy: { id: "asc" },
        take: query.limit + 1,
      });
      const result = page(rows, query.limit, (c) => ({ id: c.id }));
      return { items: result.items.map(toContactView), nextCursor: result.nextCursor };
    },

    async create(actor: Actor, body: BillingContactCreateBody): Promise<BillingContactView> {
      const tenant = await billingTenant(prisma, actor, body.tenantId, "create", "/body/tenantId");
      authorize(actor, "create", "BillingContact", { tenantId: tenant.id });
      const email = normaliseEmail(body.email);
      const row = await prisma
        .$transaction(async (tx) => {
          // Serialises creations per tenant, so the limit holds under concurrent requests.
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`billing-contacts:${tenant.id}`}))`;
          if ((await tx.billingContact.count({ where: { tenantId: tenant.id } })) >= MAX_CONTACTS_PER_TENANT) {
            throw new ConflictError(`A tenant may have at most ${MAX_CONTACTS_PER_TENANT} billing contacts; delete one first.`, "contact_limit");
          }
          const created = await tx.billingContact.create({
            data: { tenantId: tenant.id, name: body.name.trim(), email, phone: body.phone?.trim() || null, receivesInvoices: body.receivesInvoices ?? true },
          });
          await appendAudit(tx, actor, { tenantId: tenant.id, action: "billing_contact.created", targetType: "billing_contact", targetId: created.id, data: { email, receivesInvoices: created.receivesInvoices } });
          return created;
        })
        .catch((err: unknown) => {
          if (isUniqueViolation(err)) throw duplicate(email);
          throw err;
        });
      return toContactView(row);
    },

    async update(actor: Actor, id: string, patch: BillingContactPatchBody): Promise<BillingContactView> {
      const current = await findVisible(actor, id);
      authorize(actor, "update", "BillingContact", current);
      const data: Prisma.BillingContactUpdateInput = {
        ...(patch.name !== undefined && { name: patch.name.trim() }),
        ...(patch.email !== undefined && { email: normaliseEmail(patch.email) }),
        ...(patch.phone !== undefined && { phone: patch.phone?.trim() || null }),
        ...(patch.receivesInvoices !== undefined && { receivesInvoices: patch.receivesInvoices }),
      };
      const row = await prisma
        .$transaction(async (tx) => {
          const updated = await tx.billingContact.update({ where: { id }, data });
          await appendAudit(tx, actor, {
            tenantId: current.tenantId,
            action: "billing_contact.updated",
            targetType: "billing_contact",
            targetId: id,
            data: { changed: Object.keys(data).sort(), ...(patch.email !== undefined && { email: updated.email }) },
          });
          return updated;
        })
        .catch((err: unknown) => {
          if (isUniqueViolation(err)) throw duplicate(normaliseEmail(patch.email ?? current.email));
          throw err;
        });
      return toContactView(row);
    },

    async remove(actor: Actor, id: string): Promise<void> {
      const current = await findVisible(actor, id);
      authorize(actor, "delete", "BillingContact", current);
      await prisma.$transaction(async (tx) => {
        await tx.billingContact.delete({ where: { id } });
        await appendAudit(tx, actor, { tenantId: current.tenantId, action: "billing_contact.deleted", targetType: "billing_contact", targetId: id, data: { email: current.email } });
      });
    },
  };
}
