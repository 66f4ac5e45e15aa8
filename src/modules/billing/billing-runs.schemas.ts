import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { PeriodKey } from "../invoices/invoices.schemas.js";

export const BillingRunStatus = Type.Enum(["queued", "running", "completed", "failed"]);

export const BillingRunCreateBody = Type.Object(
  {
    period: PeriodKey,
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Bill this customer tenant only; omitted: every customer tenant." })),
  },
  { additionalProperties: false },
);
export type BillingRunCreateBody = Static<typeof BillingRunCreateBody>;

export const BillingRunParams = Type.Object({ id: Type.String({ format: "uuid" }) }, { additionalProperties: false });

export const BillingRunListQuery = Type.Object(
  { ...PageQuery, period: Type.Optional(PeriodKey), status: Type.Optional(BillingRunStatus) },
  { additionalProperties: false },
);
export type BillingRunListQuery = Static<typeof BillingRunListQuery>;

const NullableTime = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);
const Count = Type.Integer({ minimum: 0 });

export const BillingRunView = Type.Object({
  id: Type.String({ format: "uuid" }),
  period: PeriodKey,
  /** null: every customer tenant. */
  tenantId: Type.Union([Type.String({ format: "uuid" }), Type.Null()]),
  status: BillingRunStatus,
  trigger: Type.Enum(["schedule", "manual"]),
  counts: Type.Object({
    tenantsTotal: Count,
    tenantsDone: Count,
    invoicesCreated: Count,
    tenantsSkipped: Count,
    tenantsFailed: Count,
  }),
  error: Type.Union([Type.String(), Type.Null()]),
  createdBy: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  createdAt: Type.String({ format: "date-time" }),
  startedAt: NullableTime,
  finishedAt: NullableTime,
});
export type BillingRunView = Static<typeof BillingRunView>;

export const BillingRunTenantFailure = Type.Object({
  tenantId: Type.String({ format: "uuid" }),
  tenantName: Type.String(),
  /** "<code>: <message>", e.g. "rate_plan_unpriced: Rate plan IOT-1GB has no price in effect on 2026-11-01." */
  error: Type.String(),
});

export const BillingRunDetail = Type.Object({
  ...BillingRunView.properties,
  /** Tenants of the run by state. */
  tenants: Type.Object({ pending: Count, invoiced: Count, skipped: Count, failed: Count }),
  failures: Type.Array(BillingRunTenantFailure),
});
export type BillingRunDetail = Static<typeof BillingRunDetail>;

export const BillingRunPage = Type.Object({ items: Type.Array(BillingRunView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export type BillingRunPage = Static<typeof BillingRunPage>;
