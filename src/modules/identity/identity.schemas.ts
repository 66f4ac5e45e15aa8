import { Type, type Static } from "typebox";

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254, format: "email" }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    tenant: Type.Optional(Type.String({ minLength: 3, maxLength: 63, pattern: "^[a-z0-9-]+$", description: "Slug of the tenant to act in, for accounts that belong to several." })),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

const Role = Type.Union([Type.Literal("owner"), Type.Literal("admin"), Type.Literal("operator"), Type.Literal("billing"), Type.Literal("viewer")]);

export const SessionView = Type.Object({
  user: Type.Object({ id: Type.String({ format: "uuid" }), email: Type.String(), name: Type.String() }),
  tenant: Type.Object({
    id: Type.String({ format: "uuid" }),
    slug: Type.String(),
    legalName: Type.String(),
    kind: Type.Union([Type.Literal("platform"), Type.Literal("customer")]),
  }),
  role: Role,
});
export type SessionView = Static<typeof SessionView>;

export const LoginResult = Type.Object({
  status: Type.Literal("authenticated"),
  csrfToken: Type.String({ description: "Send as the x-csrf-token header on every state-changing request made with the session cookie." }),
  expiresAt: Type.String({ format: "date-time" }),
  session: SessionView,
});
export type LoginResult = Static<typeof LoginResult>;

export const CsrfView = Type.Object({ csrfToken: Type.String() });
