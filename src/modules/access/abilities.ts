import { AbilityBuilder } from "@casl/ability";
import { createPrismaAbility, type AppAbility } from "./casl-prisma.js";
import type { Role } from "../../generated/prisma/enums.js";
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

const NON_OWNER_ROLES: Role[] = ["admin", "operator", "billing", "viewer"];

function defineForUser({ can }: Builder, principal: UserPrincipal): void {
  const { tenantId, role } = principal;
  const manager = role === "owner" || role === "admin";
  // Everyone may read the tenant they act in.
  can("read", "Tenant", { id: tenantId });
  // Owners and admins manage their own tenant's API keys (platform staff too: only the platform tenant's).
  if (manager) can(["create", "read", "delete"], "ApiKey", { tenantId });
  // Every member sees who else belongs to their tenant; owners and admins change roles and status and invite.
  // Admins never touch the owner role: they cannot invite, promote to or change an owner.
  can("read", "Membership", { tenantId });
  if (role === "owner") {
    can("update", "Membership", { tenantId });
    can(["create", "read", "delete"], "Invitation", { tenantId });
  }
  if (role === "admin") {
    can("update", "Membership", { tenantId, role: { in: NON_OWNER_ROLES } });
    can("create", "Invitation", { tenantId, role: { in: NON_OWNER_ROLES } });
    can(["read", "delete"], "Invitation", { tenantId });
  }

  if (principal.tenantKind === "platform") {
    // Staff see every tenant; owners and admins onboard, change and close customer tenants.
    can("read", "Tenant");
    if (manager) {
      can("create", "Tenant");
      can("update", "Tenant", { kind: "customer" });
      can("close", "Tenant", { kind: "customer" });
      can("read", "AuditEvent");
      // Onboarding: staff invite a customer's first members (any role), and read the development outbox.
      can(["create", "read", "delete"], "Invitation", { tenantId: { not: tenantId } });
      can("read", "MailMessage");
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
