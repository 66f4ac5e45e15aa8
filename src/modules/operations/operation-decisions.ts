import type { OperationAction, SimStatus } from "../../generated/prisma/enums.js";
import { TRANSITIONS, allowedActions, canApply, type LifecycleAction } from "../sims/lifecycle.js";

/**
 * What an operation does to one SIM, decided the same way by the engine (on the locked row) and by a dry run
 * (on the current row), so a dry run answers exactly what the real run would do at that moment.
 *
 * - `change`: the SIM changes (lifecycle actions go through the network first, which may still refuse).
 * - `skip`: nothing to do, the SIM already is as asked (suspending a suspended SIM in bulk). Counted apart from
 *   failures: an automation re-running "suspend these 500" is not told 20 of them failed.
 * - `fail`: refused, with a stable reason code shown per SIM.
 */
export type Decision = { outcome: "change" } | { outcome: "skip"; reason: string } | { outcome: "fail"; reason: string };

export type LabelMode = "add" | "remove" | "replace";

export interface OperationParams {
  ratePlanId?: string;
  labels?: string[];
  mode?: LabelMode;
}

export interface OperationSpec {
  /** Absent for a dry run (no operation exists). */
  id?: string;
  tenantId: string;
  action: OperationAction;
  params: OperationParams;
}

export interface SimState {
  id: string;
  tenantId: string;
  status: SimStatus;
  pendingOperationId: string | null;
  ratePlanId: string | null;
  labels: string[];
}

/** More labels than this on one SIM is refused per SIM (`too_many_labels`): PATCH /v1/sims/{iccid} allows 20. */
export const MAX_LABELS_PER_SIM = 20;

export const isLifecycleAction = (a: OperationAction): a is LifecycleAction => a in TRANSITIONS;

/** The reason an item fails on an illegal transition; the same words as the single-SIM 409. */
export function illegalTransitionReason(status: SimStatus): string {
  const allowed = allowedActions(status);
  return `illegal_transition: ${status}, allowed: ${allowed.length ? allowed.join(", ") : "none"}`;
}

export function decide(op: OperationSpec, sim: SimState | undefined): Decision {
  if (!sim) return { outcome: "fail", reason: "sim_not_found" };
  // The selection is resolved inside the tenant; a trusted caller's stray id is treated like an unknown ICCID.
  if (sim.tenantId !== op.tenantId) return { outcome: "fail", reason: "unknown_iccid" };
  const action = op.action;
  if (isLifecycleAction(action)) {
    if (sim.pendingOperationId && sim.pendingOperationId !== op.id) return { outcome: "fail", reason: "operation_pending" };
    const { to } = TRANSITIONS[action];
    if (sim.status === to) return { outcome: "skip", reason: `already_${to}` };
    if (!canApply(action, sim.status)) return { outcome: "fail", reason: illegalTransitionReason(sim.status) };
    return { outcome: "change" };
  }
  if (sim.status === "terminated") return { outcome: "fail", reason: "sim_terminated" };
  if (action === "change_rate_plan") {
    return sim.ratePlanId === op.params.ratePlanId ? { outcome: "skip", reason: "already_on_rate_plan" } : { outcome: "change" };
  }
  const next = nextLabels(sim.labels, op.params);
  if (sameLabels(next, sim.labels)) return { outcome: "skip", reason: "labels_unchanged" };
  if (next.length > MAX_LABELS_PER_SIM) return { outcome: "fail", reason: "too_many_labels" };
  return { outcome: "change" };
}

/** A SIM's labels after `set_labels`: added ones go last, in the order given; order is otherwise kept. */
export function nextLabels(current: readonly string[], params: OperationParams): string[] {
  const given = [...new Set(params.labels ?? [])];
  switch (params.mode ?? "add") {
    case "add":
      return [...current, ...given.filter((l) => !current.includes(l))];
    case "remove":
      return current.filter((l) => !given.includes(l));
    case "replace":
      return given;
  }
}

const sameLabels = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((l, i) => l === b[i]);
