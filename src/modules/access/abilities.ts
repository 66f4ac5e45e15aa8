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

  // Rate plans are a catalogue every member may read (names and codes; prices come with billing).
  can("read", "RatePlan");
  const fleetOperator = manager || role === "operator";

  if (principal.tenantKind === "platform") {
    // Staff see every tenant's fleet (support), except billing staff, who see billing only.
    if (role !== "billing") can("read", FLEET_SUBJECTS);
    // Inventory: staff operators import SIMs, allocate them to customers, and operate the SIMs the platform
    // still owns (inventory). Customer SIMs are changed by their tenant.
    if (fleetOperator) {
      can(["import", "allocate"], "Sim");
      can("update", "Sim", { tenantId });
      can("create", "Operation", { tenantId });
      can(["create", "delete"], "EsimProfile", { tenantId });
    }
    if (manager || role === "billing") can(["create", "update"], "RatePlan");
    // Usage: staff read every tenant's (support, billing); the operator's mediation feed is staff-run.
    can("read", USAGE_READ_SUBJECTS);
    if (fleetOperator) can("create", ["UsageRecord", "UsageWatermark"]);
    if (fleetOperator) can("update", "UsageLimit", { tenantId });
    if (manager) can(["create", "read", "update", "delete"], "WebhookEndpoint", { tenantId });
    // Billing: staff owners, admins and billing staff run billing for every customer; other staff see none of it.
    if (manager || role === "billing") {
      can("read", BILLING_READ_SUBJECTS);
      can(["create", "update"], "Invoice");
      can("create", "Payment");
      can(["create", "update", "delete"], "BillingContact");
      can(["create", "read"], "BillingRun");
      can(["read", "update"], "BillingSettings");
    }
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
  // Usage is what every member watches and what billing contacts pay for; owners and admins may run their own
  // usage feed (their keys carry usage:write); fleet operators set data limits.
  can("read", USAGE_READ_SUBJECTS, { tenantId });
  if (manager) can("create", ["UsageRecord", "UsageWatermark"], { tenantId });
  if (fleetOperator) can("update", "UsageLimit", { tenantId });
  // The fleet: everyone but billing contacts sees it; owners, admins and operators change it.
  if (role !== "billing") can("read", FLEET_SUBJECTS, { tenantId });
  if (fleetOperator) {
    can("update", "Sim", { tenantId });
    can("create", "Operation", { tenantId });
    can(["create", "delete"], "EsimProfile", { tenantId });
    can("update", "Alert", { tenantId });
  }
  if (manager) can(["create", "read", "update", "delete"], "WebhookEndpoint", { tenantId });
  // Billing is for owners, admins and billing contacts only: invoices, payments, billing details and contacts.
  if (manager || role === "billing") {
    can("read", BILLING_READ_SUBJECTS, { tenantId });
    can(["create", "update", "delete"], "BillingContact", { tenantId });
  }
}

/** What reading billing covers: invoices and credit notes, payments, the billing details and contacts. */
const BILLING_READ_SUBJECTS: Array<"Invoice" | "Payment" | "BillingContact"> = ["Invoice", "Payment", "BillingContact"];

/** What "seeing the fleet" covers: SIMs, their operations, eSIM profiles, devices and alerts. */
const FLEET_SUBJECTS: Array<"Sim" | "Operation" | "EsimProfile" | "Device" | "Alert"> = ["Sim", "Operation", "EsimProfile", "Device", "Alert"];

/** What reading usage covers: totals (rollups), raw records (one SIM's hourly series) and the limit policy. */
const USAGE_READ_SUBJECTS: Array<"UsageDaily" | "UsageRecord" | "UsageLimit"> = ["UsageDaily", "UsageRecord", "UsageLimit"];

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
  if (scopes.has("tenant:read")) can("read", "RatePlan");
  if (scopes.has("sims:read")) {
    if (platform) can("read", FLEET_SUBJECTS);
    else can("read", FLEET_SUBJECTS, { tenantId });
  }
  if (scopes.has("sims:write")) {
    can("update", "Sim", { tenantId });
    can("create", "Operation", { tenantId });
    can("update", "Alert", { tenantId });
    // A platform key automates inventory: imports from the SIM manufacturer, allocations from the ERP.
    if (platform) can(["import", "allocate"], "Sim");
  }
  if (scopes.has("usage:read")) {
    if (platform) can("read", USAGE_READ_SUBJECTS);
    else can("read", USAGE_READ_SUBJECTS, { tenantId });
  }
  if (scopes.has("usage:write")) {
    // The platform's mediation feed writes for every tenant; a tenant's key only for its own SIMs.
    if (platform) can("create", ["UsageRecord", "UsageWatermark"]);
    else can("create", ["UsageRecord", "UsageWatermark"], { tenantId });
  }
  if (scopes.has("sims:write")) can("update", "UsageLimit", { tenantId });
  if (scopes.has("billing:read")) {
    if (platform) can("read", [...BILLING_READ_SUBJECTS, "BillingRun"]);
    else can("read", BILLING_READ_SUBJECTS, { tenantId });
  }
  if (scopes.has("billing:write")) {
    // A customer's ERP keeps its billing contacts; the platform's ERP records payments and runs billing.
    if (platform) {
      can(["create", "update"], "Invoice");
      can("create", ["Payment", "BillingRun"]);
      can(["create", "update", "delete"], "BillingContact");
    } else can(["create", "update", "delete"], "BillingContact", { tenantId });
  }
  if (scopes.has("esim:write")) can(["create", "delete"], "EsimProfile", { tenantId });
  if (scopes.has("webhooks:write")) can(["create", "read", "update", "delete"], "WebhookEndpoint", { tenantId });
  // The operator's feeds: network events for every tenant's SIMs, and the SM-DP+'s download notifications.
  if (platform && scopes.has("network:write")) {
    can("create", "NetworkEvent");
    can("update", "EsimProfile");
  }
}
