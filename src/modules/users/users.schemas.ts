import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { Role } from "../identity/identity.schemas.js";

const UserStatus = Type.Union([Type.Literal("active"), Type.Literal("disabled")]);

/** A member of the caller's tenant: never the password hash, MFA secret or sessions. */
export const UserView = Type.Object({
  id: Type.String({ format: "uuid" }),
  email: Type.String(),
  name: Type.String(),
  role: Role,
  status: UserStatus,
  mfaEnabled: Type.Boolean(),
  lastLoginAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  createdAt: Type.String({ format: "date-time", description: "When they joined this tenant." }),
});
export type UserView = Static<typeof UserView>;

export const UserPage = Type.Object({ items: Type.Array(UserView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const UserListQuery = Type.Object(
  { ...PageQuery, role: Type.Optional(Role), status: Type.Optional(UserStatus) },
  { additionalProperties: false },
);
export type UserListQuery = Static<typeof UserListQuery>;

export const UserParams = Type.Object({ id: Type.String({ format: "uuid" }) });

export const UserPatchBody = Type.Object(
  {
    role: Type.Optional(Role),
    status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("disabled")], { description: "`disabled` ends every session of the account at once and refuses sign-in." })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserPatchBody = Static<typeof UserPatchBody>;
