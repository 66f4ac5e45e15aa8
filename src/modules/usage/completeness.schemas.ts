import { Type, type Static } from "typebox";

/** How far ahead of the server's clock a declaration may be (clock skew between the feed and us). */
export const MAX_FUTURE_MINUTES = 5;

export const CompletenessBody = Type.Object(
  {
    completeThrough: Type.String({
      format: "date-time",
      maxLength: 40,
      description: `Every usage record that started before this instant has been delivered. Moves forward only; at most ${MAX_FUTURE_MINUTES} minutes ahead of now.`,
    }),
  },
  { additionalProperties: false },
);
export type CompletenessBody = Static<typeof CompletenessBody>;

export const CompletenessQuery = Type.Object(
  { tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: a customer tenant's completeness. Default: the caller's tenant." })) },
  { additionalProperties: false },
);
export type CompletenessQuery = Static<typeof CompletenessQuery>;

const Time = Type.String({ format: "date-time" });

export const CompletenessDeclarationView = Type.Object({
  /** `platform`: the operator's mediation feed (every tenant); `tenant`: the tenant's own feed. */
  scope: Type.Enum(["platform", "tenant"] as const),
  completeThrough: Time,
  declaredAt: Time,
});
export type CompletenessDeclarationView = Static<typeof CompletenessDeclarationView>;

export const CompletenessView = Type.Object({
  tenantId: Type.String({ format: "uuid" }),
  rolledUpThrough: Time,
  finalThrough: Type.Union([Time, Type.Null()]),
  declarations: Type.Array(CompletenessDeclarationView),
});
export type CompletenessView = Static<typeof CompletenessView>;
