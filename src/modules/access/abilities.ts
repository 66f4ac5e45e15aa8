import { AbilityBuilder } from "@casl/ability";
import { createPrismaAbility, type AppAbility } from "./casl-prisma.js";
import type { ApiKeyPrincipal, Principal, UserPrincipal } from "./principal.js";

/**
 * The role x action matrix (docs/permissions.md mirrors it; tests drive every route with every role).
 * Customer users act only inside their own tenant: every rule carries `tenantId` (or `id` for the tenant).
 * Platform staff hold roles on the platform tenant and manage customer tenants.
 * API keys get the permissions of their scopes, inside their own tenant.
 */
export function defineAbilityFor(principal: Principal | null): AppAbility {
  const builder = new AbilityBuilder<AppAbility>(createPrismaAbility);
  if (principal?.kind === "user") defineForUser(builder, principal);
  if (principal?.kind === "api_key") defineForApiKey(builder, principal);
  return builder.build();
}

type Builder = AbilityBuilder<AppAbility>;

function defineForUser({ can }: Builder, principal: UserPrincipal): void {
  const { tenantId, role } = principal;
  const manager = role === "owner" || role === "admin";
  // Everyone may read the tenant they act in.
  can("read", "Tenant", { id: tenantId });

  if (principal.tenantKind === "platform") {
    // Staff see every tenant; owners and admins onboard, change and close customer tenants.
    can("read", "Tenant");
    if (manager) {
      can("create", "Tenant");
      can("update", "Tenant", { kind: "customer" });
      can("close", "Tenant", { kind: "customer" });
      can("read", "AuditEvent");
    }
    return;
  }

  if (manager) can("read", "AuditEvent", { tenantId });
}

function defineForApiKey({ can }: Builder, principal: ApiKeyPrincipal): void {
  const { tenantId } = principal;
  const scopes = new Set(principal.scopes);
  const platform = principal.tenantKind === "platform";
  if (scopes.has("tenant:read")) {
    if (platform) can("read", "Tenant");
    else can("read", "Tenant", { id: tenantId });
  }
  if (scopes.has("audit:read")) {
    if (platform) can("read", "AuditEvent");
    else can("read", "AuditEvent", { tenantId });
  }
}
