import { AbilityBuilder } from "@casl/ability";
import { createPrismaAbility, type AppAbility } from "./casl-prisma.js";
import type { Principal } from "./principal.js";

/**
 * The role x action matrix (docs/permissions.md mirrors it; a test drives it).
 * Customer users act only inside their own tenant: every rule carries `tenantId` (or `id` for the tenant).
 * Platform staff hold roles on the platform tenant and manage customer tenants.
 */
export function defineAbilityFor(principal: Principal | null): AppAbility {
  const { can, build } = new AbilityBuilder<AppAbility>(createPrismaAbility);
  if (!principal) return build();

  const { tenantId, role } = principal;
  // Everyone may read the tenant they act in.
  can("read", "Tenant", { id: tenantId });

  if (principal.tenantKind === "platform") {
    // Staff see every tenant; owners and admins onboard, change and close customer tenants.
    can("read", "Tenant");
    if (role === "owner" || role === "admin") {
      can("create", "Tenant");
      can("update", "Tenant", { kind: "customer" });
      can("close", "Tenant", { kind: "customer" });
      can("read", "AuditEvent");
    }
    return build();
  }

  if (role === "owner" || role === "admin") can("read", "AuditEvent", { tenantId });
  return build();
}
