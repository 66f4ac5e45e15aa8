import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { API_IMEI_MODES } from "../devices/imei-rules.js";

/** The SIM API's shapes (openapi.yaml mirrors them under `# -- schemas: sims`). */

export const SIM_STATUSES = ["inventory", "ready", "active", "suspended", "terminated"] as const;
export const FORM_FACTORS = ["ff2", "ff3", "ff4", "mff2", "esim"] as const;
export const OPERATION_ACTIONS = ["activate", "suspend", "resume", "terminate", "change_rate_plan", "set_labels"] as const;
export const SIM_EVENT_KINDS = ["imported", "allocated", "state_changed", "rate_plan_changed", "labels_changed", "imei_policy_changed", "esim_order_changed"] as const;

/** Only the shape: a path ICCID that is not one of ours answers 404 like any unknown SIM. */
export const Iccid = Type.String({ pattern: "^[0-9]{19,20}$", description: "ICCID, 19 or 20 digits." });
export const SimStatus = Type.Enum(SIM_STATUSES);
export const FormFactor = Type.Enum(FORM_FACTORS);
export const SimEventKind = Type.Enum(SIM_EVENT_KINDS);
export const Label = Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_.:-]+$" });

export const SimParams = Type.Object({ iccid: Iccid });

export const SimListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(Type.Array(SimStatus, { maxItems: SIM_STATUSES.length, description: "Repeatable: SIMs in any of these states." })),
    label: Type.Optional(Type.Array(Label, { maxItems: 20, description: "Repeatable: SIMs carrying every one of these labels." })),
    ratePlanId: Type.Optional(Type.String({ format: "uuid" })),
    formFactor: Type.Optional(FormFactor),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 20, pattern: "^[0-9]+$", description: "Digits: exact or prefix match on ICCID, IMSI, MSISDN, bound or last-seen IMEI." })),
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: one tenant's SIMs." })),
  },
  { additionalProperties: false },
);
export type SimListQuery = Static<typeof SimListQuery>;

export const SimPatchBody = Type.Object(
  {
    labels: Type.Optional(Type.Array(Label, { maxItems: 20, uniqueItems: true, description: "Replaces the SIM's labels." })),
    customName: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$" }), Type.Null()], { description: "A name of the customer's choosing; null clears it." }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SimPatchBody = Static<typeof SimPatchBody>;

const NullableString = Type.Union([Type.String(), Type.Null()]);
const Time = Type.String({ format: "date-time" });
const NullableTime = Type.Union([Time, Type.Null()]);

/** What every read shows of a SIM: never its PIN or PUK. */
export const SimView = Type.Object({
  iccid: Type.String(),
  imsi: Type.String(),
  msisdn: NullableString,
  eid: NullableString,
  formFactor: FormFactor,
  status: SimStatus,
  statusReason: NullableString,
  statusChangedAt: Time,
  pendingOperation: Type.Union([Type.Object({ id: Type.String({ format: "uuid" }), action: Type.Enum(OPERATION_ACTIONS) }), Type.Null()]),
  ratePlan: Type.Union([Type.Object({ id: Type.String({ format: "uuid" }), code: Type.String(), name: Type.String() }), Type.Null()]),
  labels: Type.Array(Type.String()),
  customName: NullableString,
  imeiPolicy: Type.Object({
    mode: Type.Enum(API_IMEI_MODES),
    boundImei: NullableString,
    onMismatch: Type.Enum(["alert", "suspend"]),
    allowList: Type.Array(Type.String()),
    repairUntil: NullableTime,
  }),
  lastSeenImei: NullableString,
  lastSeenAt: NullableTime,
  lastNetwork: NullableString,
  dataLimitBytes: Type.Union([Type.Integer(), Type.String({ pattern: "^[0-9]+$" }), Type.Null()]),
  dataLimitSuspend: Type.Boolean(),
  activatedAt: NullableTime,
  terminatedAt: NullableTime,
  createdAt: Time,
  updatedAt: Time,
  tenantId: Type.String({ format: "uuid" }),
});
export type SimView = Static<typeof SimView>;

export const SimPage = Type.Object({ items: Type.Array(SimView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const SimEventListQuery = Type.Object(
  { ...PageQuery, kind: Type.Optional(Type.Array(SimEventKind, { maxItems: SIM_EVENT_KINDS.length, description: "Repeatable: events of any of these kinds." })) },
  { additionalProperties: false },
);
export type SimEventListQuery = Static<typeof SimEventListQuery>;

export const SimEventView = Type.Object({
  id: Type.String({ format: "uuid" }),
  kind: SimEventKind,
  fromStatus: Type.Union([SimStatus, Type.Null()]),
  toStatus: Type.Union([SimStatus, Type.Null()]),
  reasonCode: NullableString,
  billingEffect: Type.Union([Type.Enum(["none", "test", "billable", "reduced"]), Type.Null()]),
  data: Type.Object({}, { additionalProperties: true }),
  actor: Type.Object({ type: Type.String(), id: NullableString }),
  operationId: Type.Union([Type.String({ format: "uuid" }), Type.Null()]),
  at: Time,
});
export type SimEventView = Static<typeof SimEventView>;

export const SimEventPage = Type.Object({ items: Type.Array(SimEventView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
