import { Type, type Static } from "typebox";

/** The most events one request may carry. */
export const NETWORK_EVENTS_MAX = 1000;

// Each field is only bounded here: an event with a bad value is rejected alone (its index, field and reason in
// `errors`) while the rest of the batch is kept, so the values are checked by the service, not the schema.
const Field = (maxLength: number) => Type.Optional(Type.String({ maxLength }));

export const NetworkEventInput = Type.Object(
  {
    eventId: Field(256),
    type: Field(32),
    iccid: Field(32),
    imsi: Field(32),
    imei: Field(32),
    imeisv: Field(32),
    network: Field(16),
    occurredAt: Field(64),
  },
  { additionalProperties: false },
);
export type NetworkEventInput = Static<typeof NetworkEventInput>;

export const NetworkEventsBody = Type.Object({ events: Type.Array(NetworkEventInput, { minItems: 1, maxItems: NETWORK_EVENTS_MAX }) }, { additionalProperties: false });
export type NetworkEventsBody = Static<typeof NetworkEventsBody>;

export const NETWORK_EVENT_ERROR_CODES = ["missing_field", "invalid_value", "conflicting_fields", "sim_not_found"] as const;
export type NetworkEventErrorCode = (typeof NETWORK_EVENT_ERROR_CODES)[number];

export const NetworkEventError = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  eventId: Type.Union([Type.String(), Type.Null()]),
  field: Type.String(),
  reason: Type.String(),
  code: Type.Enum(NETWORK_EVENT_ERROR_CODES),
});
export type NetworkEventError = Static<typeof NetworkEventError>;

export const NetworkEventsResult = Type.Object({
  accepted: Type.Integer({ minimum: 0 }),
  duplicates: Type.Integer({ minimum: 0 }),
  rejected: Type.Integer({ minimum: 0 }),
  errors: Type.Array(NetworkEventError),
});
export type NetworkEventsResult = Static<typeof NetworkEventsResult>;
