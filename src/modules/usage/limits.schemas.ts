import { Type, type Static } from "typebox";
import { Iccid } from "../sims/sims.schemas.js";

/** The data-limit API's shapes (openapi.yaml mirrors them under `# -- schemas: usage-limits`). */

/**
 * A byte count in, or null: a JSON integer (up to 2^53 - 1) or a decimal string (up to 2^63 - 1, checked by the
 * service), at least 1 (a limit of 0 bytes would be crossed before the first byte). One schema with a type list,
 * not a union: the app's validator coerces types, and in a union the integer branch would turn null into 0.
 * `minimum`/`maximum` apply to numbers only, `pattern`/`maxLength` to strings only.
 */
export const NullableByteCountInput = (description: string) =>
  Type.Unsafe<number | string | null>({
    type: ["integer", "string", "null"],
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    minLength: 1,
    maxLength: 19,
    pattern: "^[1-9][0-9]*$",
    description,
  });

/** A byte count out: a JSON number while exact (<= 2^53 - 1), else a string of digits. */
export const ByteCount = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: "^[0-9]+$" })]);
const NullableByteCount = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: "^[0-9]+$" }), Type.Null()]);

/** Percent of a limit at which an alert is raised; 100 (the limit itself) must be one of them. */
export const Thresholds = Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), {
  minItems: 1,
  maxItems: 5,
  uniqueItems: true,
  description: "1 to 5 distinct percentages (1-100), one of them 100. Stored in ascending order.",
});

export const SimDataLimitParams = Type.Object({ iccid: Iccid }, { additionalProperties: false });

export const SimDataLimitBody = Type.Object(
  {
    limitBytes: NullableByteCountInput("Bytes (up and down) per billing period; null removes the limit."),
    suspendAtLimit: Type.Optional(Type.Boolean({ default: false, description: "At 100 %, suspend the SIM (reason `data_limit`) until the next period." })),
  },
  { additionalProperties: false },
);
export type SimDataLimitBody = Static<typeof SimDataLimitBody>;

const Period = Type.Object({
  month: Type.String({ pattern: "^[0-9]{4}-[0-9]{2}$", description: "The billing period: a UTC calendar month." }),
  start: Type.String({ format: "date-time" }),
  end: Type.String({ format: "date-time", description: "Exclusive." }),
});

export const SimDataLimitView = Type.Object({
  iccid: Type.String(),
  limitBytes: NullableByteCount,
  suspendAtLimit: Type.Boolean(),
  period: Period,
  usedBytes: ByteCount,
  percentUsed: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
  resumeOperationId: Type.Union([Type.String({ format: "uuid" }), Type.Null()]),
});
export type SimDataLimitView = Static<typeof SimDataLimitView>;

export const UsageLimitsQuery = Type.Object(
  { tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: another tenant's policy. Default: the caller's own tenant." })) },
  { additionalProperties: false },
);
export type UsageLimitsQuery = Static<typeof UsageLimitsQuery>;

export const UsageLimitsBody = Type.Object(
  {
    simThresholds: Type.Optional(Thresholds),
    pooledLimitBytes: NullableByteCountInput("Bytes per billing period over all the tenant's SIMs; null: none."),
    pooledThresholds: Type.Optional(Thresholds),
  },
  { additionalProperties: false },
);
export type UsageLimitsBody = Static<typeof UsageLimitsBody>;

export const UsageLimitsView = Type.Object({
  tenantId: Type.String({ format: "uuid" }),
  simThresholds: Type.Array(Type.Integer()),
  pooledLimitBytes: NullableByteCount,
  pooledThresholds: Type.Array(Type.Integer()),
  updatedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  period: Period,
  usedBytes: ByteCount,
  percentOfPooledLimit: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
});
export type UsageLimitsView = Static<typeof UsageLimitsView>;
