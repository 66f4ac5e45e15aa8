import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { SCOPES } from "../access/scopes.js";

export const ScopeSchema = Type.Enum(SCOPES, { description: "A permission a key carries; see the ApiKeyScope schema in openapi.yaml." });

export const ApiKeyCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$", description: "What the key is for, e.g. the client's name." }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
    expiresAt: Type.Optional(Type.String({ format: "date-time", description: "When the key stops working; must be in the future. Omitted: it works until revoked." })),
  },
  { additionalProperties: false },
);
export type ApiKeyCreateBody = Static<typeof ApiKeyCreateBody>;

export const ApiKeyParams = Type.Object({ id: Type.String({ format: "uuid" }) });

export const ApiKeyStatus = Type.Union([Type.Literal("active"), Type.Literal("expired"), Type.Literal("revoked")]);
export type ApiKeyStatus = Static<typeof ApiKeyStatus>;

export const ApiKeyListQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(ApiKeyStatus) },
  { additionalProperties: false },
);
export type ApiKeyListQuery = Static<typeof ApiKeyListQuery>;

const NullableTime = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);

/** What lists and reads show: never the key, never its hash. */
export const ApiKeyView = Type.Object({
  id: Type.String({ format: "uuid" }),
  name: Type.String(),
  prefix: Type.String({ description: "The first 16 characters of the key, to tell keys apart." }),
  scopes: Type.Array(ScopeSchema),
  status: ApiKeyStatus,
  createdAt: Type.String({ format: "date-time" }),
  expiresAt: NullableTime,
  lastUsedAt: NullableTime,
  lastUsedIp: Type.Union([Type.String(), Type.Null()]),
  revokedAt: NullableTime,
  createdBy: Type.Union([
    Type.Object({ id: Type.String({ format: "uuid" }), email: Type.String(), name: Type.String() }),
    Type.Null(),
  ]),
});
export type ApiKeyView = Static<typeof ApiKeyView>;

/** The answer to creation: the view plus the key itself, this one time. */
export const ApiKeyCreated = Type.Object({
  ...ApiKeyView.properties,
  key: Type.String({ description: "The API key. Shown once: store it now; it cannot be retrieved again." }),
});
export type ApiKeyCreated = Static<typeof ApiKeyCreated>;

export const ApiKeyPage = Type.Object({ items: Type.Array(ApiKeyView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
