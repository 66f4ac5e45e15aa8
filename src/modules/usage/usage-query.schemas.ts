import { Type, type Static } from "typebox";
import { Iccid, Label } from "../sims/sims.schemas.js";

/** The usage API's shapes (openapi.yaml mirrors them under `# -- schemas: usage-query`). */

export const GRANULARITIES = ["hour", "day", "month"] as const;
export type Granularity = (typeof GRANULARITIES)[number];
export const GROUP_BYS = ["none", "sim", "label", "ratePlan", "network"] as const;
export type GroupBy = (typeof GROUP_BYS)[number];
export const FORMATS = ["json", "csv"] as const;

const Instant = (description: string) => Type.String({ format: "date-time", maxLength: 40, description });

const RangeQuery = {
  from: Type.Optional(Instant("Start of the range (inclusive), ISO 8601; rounded down to the granularity's UTC boundary. Default: the start of the UTC month of the range's last instant (the month to date when `to` is omitted too).")),
  to: Type.Optional(Instant("End of the range (exclusive), ISO 8601; rounded up to the granularity's UTC boundary. Default: now.")),
  granularity: Type.Enum(GRANULARITIES, { default: "day", description: "Bucket size: UTC hours, days or months." }),
  format: Type.Optional(Type.Enum(FORMATS, { description: "`csv`: the same answer as a streamed CSV file (as `Accept: text/csv`). Overrides `Accept`." })),
};

export const SimUsageParams = Type.Object({ iccid: Iccid });

export const SimUsageQuery = Type.Object(RangeQuery, { additionalProperties: false });
export type SimUsageQuery = Static<typeof SimUsageQuery>;

export const UsageQuery = Type.Object(
  {
    ...RangeQuery,
    groupBy: Type.Enum(GROUP_BYS, { default: "none", description: "One series for the selection, or one per SIM, label, rate plan or network." }),
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "Only the N groups with the most bytes over the range, most first (needs `groupBy`)." })),
    iccid: Type.Optional(Iccid),
    label: Type.Optional(Label),
    ratePlanId: Type.Optional(Type.String({ format: "uuid" })),
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: the tenant whose usage to read (default: their own)." })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: "Groups per page (default 50)." })),
    cursor: Type.Optional(Type.String({ maxLength: 200, pattern: "^[A-Za-z0-9_-]+$", description: "`nextCursor` of the previous page." })),
  },
  { additionalProperties: false },
);
export type UsageQuery = Static<typeof UsageQuery>;

/** A byte count: a JSON number while exact (<= 2^53 - 1), else a string of digits. */
const ByteCount = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: "^[0-9]+$" })]);

const Counters = {
  bytesUp: ByteCount,
  bytesDown: ByteCount,
  bytes: ByteCount,
  smsMo: Type.Integer({ minimum: 0 }),
  smsMt: Type.Integer({ minimum: 0 }),
  records: Type.Integer({ minimum: 0 }),
};

export const UsageTotals = Type.Object(Counters);
export type UsageTotals = Static<typeof UsageTotals>;

export const UsageBucket = Type.Object({ start: Type.String({ format: "date-time" }), ...Counters });
export type UsageBucket = Static<typeof UsageBucket>;

export const UsageCompleteness = Type.Object({
  rolledUpThrough: Type.String({ format: "date-time" }),
  finalThrough: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});
export type UsageCompleteness = Static<typeof UsageCompleteness>;

export const SimUsage = Type.Object({
  iccid: Type.String(),
  from: Type.String({ format: "date-time" }),
  to: Type.String({ format: "date-time" }),
  granularity: Type.Enum(GRANULARITIES),
  series: Type.Array(UsageBucket),
  totals: UsageTotals,
  completeness: UsageCompleteness,
});
export type SimUsage = Static<typeof SimUsage>;

export const UsageGroup = Type.Object({
  key: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  totals: UsageTotals,
  series: Type.Array(UsageBucket),
});
export type UsageGroup = Static<typeof UsageGroup>;

export const FleetUsage = Type.Object({
  tenantId: Type.String({ format: "uuid" }),
  from: Type.String({ format: "date-time" }),
  to: Type.String({ format: "date-time" }),
  granularity: Type.Enum(GRANULARITIES),
  groupBy: Type.Enum(GROUP_BYS),
  totals: UsageTotals,
  series: Type.Union([Type.Array(UsageBucket), Type.Null()]),
  groups: Type.Union([Type.Array(UsageGroup), Type.Null()]),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  completeness: UsageCompleteness,
});
export type FleetUsage = Static<typeof FleetUsage>;
