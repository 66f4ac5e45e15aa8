import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { PartyAddress } from "../invoices/invoices.schemas.js";
import { Address } from "../tenants/tenants.schemas.js";

/**
 * A customer's billing details (the tenant's invoice address, billing email and VAT id) and billing contacts
 * (openapi.yaml mirrors them under `# -- schemas: billing-profile`).
 */

const Uuid = Type.String({ format: "uuid" });
const Email = Type.String({ minLength: 3, maxLength: 254, format: "email" });
/**
 * Checked loosely after spaces, dots and dashes are removed and letters upper-cased: a two-letter country prefix
 * and 2-13 letters or digits (EU VAT ids are at most 12 after the prefix; Switzerland's CHE ids are longer).
 */
export const VatIdInput = Type.String({ minLength: 4, maxLength: 32, pattern: "^[A-Za-z]{2}[A-Za-z0-9 .-]+$", description: "VAT id with its two-letter country prefix, e.g. DE811907980. Spaces, dots and dashes are ignored." });
export const VAT_ID = /^[A-Z]{2}[A-Z0-9]{2,13}$/;

export const TenantQuery = Type.Object(
  { tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: the customer tenant (required for them). Customers: their own tenant only." })) },
  { additionalProperties: false },
);
export type TenantQuery = Static<typeof TenantQuery>;

export const BillingContactView = Type.Object({
  id: Uuid,
  tenantId: Uuid,
  name: Type.String(),
  email: Type.String(),
  phone: Type.Union([Type.String(), Type.Null()]),
  receivesInvoices: Type.Boolean(),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type BillingContactView = Static<typeof BillingContactView>;

export const BillingProfileView = Type.Object({
  tenantId: Uuid,
  legalName: Type.String(),
  country: Type.String(),
  vatId: Type.Union([Type.String(), Type.Null()]),
  billingAddress: PartyAddress,
  billingEmail: Type.Union([Type.String(), Type.Null()]),
  contacts: Type.Array(BillingContactView),
  updatedAt: Type.String({ format: "date-time" }),
});
export type BillingProfileView = Static<typeof BillingProfileView>;

export const BillingProfilePatchBody = Type.Object(
  {
    billingAddress: Type.Optional(Address),
    billingEmail: Type.Optional(Type.Union([Email, Type.Null()])),
    vatId: Type.Optional(Type.Union([VatIdInput, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type BillingProfilePatchBody = Static<typeof BillingProfilePatchBody>;

const Name = Type.String({ minLength: 1, maxLength: 120, pattern: "^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$" });
const Phone = Type.String({ minLength: 3, maxLength: 32, pattern: "^\\+?[0-9][0-9 ()./-]*$", description: "Digits with an optional leading + and spaces, dots, dashes, slashes or parentheses." });

export const BillingContactCreateBody = Type.Object(
  {
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: the customer tenant (required for them)." })),
    name: Name,
    email: Email,
    phone: Type.Optional(Type.Union([Phone, Type.Null()])),
    receivesInvoices: Type.Optional(Type.Boolean({ default: true, description: "Gets the invoice.issued mail." })),
  },
  { additionalProperties: false },
);
export type BillingContactCreateBody = Static<typeof BillingContactCreateBody>;

export const BillingContactPatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Email),
    phone: Type.Optional(Type.Union([Phone, Type.Null()])),
    receivesInvoices: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type BillingContactPatchBody = Static<typeof BillingContactPatchBody>;

export const BillingContactParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const BillingContactListQuery = Type.Object({ ...PageQuery, ...TenantQuery.properties }, { additionalProperties: false });
export type BillingContactListQuery = Static<typeof BillingContactListQuery>;

export const BillingContactPage = Type.Object({ items: Type.Array(BillingContactView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
