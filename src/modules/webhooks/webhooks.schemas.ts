import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { WEBHOOK_EVENT_TYPES } from "./webhook-events.js";

export const WebhookEventTypeSchema = Type.Enum(WEBHOOK_EVENT_TYPES, { description: "An event an endpoint may subscribe to." });

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  pattern: "^\\S+$",
  description: "https URL of the receiver (http only where WEBHOOK_ALLOW_PRIVATE_URLS=true, for development).",
});
const Events = Type.Array(WebhookEventTypeSchema, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true });
const Description = Type.String({ maxLength: 200, pattern: "^[^\\u0000-\\u001f\\u007f]*$", description: "What the endpoint is for." });

export const WebhookEndpointCreateBody = Type.Object({ url: Url, events: Events, description: Type.Optional(Description) }, { additionalProperties: false });
export type WebhookEndpointCreateBody = Static<typeof WebhookEndpointCreateBody>;

export const WebhookEndpointUpdateBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    enabled: Type.Optional(Type.Boolean({ description: "false stops deliveries: pending ones are marked failed." })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type WebhookEndpointUpdateBody = Static<typeof WebhookEndpointUpdateBody>;

export const WebhookEndpointParams = Type.Object({ id: Type.String({ format: "uuid" }) });
export const WebhookDeliveryParams = Type.Object({ id: Type.String({ format: "uuid" }), deliveryId: Type.String({ format: "uuid" }) });

export const WebhookEndpointListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type WebhookEndpointListQuery = Static<typeof WebhookEndpointListQuery>;

const DeliveryStatus = Type.Union([Type.Literal("pending"), Type.Literal("succeeded"), Type.Literal("failed")]);

export const WebhookDeliveryListQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(DeliveryStatus), eventType: Type.Optional(WebhookEventTypeSchema) },
  { additionalProperties: false },
);
export type WebhookDeliveryListQuery = Static<typeof WebhookDeliveryListQuery>;

const Time = Type.String({ format: "date-time" });
const NullableTime = Type.Union([Time, Type.Null()]);

/** What reads and lists show: never the secret. */
export const WebhookEndpointView = Type.Object({
  id: Type.String({ format: "uuid" }),
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  events: Type.Array(WebhookEventTypeSchema),
  enabled: Type.Boolean(),
  createdAt: Time,
  updatedAt: Time,
});
export type WebhookEndpointView = Static<typeof WebhookEndpointView>;

const Secret = Type.String({ description: "The signing secret, `whsec_` + base64 of 32 random bytes. Shown once: store it now." });

export const WebhookEndpointCreated = Type.Object({ ...WebhookEndpointView.properties, secret: Secret });
export type WebhookEndpointCreated = Static<typeof WebhookEndpointCreated>;

export const WebhookSecretRotated = Type.Object({
  ...WebhookEndpointView.properties,
  secret: Secret,
  previousSignatureValidUntil: Type.String({ format: "date-time", description: "Until then each message carries a signature with the previous secret too." }),
});
export type WebhookSecretRotated = Static<typeof WebhookSecretRotated>;

export const WebhookEndpointPage = Type.Object({ items: Type.Array(WebhookEndpointView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const WebhookAttemptView = Type.Object({
  attempt: Type.Integer(),
  at: Time,
  trigger: Type.Union([Type.Literal("automatic"), Type.Literal("manual")]),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  responseExcerpt: Type.Union([Type.String(), Type.Null()]),
});
export type WebhookAttemptView = Static<typeof WebhookAttemptView>;

export const WebhookDeliveryView = Type.Object({
  id: Type.String({ format: "uuid" }),
  messageId: Type.String({ description: "The `webhook-id` header: the same on every attempt." }),
  eventType: WebhookEventTypeSchema,
  status: DeliveryStatus,
  attemptCount: Type.Integer(),
  nextAttemptAt: NullableTime,
  lastAttemptAt: NullableTime,
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Time,
  succeededAt: NullableTime,
  payload: Type.Object({ type: Type.String(), timestamp: Time, data: Type.Record(Type.String(), Type.Unknown()) }),
  attempts: Type.Array(WebhookAttemptView),
});
export type WebhookDeliveryView = Static<typeof WebhookDeliveryView>;

export const WebhookDeliveryPage = Type.Object({ items: Type.Array(WebhookDeliveryView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
