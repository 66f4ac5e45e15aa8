import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";

/** The rate plan catalogue. Prices arrive with billing (issue 6); a plan is a code, a name and a currency today. */
export const RatePlanStatus = Type.Enum(["active", "retired"]);

const Name = Type.String({ minLength: 1, maxLength: 120, pattern: "^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$" });
const Description = Type.String({ maxLength: 500, pattern: "^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f]*$", description: "Line breaks allowed; no other control characters." });

export const RatePlanCreateBody = Type.Object(
  {
    code: Type.String({ minLength: 2, maxLength: 40, pattern: "^[A-Z0-9-]+$", description: "Stable handle, e.g. IOT-1GB-EU; unique." }),
    name: Name,
    description: Type.Optional(Description),
    currency: Type.String({ pattern: "^[A-Z]{3}$", description: "ISO 4217 code, upper case, e.g. EUR." }),
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
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type RatePlanView = Static<typeof RatePlanView>;

export const RatePlanPage = Type.Object({ items: Type.Array(RatePlanView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
