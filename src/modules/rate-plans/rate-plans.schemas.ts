import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { ByteCount } from "../usage/limits.schemas.js";

/**
 * The rate plan catalogue: a code, a name and a currency, with its prices in versions, each in effect from the
 * first day of a month (UTC). openapi.yaml mirrors these shapes (RatePlan*, under the sims and rate-plans-pricing
 * schema blocks).
 */
export const RatePlanStatus = Type.Enum(["active", "retired"]);

/** A price: a decimal string, at least 0, at most 12 digits before the point and 6 after (NUMERIC(18,6)). */
export const PRICE_PATTERN = "^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,6})?$";
const Price = (description: string) => Type.String({ pattern: PRICE_PATTERN, maxLength: 19, description });

/**
 * Bytes in: a JSON integer (up to 2^53 - 1) or a string of digits (up to 2^63 - 1, checked by the service), 0 or
 * more. One schema with a type list, not a union: the app's validator coerces types (see limits.schemas.ts).
 */
const ByteCountInput = Type.Unsafe<number | string>({
  type: ["integer", "string"],
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  minLength: 1,
  maxLength: 19,
  pattern: "^(0|[1-9][0-9]*)$",
  description: "Bytes: a JSON integer up to 2^53 - 1, or a string of digits up to 2^63 - 1.",
});

export const DataAllowance = Type.Enum(["per_sim", "pooled"]);

/** The prices of one version; omitted prices are 0, `prorate` false, the allowance per SIM. */
export const RatePlanPricesInput = Type.Object(
  {
    monthlyFee: Price("Per SIM and month while the SIM is active, e.g. \"2.50\"."),
    suspendedFee: Type.Optional(Price("Per SIM and month while the SIM is suspended.")),
    prorate: Type.Optional(Type.Boolean({ description: "Fees by the SIM's days in the month (true) or a whole month for any day (false)." })),
    includedBytes: Type.Optional(ByteCountInput),
    dataAllowance: Type.Optional(DataAllowance),
    overagePerMb: Type.Optional(Price("Per MB (1,000,000 bytes) beyond the included data.")),
    smsMoPrice: Type.Optional(Price("Per SMS sent by the device.")),
    smsMtPrice: Type.Optional(Price("Per SMS received by the device.")),
    activationFee: Type.Optional(Price("Once per SIM, in the month of its first activation.")),
  },
  { additionalProperties: false },
);
export type RatePlanPricesInput = Static<typeof RatePlanPricesInput>;

export const RatePlanVersionCreateBody = Type.Object(
  {
    effectiveFrom: Type.String({ format: "date", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description: "The first day of a month (UTC), this month or later: YYYY-MM-01." }),
    ...RatePlanPricesInput.properties,
  },
  { additionalProperties: false },
);
export type RatePlanVersionCreateBody = Static<typeof RatePlanVersionCreateBody>;

/** One price version, as every read shows it. */
export const RatePlanVersionView = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  effectiveFrom: Type.String({ format: "date" }),
  /** The next version's effectiveFrom (exclusive), or null while no later version exists. */
  effectiveUntil: Type.Union([Type.String({ format: "date" }), Type.Null()]),
  monthlyFee: Type.String(),
  suspendedFee: Type.String(),
  prorate: Type.Boolean(),
  includedBytes: ByteCount,
  dataAllowance: DataAllowance,
  overagePerMb: Type.String(),
  smsMoPrice: Type.String(),
  smsMtPrice: Type.String(),
  activationFee: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
});
export type RatePlanVersionView = Static<typeof RatePlanVersionView>;

export const RatePlanVersionListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type RatePlanVersionListQuery = Static<typeof RatePlanVersionListQuery>;

export const RatePlanVersionPage = Type.Object({ items: Type.Array(RatePlanVersionView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

const Name = Type.String({ minLength: 1, maxLength: 120, pattern: "^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$" });
const Description = Type.String({ maxLength: 500, pattern: "^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f]*$", description: "Line breaks allowed; no other control characters." });

export const RatePlanCreateBody = Type.Object(
  {
    code: Type.String({ minLength: 2, maxLength: 40, pattern: "^[A-Z0-9-]+$", description: "Stable handle, e.g. IOT-1GB-EU; unique." }),
    name: Name,
    description: Type.Optional(Description),
    currency: Type.String({ pattern: "^[A-Z]{3}$", description: "ISO 4217 code, upper case, e.g. EUR." }),
    prices: Type.Optional(RatePlanPricesInput),
  },
  { additionalProperties: false },
);
export type RatePlanCreateBody = Static<typeof RatePlanCreateBody>;

export const RatePlanPatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    // Null first: with the service's type coercion, a string branch first would turn null into "".
    description: Type.Optional(Type.Union([Type.Null(), Description])),
    status: Type.Optional(RatePlanStatus),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type RatePlanPatchBody = Static<typeof RatePlanPatchBody>;

export const RatePlanParams = Type.Object({ id: Type.String({ format: "uuid" }) });

export const RatePlanListQuery = Type.Object({ ...PageQuery, status: Type.Optional(RatePlanStatus) }, { additionalProperties: false });
export type RatePlanListQuery = Static<typeof RatePlanListQuery>;

export const RatePlanView = Type.Object({
  id: Type.String({ format: "uuid" }),
  code: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  currency: Type.String(),
  status: RatePlanStatus,
  /** The version in effect today (UTC), or null when none is. */
  prices: Type.Union([RatePlanVersionView, Type.Null()]),
  /** Versions that start after today, soonest first. */
  scheduledPrices: Type.Array(RatePlanVersionView),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type RatePlanView = Static<typeof RatePlanView>;

export const RatePlanPage = Type.Object({ items: Type.Array(RatePlanView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
