import { Type, type Static } from "typebox";

/** A SIM is addressed by its ICCID: 19-20 digits starting with 89 (the check digit is the lookup's business). */
export const IccidParams = Type.Object({ iccid: Type.String({ pattern: "^89[0-9]{17,18}$", description: "The SIM's ICCID." }) }, { additionalProperties: false });

export const EsimOrderBody = Type.Object(
  {
    eid: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "The eUICC to link the order to: 32 digits with ISO/IEC 7064 MOD 97-10 check digits (GSMA SGP.29). Omitted: the SIM's own EID, if known, else any eUICC may download the profile.",
      }),
    ),
    confirmationCodeRequired: Type.Optional(Type.Boolean({ default: false, description: "Require the end user to type a confirmation code on the device; the code is returned once." })),
    profileType: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: "^[\\x20-\\x7E]+$", description: "Content-free operator information passed to the SM-DP+, e.g. \"P9054-2\"." })),
  },
  { additionalProperties: false },
);
export type EsimOrderBody = Static<typeof EsimOrderBody>;

export const ORDER_STATES = ["available", "allocated", "linked", "confirmed", "released", "downloaded", "installed", "error", "cancelled"] as const;
export const PROFILE_STATES = ["enabled", "disabled", "deleted"] as const;
export type OrderState = (typeof ORDER_STATES)[number];
export type ProfileState = (typeof PROFILE_STATES)[number];

const OrderStateSchema = Type.Enum(ORDER_STATES);
const ProfileStateSchema = Type.Union([Type.Enum(PROFILE_STATES), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableTime = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);

export const EsimStateChange = Type.Object({
  at: Type.String({ format: "date-time" }),
  orderState: OrderStateSchema,
  profileState: ProfileStateSchema,
  reason: NullableString,
  actorType: Type.String(),
});

/** What reads show: never the confirmation code or its hash. */
export const EsimProfileView = Type.Object({
  id: Type.String({ format: "uuid" }),
  iccid: Type.String(),
  eid: NullableString,
  smdpAddress: Type.String(),
  matchingId: NullableString,
  activationCode: NullableString,
  confirmationCodeRequired: Type.Boolean(),
  profileType: NullableString,
  orderState: OrderStateSchema,
  profileState: ProfileStateSchema,
  errorReason: NullableString,
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
  cancelledAt: NullableTime,
  history: Type.Array(EsimStateChange),
});
export type EsimProfileView = Static<typeof EsimProfileView>;

/** The answer to an order: the view and, when one is required, the confirmation code, this one time. */
export const EsimOrderCreated = Type.Object({
  ...EsimProfileView.properties,
  confirmationCode: Type.Union([Type.String(), Type.Null()], { description: "Shown once; only its SHA-256 is stored." }),
});
export type EsimOrderCreated = Static<typeof EsimOrderCreated>;

const StatusCodeData = Type.Object(
  {
    subjectCode: Type.String({ maxLength: 32 }),
    reasonCode: Type.String({ maxLength: 32 }),
    subjectIdentifier: Type.Optional(Type.String({ maxLength: 128 })),
    message: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

/** ES2+.HandleDownloadProgressInfo (SGP.22 5.3.5) as the SM-DP+ sends it. */
export const EsimNotificationBody = Type.Object(
  {
    header: Type.Object(
      {
        functionRequesterIdentifier: Type.String({ minLength: 1, maxLength: 256 }),
        functionCallIdentifier: Type.String({ minLength: 1, maxLength: 256 }),
      },
      { additionalProperties: false },
    ),
    eid: Type.Optional(Type.String({ pattern: "^[0-9]{32}$" })),
    iccid: Type.String({ pattern: "^89[0-9]{17,18}$" }),
    profileType: Type.String({ maxLength: 64 }),
    timestamp: Type.String({ format: "date-time" }),
    notificationPointId: Type.Integer({ minimum: 1, maximum: 1000 }),
    notificationPointStatus: Type.Object(
      {
        status: Type.Union([Type.Literal("Executed-Success"), Type.Literal("Executed-WithWarning"), Type.Literal("Failed"), Type.Literal("Expired")]),
        statusCodeData: Type.Optional(StatusCodeData),
      },
      { additionalProperties: false },
    ),
    resultData: Type.Optional(Type.String({ maxLength: 8192, pattern: "^[A-Za-z0-9+/=]*$" })),
    imei: Type.Optional(Type.String({ pattern: "^[0-9]{15,16}$" })),
    tac: Type.Optional(Type.String({ pattern: "^[0-9]{8}$" })),
  },
  { additionalProperties: false },
);
export type EsimNotificationBody = Static<typeof EsimNotificationBody>;
