import type { BillingEffect, OperationAction, SimStatus } from "../../generated/prisma/enums.js";

/**
 * The SIM state machine, the one place that says which lifecycle action moves a SIM from which state to which:
 *
 *   inventory -> ready -> active <-> suspended -> terminated (final)
 *
 * `inventory -> ready` is allocation (platform staff hand the SIM to a customer); `ready` is the test state,
 * which turns `active` by itself past the tenant's test-usage threshold. Terminating is allowed from active as
 * well as suspended (the network suspends and terminates in one step): customers retire live devices.
 */
export type LifecycleAction = Extract<OperationAction, "activate" | "suspend" | "resume" | "terminate">;

export const LIFECYCLE_ACTIONS: readonly LifecycleAction[] = ["activate", "suspend", "resume", "terminate"];

export const TRANSITIONS: Record<LifecycleAction, { from: readonly SimStatus[]; to: SimStatus }> = {
  activate: { from: ["ready"], to: "active" },
  suspend: { from: ["active"], to: "suspended" },
  resume: { from: ["suspended"], to: "active" },
  terminate: { from: ["active", "suspended"], to: "terminated" },
};

/** What each state costs; billing reads it from the SIM's history (sim_events.billing_effect). */
export const BILLING_EFFECT: Record<SimStatus, BillingEffect> = {
  inventory: "none",
  ready: "test",
  active: "billable",
  suspended: "reduced",
  terminated: "none",
};

/** The lifecycle actions allowed from a state: named in the 409 answer to an illegal one. */
export function allowedActions(status: SimStatus): LifecycleAction[] {
  return LIFECYCLE_ACTIONS.filter((a) => TRANSITIONS[a].from.includes(status));
}

export function canApply(action: LifecycleAction, status: SimStatus): boolean {
  return TRANSITIONS[action].from.includes(status);
}
