import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { Email, Role } from "../identity/identity.schemas.js";

const InvitationStatus = Type.Union([Type.Literal("pending"), Type.Literal("accepted"), Type.Literal("revoked"), Type.Literal("expired")]);
export type InvitationStatus = Static<typeof InvitationStatus>;

export const InvitationCreateBody = Type.Object(
  {
    email: Email,
    role: Role,
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "The tenant to join; default the caller's. Platform owners and admins name a customer tenant to invite its first members." })),
  },
  { additionalProperties: false },
);
export type InvitationCreateBody = Static<typeof InvitationCreateBody>;

/** Never the token: it exists only in the mail. */
export const InvitationView = Type.Object({
  id: Type.String({ format: "uuid" }),
  tenantId: Type.String({ format: "uuid" }),
  email: Type.String(),
  role: Role,
  status: InvitationStatus,
  invitedBy: Type.Union([Type.Object({ id: Type.String({ format: "uuid" }), name: Type.String() }), Type.Null()]),
  createdAt: Type.String({ format: "date-time" }),
  expiresAt: Type.String({ format: "date-time" }),
  acceptedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});
export type InvitationView = Static<typeof InvitationView>;

export const InvitationPage = Type.Object({ items: Type.Array(InvitationView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const InvitationListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(InvitationStatus),
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Default the caller's tenant; platform staff may name a customer tenant." })),
  },
  { additionalProperties: false },
);
export type InvitationListQuery = Static<typeof InvitationListQuery>;

export const InvitationParams = Type.Object({ id: Type.String({ format: "uuid" }) });

export const InvitationAcceptBody = Type.Object(
  {
    token: Type.String({ pattern: "^[A-Za-z0-9_-]{43}$", description: "The `token` of the invitation link's fragment." }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Required when the invitation creates the account." })),
    password: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: "A new account's password (12-1024 characters, not a commonly used one); for an existing account, its current password.",
    }),
  },
  { additionalProperties: false },
);
export type InvitationAcceptBody = Static<typeof InvitationAcceptBody>;
