import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";

const CountryCode = Type.String({ pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2, upper case." });

export const Address = Type.Object(
  {
    line1: Type.String({ minLength: 1, maxLength: 200 }),
    line2: Type.Optional(Type.String({ maxLength: 200 })),
    postalCode: Type.String({ minLength: 1, maxLength: 16 }),
    city: Type.String({ minLength: 1, maxLength: 100 }),
    region: Type.Optional(Type.String({ maxLength: 100 })),
    country: CountryCode,
  },
  { additionalProperties: false },
);

export const TenantSettings = Type.Object(
  {
    mfaRequired: Type.Boolean({ description: "Members must enrol TOTP MFA at their next login." }),
    connectivityRetentionDays: Type.Integer({ minimum: 90, maximum: 3650, description: "How long connectivity data (usage records, IMEI events) is kept, as the tenant instructs." }),
    enterpriseRetentionYears: Type.Integer({ minimum: 3, maximum: 10, description: "How long enterprise data is kept after the relationship ends." }),
    testUsageThresholdBytes: Type.Union([Type.Integer({ minimum: 0, maximum: 1099511627776 }), Type.Null()], {
      description: "A `ready` (test state) SIM turns `active` once its total usage exceeds this many bytes (0: at its first byte); null: never by itself.",
    }),
  },
  { additionalProperties: false },
);
export type TenantSettings = Static<typeof TenantSettings>;

export const DEFAULT_TENANT_SETTINGS: TenantSettings = {
  mfaRequired: false,
  connectivityRetentionDays: 400,
  enterpriseRetentionYears: 3,
  testUsageThresholdBytes: 1_048_576,
};

const Slug = Type.String({ minLength: 3, maxLength: 63, pattern: "^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", description: "Lower-case handle: letters, digits and inner dashes." });
const VatId = Type.String({ pattern: "^[A-Z]{2}[A-Za-z0-9+*.]{2,14}$", description: "VAT or tax id with its two-letter country prefix, e.g. DE123456789." });
const Email = Type.String({ maxLength: 254, format: "email" });

export const TenantCreateBody = Type.Object(
  {
    slug: Slug,
    legalName: Type.String({ minLength: 1, maxLength: 200 }),
    country: CountryCode,
    vatId: Type.Optional(VatId),
    billingAddress: Address,
    billingEmail: Type.Optional(Email),
    settings: Type.Optional(Type.Partial(TenantSettings)),
  },
  { additionalProperties: false },
);
export type TenantCreateBody = Static<typeof TenantCreateBody>;

export const TenantPatchBody = Type.Object(
  {
    legalName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    country: Type.Optional(CountryCode),
    vatId: Type.Optional(Type.Union([VatId, Type.Null()])),
    billingAddress: Type.Optional(Address),
    billingEmail: Type.Optional(Type.Union([Email, Type.Null()])),
    status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("suspended")], { description: "Closing is POST /v1/tenants/{id}/close." })),
    settings: Type.Optional(Type.Partial(TenantSettings)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type TenantPatchBody = Static<typeof TenantPatchBody>;

export const TenantCloseBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);

export const TenantParams = Type.Object({ id: Type.String({ format: "uuid" }) });

export const TenantListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("suspended"), Type.Literal("closed")])),
    kind: Type.Optional(Type.Union([Type.Literal("platform"), Type.Literal("customer")])),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Matches slug or legal name (case-insensitive)." })),
  },
  { additionalProperties: false },
);
export type TenantListQuery = Static<typeof TenantListQuery>;

export const TenantView = Type.Object({
  id: Type.String({ format: "uuid" }),
  kind: Type.Union([Type.Literal("platform"), Type.Literal("customer")]),
  slug: Type.String(),
  legalName: Type.String(),
  country: Type.String(),
  vatId: Type.Union([Type.String(), Type.Null()]),
  billingAddress: Address,
  billingEmail: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal("active"), Type.Literal("suspended"), Type.Literal("closed")]),
  settings: TenantSettings,
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
  closedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});
export type TenantView = Static<typeof TenantView>;

export const TenantPage = Type.Object({ items: Type.Array(TenantView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
