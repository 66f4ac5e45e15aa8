import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";

export const OutboxQuery = Type.Object(
  {
    ...PageQuery,
    to: Type.Optional(Type.String({ minLength: 3, maxLength: 254, format: "email", description: "Only mail to this address." })),
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Only mail about this tenant." })),
  },
  { additionalProperties: false },
);
export type OutboxQuery = Static<typeof OutboxQuery>;

export const OutboxView = Type.Object({
  id: Type.String({ format: "uuid" }),
  tenantId: Type.Union([Type.String({ format: "uuid" }), Type.Null()]),
  to: Type.String(),
  subject: Type.String(),
  text: Type.String({ description: "The full text when kept in the outbox; for mail sent over SMTP, the text without its single-use links." }),
  transport: Type.Union([Type.Literal("smtp"), Type.Literal("outbox")]),
  createdAt: Type.String({ format: "date-time" }),
  sentAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});
export type OutboxView = Static<typeof OutboxView>;

export const OutboxPage = Type.Object({ items: Type.Array(OutboxView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
