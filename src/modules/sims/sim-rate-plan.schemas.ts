import { Type, type Static } from "typebox";
import { Iccid } from "./sims.schemas.js";

/** A SIM's rate plan: the plan now, a change waiting for the next period, and the plan history (openapi: SimRatePlan*). */

export const SimRatePlanParams = Type.Object({ iccid: Iccid }, { additionalProperties: false });

export const PLAN_CHANGE_EFFECTS = ["next_period", "immediate"] as const;

export const SimRatePlanChangeBody = Type.Object(
  {
    ratePlanId: Type.String({ format: "uuid" }),
    effective: Type.Enum(PLAN_CHANGE_EFFECTS, {
      description: "next_period: from the first day of next month (UTC); immediate: from today (UTC), both plans' fees prorated by days.",
    }),
  },
  { additionalProperties: false },
);
export type SimRatePlanChangeBody = Static<typeof SimRatePlanChangeBody>;

const DateOnly = Type.String({ format: "date" });

export const PlanRef = Type.Object({
  id: Type.String({ format: "uuid" }),
  code: Type.String(),
  name: Type.String(),
  currency: Type.String(),
});
export type PlanRef = Static<typeof PlanRef>;

export const SimPlanAssignmentView = Type.Object({
  ratePlan: PlanRef,
  effectiveFrom: DateOnly,
  kind: Type.Enum(["allocation", "next_period", "immediate"]),
  actor: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  recordedAt: Type.String({ format: "date-time" }),
});
export type SimPlanAssignmentView = Static<typeof SimPlanAssignmentView>;

export const SimRatePlanView = Type.Object({
  iccid: Type.String(),
  /** The plan in effect today, since when (null for a SIM with no plan history). */
  current: Type.Union([Type.Object({ ratePlan: PlanRef, since: Type.Union([DateOnly, Type.Null()]) }), Type.Null()]),
  /** A next-period change waiting for its day. */
  pending: Type.Union([Type.Object({ ratePlan: PlanRef, effectiveFrom: DateOnly, requestedAt: Type.String({ format: "date-time" }) }), Type.Null()]),
  /** The assignments in effect so far, latest first (at most 100). */
  history: Type.Array(SimPlanAssignmentView),
});
export type SimRatePlanView = Static<typeof SimRatePlanView>;
