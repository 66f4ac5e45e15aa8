import { Type, type Static } from "typebox";
import { VatIdInput } from "../billing-profile/billing-profile.schemas.js";
import { PartyAddress } from "../invoices/invoices.schemas.js";
import { Address } from "../tenants/tenants.schemas.js";

/**
 * The issuer's details and billing policy (openapi.yaml mirrors them under `# -- schemas: billing-profile`).
 * PUT replaces the whole settings: omitted policy fields take their defaults.
 */

const CountryCode = Type.String({ pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2, upper case." });
const Email = Type.String({ minLength: 3, maxLength: 254, format: "email" });
const Prefix = Type.String({ pattern: "^[A-Z]{2,6}$", description: "2-6 capital letters; numbers read <prefix>-<year>-<000042>." });
const Rate = Type.String({ pattern: "^[0-9]{1,2}\\.[0-9]{2}$", description: "Percent with two places, e.g. \"19.00\"." });
const VatRateOverrides = Type.Record(CountryCode, Rate, {
  maxProperties: 27,
  additionalProperties: false,
  description: "Standard VAT rates overriding the built-in ones, by EU member state: { \"DE\": \"19.00\" }.",
});

export const IssuerInput = Type.Object(
  {
    legalName: Type.String({ minLength: 1, maxLength: 200 }),
    address: Address,
    country: CountryCode,
    vatId: Type.Optional(Type.Union([VatIdInput, Type.Null()])),
    email: Type.Optional(Type.Union([Email, Type.Null()])),
  },
  { additionalProperties: false },
);

export const BankDetailsInput = Type.Object(
  {
    iban: Type.String({ minLength: 15, maxLength: 42, pattern: "^[A-Za-z]{2}[0-9]{2}[A-Za-z0-9 ]+$", description: "Spaces are ignored; checked with ISO 13616 mod-97." }),
    bic: Type.Optional(Type.Union([Type.String({ minLength: 8, maxLength: 11, pattern: "^[A-Za-z0-9]+$" }), Type.Null()])),
    bankName: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 120 }), Type.Null()])),
  },
  { additionalProperties: false },
);

export const BillingSettingsBody = Type.Object(
  {
    issuer: IssuerInput,
    bankDetails: Type.Optional(Type.Union([BankDetailsInput, Type.Null()])),
    paymentTermsDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 120, default: 30 })),
    invoicePrefix: Type.Optional({ ...Prefix, default: "INV" }),
    creditNotePrefix: Type.Optional({ ...Prefix, default: "CN" }),
    autoIssue: Type.Optional(Type.Boolean({ default: true, description: "Issue invoices as the run computes them (true) or leave drafts for review (false)." })),
    runDelayHours: Type.Optional(Type.Integer({ minimum: 0, maximum: 240, default: 24, description: "The scheduled run bills the month that ended this many hours ago." })),
    vatRateOverrides: Type.Optional(VatRateOverrides),
  },
  { additionalProperties: false },
);
export type BillingSettingsBody = Static<typeof BillingSettingsBody>;

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const BillingSettingsView = Type.Object({
  /** false: nothing saved yet; the issuer shown is the platform tenant's own record. */
  configured: Type.Boolean(),
  issuer: Type.Object({ legalName: Type.String(), address: PartyAddress, country: Type.String(), vatId: NullableString, email: NullableString }),
  bankDetails: Type.Union([Type.Object({ iban: Type.String(), bic: NullableString, bankName: NullableString }), Type.Null()]),
  paymentTermsDays: Type.Integer(),
  invoicePrefix: Type.String(),
  creditNotePrefix: Type.String(),
  autoIssue: Type.Boolean(),
  runDelayHours: Type.Integer(),
  vatRateOverrides: Type.Record(Type.String({ pattern: "^[A-Z]{2}$" }), Type.String()),
  updatedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  updatedBy: NullableString,
});
export type BillingSettingsView = Static<typeof BillingSettingsView>;
