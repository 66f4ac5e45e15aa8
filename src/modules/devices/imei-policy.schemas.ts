import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { ALLOW_LIST_MAX, API_IMEI_MODES } from "./imei-rules.js";

/** Only the shape, as the SIM API checks it: an ICCID that is not one of ours answers 404 like any unknown SIM. */
export const IccidParams = Type.Object({ iccid: Type.String({ pattern: "^[0-9]{19,20}$", description: "The SIM's ICCID, 19 or 20 digits." }) });

const ImeiMode = Type.Enum(API_IMEI_MODES);
const MismatchAction = Type.Enum(["alert", "suspend"] as const);
// Loose here on purpose: the service checks the digits (Luhn, IMEISV) and names the precise reason.
const ImeiInput = Type.String({ minLength: 1, maxLength: 32 });

export const ImeiPolicyBody = Type.Object(
  {
    mode: ImeiMode,
    imei: Type.Optional(ImeiInput),
    allowList: Type.Optional(Type.Array(ImeiInput, { maxItems: ALLOW_LIST_MAX })),
    onMismatch: Type.Optional(MismatchAction),
  },
  { additionalProperties: false },
);
export type ImeiPolicyBody = Static<typeof ImeiPolicyBody>;

export const ImeiRepairBody = Type.Object(
  { minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10080, default: 1440, description: "How long the window stays open." })) },
  { additionalProperties: false },
);
export type ImeiRepairBody = Static<typeof ImeiRepairBody>;

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableTime = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);

export const ImeiPolicyView = Type.Object({
  iccid: Type.String(),
  mode: ImeiMode,
  boundImei: NullableString,
  allowList: Type.Array(Type.String()),
  onMismatch: MismatchAction,
  repairUntil: NullableTime,
  lastSeenImei: NullableString,
  lastSeenAt: NullableTime,
  lastNetwork: NullableString,
});
export type ImeiPolicyView = Static<typeof ImeiPolicyView>;

export const ImeiEventsQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type ImeiEventsQuery = Static<typeof ImeiEventsQuery>;

export const ImeiEventView = Type.Object({
  id: Type.String({ format: "uuid" }),
  kind: Type.Enum(["first_seen", "bound", "changed", "mismatch", "repaired"] as const),
  imei: Type.String(),
  previousImei: NullableString,
  source: Type.Enum(["usage", "network_event", "api"] as const),
  actionTaken: Type.Union([MismatchAction, Type.Null()]),
  network: NullableString,
  at: Type.String({ format: "date-time" }),
});
export type ImeiEventView = Static<typeof ImeiEventView>;

export const ImeiEventPage = Type.Object({ items: Type.Array(ImeiEventView), nextCursor: NullableString });
export type ImeiEventPage = Static<typeof ImeiEventPage>;
