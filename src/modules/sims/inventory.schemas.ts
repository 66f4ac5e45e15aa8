import { Type, type Static } from "typebox";
import { MAX_IMPORT_ROWS } from "./import-rows.js";
import { FormFactor, Iccid } from "./sims.schemas.js";

/**
 * Inventory (platform staff): importing the manufacturer's SIM files and allocating SIMs to customers.
 * An import row's fields are only bounded here (strings of sane length): what each must hold is checked per row
 * by the service, so one bad row is reported with its line instead of refusing the whole file.
 */
const Cell = Type.Union([Type.String({ maxLength: 64 }), Type.Null()]);

export const ImportRowInput = Type.Object(
  {
    iccid: Type.Optional(Cell),
    imsi: Type.Optional(Cell),
    msisdn: Type.Optional(Cell),
    eid: Type.Optional(Cell),
    formFactor: Type.Optional(Cell),
    pin: Type.Optional(Cell),
    puk: Type.Optional(Cell),
  },
  { additionalProperties: false },
);

export const ImportJsonBody = Type.Object({ sims: Type.Array(ImportRowInput, { minItems: 1, maxItems: MAX_IMPORT_ROWS }) }, { additionalProperties: false });
export type ImportJsonBody = Static<typeof ImportJsonBody>;
/** The CSV body: the text itself (the route's parser hands it over as a string). */
export const ImportCsvBody = Type.String({ minLength: 1 });

export const ImportQuery = Type.Object(
  { atomic: Type.Boolean({ default: false, description: "true: any bad row imports nothing (422)." }) },
  { additionalProperties: false },
);

/** At most this many row errors are listed; `rejected` still counts every bad row. */
export const MAX_LISTED_ERRORS = 10_000;

export const ImportRowErrorView = Type.Object({
  line: Type.Integer({ minimum: 1 }),
  field: Type.String(),
  reason: Type.String(),
  code: Type.Enum(["required", "invalid", "duplicate", "malformed"]),
});

export const ImportResult = Type.Object({
  received: Type.Integer({ minimum: 0 }),
  imported: Type.Integer({ minimum: 0 }),
  rejected: Type.Integer({ minimum: 0 }),
  errors: Type.Array(ImportRowErrorView),
  errorsTruncated: Type.Boolean(),
});
export type ImportResult = Static<typeof ImportResult>;

export const AllocateBody = Type.Object(
  {
    tenantId: Type.String({ format: "uuid" }),
    ratePlanId: Type.String({ format: "uuid" }),
    iccids: Type.Optional(Type.Array(Iccid, { minItems: 1, maxItems: MAX_IMPORT_ROWS })),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_IMPORT_ROWS })),
    formFactor: Type.Optional(FormFactor),
  },
  { additionalProperties: false },
);
export type AllocateBody = Static<typeof AllocateBody>;

/** How many ICCIDs an allocation's answer lists (all of them are allocated). */
export const MAX_LISTED_ICCIDS = 1000;

export const AllocationResult = Type.Object({
  allocated: Type.Integer({ minimum: 1 }),
  tenantId: Type.String({ format: "uuid" }),
  ratePlanId: Type.String({ format: "uuid" }),
  iccids: Type.Array(Type.String()),
});
export type AllocationResult = Static<typeof AllocationResult>;
