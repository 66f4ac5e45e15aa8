import { subject as asSubject } from "@casl/ability";
import type { Db } from "../../platform/db/database.js";
import { NotFoundError } from "../../platform/errors.js";
import type { Action } from "./casl-prisma.js";
import type { SubjectName } from "./authorize.js";
import type { Actor } from "./principal.js";

/**
 * A tenant named in a query (platform staff narrowing a list or report to one customer): the caller must be
 * allowed one of `actions` on `subject` in that tenant, and the tenant must exist. Either failing answers the
 * same 404, so the answer never tells a tenant that exists from one the caller may not see.
 */
export async function requireVisibleTenant(db: Db, actor: Actor, tenantId: string, subject: SubjectName, actions: Action[] = ["read"]): Promise<void> {
  const allowed = actions.some((action) => actor.ability.can(action, asSubject(subject, { tenantId }) as never));
  if (!allowed || !(await db.tenant.findUnique({ where: { id: tenantId }, select: { id: true } }))) throw new NotFoundError("Tenant");
}
