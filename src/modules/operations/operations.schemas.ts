import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { Iccid, Label, OPERATION_ACTIONS, SIM_STATUSES, SimStatus as SimStatusSchema } from "../sims/sims.schemas.js";
import { MAX_LABELS_PER_SIM } from "./operation-decisions.js";
import { MAX_SELECTION } from "./operation-selection.js";

const Uuid = Type.String({ format: "uuid" });
const NullableTime = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

// SIM states, labels and ICCIDs are spelled as the SIM API spells them (src/modules/sims/sims.schemas.ts).
export const OperationActionSchema = Type.Enum(OPERATION_ACTIONS);
export const OperationStatusSchema = Type.Enum(["queued", "running", "completed", "failed"] as const);
export const ItemStateSchema = Type.Enum(["pending", "succeeded", "failed", "skipped"] as const);
const LabelMode = Type.Enum(["add", "remove", "replace"] as const);

/** Snake case, as every reason code in the product: "customer_request", "imei_mismatch", "data_limit". */
export const ReasonCode = Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z][a-z0-9_]*$", description: "Why, as a snake_case code written on each SIM's history." });
/** In a list: checked in full (digits, length, "89", Luhn) by the service, which names each bad one and why. */
const IccidInput = Type.String({ minLength: 1, maxLength: 32 });

/** The shape here; the Luhn check digit is checked by the service (400 naming the reason). */
export const SimIccidParams = Type.Object({ iccid: Iccid }, { additionalProperties: false });
export const OperationParamsSchema = Type.Object({ id: Uuid }, { additionalProperties: false });

export const LifecycleBody = Type.Object(
  { reasonCode: Type.Optional(ReasonCode) },
  { additionalProperties: false, description: "Optional: `reasonCode` defaults to `customer_request`." },
);
export type LifecycleBody = Static<typeof LifecycleBody>;

export const SimFilterSchema = Type.Object(
  {
    status: Type.Optional(
      Type.Union([SimStatusSchema, Type.Array(SimStatusSchema, { minItems: 1, maxItems: SIM_STATUSES.length })], { description: "A state, or several: SIMs in any of them." }),
    ),
    labels: Type.Optional(Type.Array(Label, { minItems: 1, maxItems: 20, description: "SIMs carrying every one of these labels." })),
    ratePlanId: Type.Optional(Uuid),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 20, pattern: "^[0-9]+$", description: "Digits: exact or prefix match on ICCID, IMSI, MSISDN, bound or last-seen IMEI (as GET /v1/sims)." })),
  },
  { additionalProperties: false },
);

export const BulkOperationBody = Type.Object(
  {
    action: OperationActionSchema,
    iccids: Type.Optional(Type.Array(IccidInput, { minItems: 1, maxItems: MAX_SELECTION })),
    filter: Type.Optional(SimFilterSchema),
    csv: Type.Optional(Type.String({ minLength: 1, maxLength: 3_000_000, description: "A column of ICCIDs, one per line, optionally under an `iccid` header." })),
    dryRun: Type.Optional(Type.Boolean({ default: false })),
    reasonCode: Type.Optional(ReasonCode),
    ratePlanId: Type.Optional(Uuid),
    labels: Type.Optional(Type.Array(Label, { maxItems: MAX_LABELS_PER_SIM })),
    mode: Type.Optional(LabelMode),
  },
  { additionalProperties: false },
);
export type BulkOperationBody = Static<typeof BulkOperationBody>;

export const OperationListQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(OperationStatusSchema), action: Type.Optional(OperationActionSchema) },
  { additionalProperties: false },
);
export type OperationListQuery = Static<typeof OperationListQuery>;

export const ItemListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: "Items per page." }),
    cursor: PageQuery.cursor,
    state: Type.Optional(ItemStateSchema),
  },
  { additionalProperties: false },
);
export type ItemListQuery = Static<typeof ItemListQuery>;

const Selection = Type.Object({
  kind: Type.Enum(["sim", "sims", "iccids", "csv", "filter"] as const),
  iccid: Type.Optional(Type.String()),
  count: Type.Optional(Type.Integer({ description: "ICCIDs or SIMs given (duplicates once)." })),
  unknown: Type.Optional(Type.Integer({ description: "Of those, ICCIDs that are none of the tenant's SIMs (failed items `unknown_iccid`)." })),
  filter: Type.Optional(SimFilterSchema),
});

const OperationParamsView = Type.Object({
  ratePlanId: Type.Optional(Uuid),
  labels: Type.Optional(Type.Array(Type.String())),
  mode: Type.Optional(LabelMode),
});

const OperationFields = {
  id: Uuid,
  action: OperationActionSchema,
  status: OperationStatusSchema,
  dryRun: Type.Boolean(),
  params: OperationParamsView,
  selection: Selection,
  reasonCode: Type.String(),
  total: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  skipped: Type.Integer(),
  pending: Type.Integer(),
  percent: Type.Integer({ minimum: 0, maximum: 100 }),
  error: NullableString,
  createdAt: Type.String({ format: "date-time" }),
  startedAt: NullableTime,
  completedAt: NullableTime,
  actor: Type.Object({ type: Type.Enum(["user", "api_key", "system"] as const), id: NullableString }),
};

export const OperationSummary = Type.Object(OperationFields);
export type OperationSummary = Static<typeof OperationSummary>;

export const OperationView = Type.Object({
  ...OperationFields,
  failures: Type.Array(Type.Object({ iccid: Type.String(), reason: Type.String() }), { description: "The first 100 failed items, in selection order." }),
});
export type OperationView = Static<typeof OperationView>;

export const OperationPage = Type.Object({ items: Type.Array(OperationSummary), nextCursor: NullableString });

export const OperationItemView = Type.Object({
  seq: Type.Integer(),
  iccid: Type.String(),
  state: ItemStateSchema,
  reason: NullableString,
  fromStatus: Type.Union([SimStatusSchema, Type.Null()]),
  toStatus: Type.Union([SimStatusSchema, Type.Null()]),
  processedAt: NullableTime,
});
export type OperationItemView = Static<typeof OperationItemView>;

export const OperationItemPage = Type.Object({ items: Type.Array(OperationItemView), nextCursor: NullableString });

export const DRY_RUN_SAMPLE = 1000;

export const DryRunResult = Type.Object({
  dryRun: Type.Literal(true),
  action: OperationActionSchema,
  total: Type.Integer(),
  wouldChange: Type.Integer(),
  wouldSkip: Type.Integer(),
  wouldFail: Type.Integer(),
  reasons: Type.Array(Type.Object({ outcome: Type.Enum(["skip", "fail"] as const), reason: Type.String(), count: Type.Integer() })),
  sample: Type.Array(
    Type.Object({
      iccid: Type.String(),
      outcome: Type.Enum(["change", "skip", "fail"] as const),
      reason: NullableString,
      status: Type.Union([SimStatusSchema, Type.Null()]),
    }),
    { maxItems: DRY_RUN_SAMPLE },
  ),
});
export type DryRunResult = Static<typeof DryRunResult>;
