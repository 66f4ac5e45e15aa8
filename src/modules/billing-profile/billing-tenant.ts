import type { Tenant } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import { NotFoundError, ValidationError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import type { Action } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";

/**
 * The customer tenant whose billing details or contacts a request is about. Customers act on their own tenant
 * (naming another one is 404); platform staff must name the customer (`tenantId`), since the platform tenant
 * itself is never billed. The caller must hold `action` on BillingContact there: a role without it at all gets
 * 403 first, a tenant the caller may not see (or that is no customer) 404.
 */
export async function billingTenant(db: Db, actor: Actor, tenantId: string | undefined, action: Action, field: string): Promise<Tenant> {
  const principal = authorize(actor, action, "BillingContact");
  if (principal.tenantKind === "platform" && tenantId === undefined) {
    throw new ValidationError("Platform staff name the customer tenant.", [{ field, reason: "is required for platform staff" }]);
  }
  const id = tenantId ?? principal.tenantId;
  await requireVisibleTenant(db, actor, id, "BillingContact", [action]);
  const tenant = await db.tenant.findUnique({ where: { id } });
  if (!tenant || tenant.kind !== "customer") throw new NotFoundError("Tenant");
  return tenant;
}
