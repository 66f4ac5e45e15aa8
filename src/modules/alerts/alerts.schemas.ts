import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { Iccid } from "../sims/sims.schemas.js";

/** The alerts API's shapes (openapi.yaml mirrors them under `# -- schemas: alerts`). */

export const ALERT_KINDS = ["imei_mismatch", "usage_threshold", "data_limit"] as const;
export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;

export const AlertParams = Type.Object({ id: Type.String({ format: "uuid" }) }, { additionalProperties: false });

export const AlertListQuery = Type.Object(
  {
    ...PageQuery,
    kind: Type.Optional(Type.Array(Type.Enum(ALERT_KINDS), { maxItems: ALERT_KINDS.length, description: "Repeatable: alerts of any of these kinds." })),
    iccid: Type.Optional(Iccid),
    acknowledged: Type.Optional(Type.Boolean({ description: "true: acknowledged ones only; false: open ones only." })),
    from: Type.Optional(Type.String({ format: "date-time", description: "Raised at or after this instant." })),
    to: Type.Optional(Type.String({ format: "date-time", description: "Raised before this instant." })),
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: one tenant's alerts." })),
  },
  { additionalProperties: false },
);
export type AlertListQuery = Static<typeof AlertListQuery>;

const NullableTime = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);

export const AlertView = Type.Object({
  id: Type.String({ format: "uuid" }),
  tenantId: Type.String({ format: "uuid" }),
  kind: Type.Enum(ALERT_KINDS),
  severity: Type.Enum(ALERT_SEVERITIES),
  message: Type.String(),
  iccid: Type.Union([Type.String(), Type.Null()]),
  data: Type.Object({}, { additionalProperties: true }),
  createdAt: Type.String({ format: "date-time" }),
  acknowledgedAt: NullableTime,
  acknowledgedBy: Type.Union([Type.String({ format: "uuid" }), Type.Null()]),
});
export type AlertView = Static<typeof AlertView>;

export const AlertPage = Type.Object({ items: Type.Array(AlertView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export type AlertPage = Static<typeof AlertPage>;
