import { subject as asSubject } from "@casl/ability";
import { ForbiddenError, UnauthenticatedError } from "../../platform/errors.js";
import type { Action } from "./casl-prisma.js";
import type { Actor, Principal, UserPrincipal } from "./principal.js";

export type SubjectName =
  | "Tenant"
  | "User"
  | "Membership"
  | "AuditEvent"
  | "Sim"
  | "ApiKey"
  | "Invitation"
  | "MailMessage"
  | "RatePlan"
  | "Operation"
  | "EsimProfile"
  | "Device"
  | "Alert"
  | "NetworkEvent"
  | "WebhookEndpoint"
  | "UsageRecord"
  | "UsageDaily"
  | "UsageLimit"
  | "UsageWatermark"
  | "Invoice"
  | "Payment"
  | "BillingContact"
  | "BillingRun"
  | "BillingSettings";

/** The caller must be signed in; returns the principal so services need no non-null assertions. */
export function requirePrincipal(actor: Actor): Principal {
  if (!actor.principal) throw new UnauthenticatedError();
  return actor.principal;
}

/** For actions only a person can take (their own session, MFA, password): API keys get 403. */
export function requireUser(actor: Actor): UserPrincipal {
  const principal = requirePrincipal(actor);
  if (principal.kind !== "user") throw new ForbiddenError("This action needs a signed-in user, not an API key.", "user_required");
  return principal;
}

/**
 * Authorization at the top of every service method, before any side effect (STYLE.md habit 5).
 * Without `object` it asks "may this caller ever do `action` on this kind of thing" (create, list);
 * with `object` the rule's conditions are checked against it.
 */
export function authorize(actor: Actor, action: Action, type: SubjectName, object?: Record<string, unknown>): Principal {
  const principal = requirePrincipal(actor);
  const allowed = object ? actor.ability.can(action, asSubject(type, object) as never) : actor.ability.can(action, type);
  if (!allowed) throw new ForbiddenError(`Your role does not allow ${action} on ${type}.`);
  return principal;
}
