import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";

/**
 * The invoice API's shapes (openapi.yaml mirrors them under `# -- schemas: invoices`). Amounts are decimal
 * strings in the currency's minor-unit places ("1234.50" EUR, "1200" JPY); prices and quantities are exact
 * decimals with up to 6 places. Credit notes carry negative amounts.
 */

export const Amount = Type.String({ pattern: "^-?[0-9]+(\\.[0-9]+)?$", description: "Decimal string in the currency's minor-unit places, e.g. \"1234.50\"." });
export const ExactDecimal = Type.String({ pattern: "^-?[0-9]+(\\.[0-9]+)?$", description: "Exact decimal, up to 6 places." });
export const PeriodKey = Type.String({ pattern: "^[0-9]{4}-(0[1-9]|1[0-2])$", description: "A billing period: a calendar month in UTC, \"YYYY-MM\"." });
const DateOnly = Type.String({ format: "date" });
const NullableDate = Type.Union([Type.String({ format: "date" }), Type.Null()]);
const NullableDateTime = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const InvoiceKind = Type.Enum(["invoice", "credit_note"]);
export const InvoiceStatus = Type.Enum(["draft", "issued", "paid", "void"]);
export const VatTreatment = Type.Enum(["standard", "reverse_charge", "outside_scope"]);

export const PartyAddress = Type.Object({
  line1: Type.String(),
  line2: Type.Optional(Type.String()),
  postalCode: Type.String(),
  city: Type.String(),
  region: Type.Optional(Type.String()),
  country: Type.String(),
});

/** Where to pay by bank transfer (the supplier's, as snapshotted). */
export const BankDetails = Type.Object({
  iban: Type.String(),
  bic: Type.Optional(Type.String()),
  bankName: Type.Optional(Type.String()),
});

/** Supplier or customer as printed on the invoice (a snapshot taken when the draft was made). */
export const InvoicePartyView = Type.Object({
  legalName: Type.String(),
  address: PartyAddress,
  country: Type.String(),
  vatId: NullableString,
  email: NullableString,
  /** The supplier's bank account printed for payment; absent on the customer and when none was configured. */
  bankDetails: Type.Optional(BankDetails),
});

export const InvoiceLineView = Type.Object({
  position: Type.Integer({ minimum: 1 }),
  kind: Type.Enum(["monthly_fee", "suspended_fee", "activation_fee", "data_overage", "sms_mo", "sms_mt", "late_usage", "credit"]),
  description: Type.String(),
  ratePlanId: Type.Union([Type.String({ format: "uuid" }), Type.Null()]),
  ratePlanVersion: Type.Union([Type.Integer(), Type.Null()]),
  quantity: ExactDecimal,
  unit: Type.String(),
  unitPrice: ExactDecimal,
  /** quantity x unitPrice, rounded half-up to the minor unit. */
  net: Amount,
  /** Percent, e.g. "19.00". */
  vatRate: Type.String({ pattern: "^[0-9]{1,2}\\.[0-9]{2}$" }),
  /** A late-usage line: the earlier period whose usage it bills. */
  adjustsPeriod: Type.Union([PeriodKey, Type.Null()]),
});
export type InvoiceLineView = Static<typeof InvoiceLineView>;

export const VatBreakdownEntry = Type.Object({ rate: Type.String(), net: Amount, vat: Amount });

export const InvoiceTotals = Type.Object({
  net: Amount,
  vat: Amount,
  total: Amount,
  /** Payments received. */
  paid: Amount,
  /** Credited by credit notes (negative or "0.00"). */
  credited: Amount,
  /** total + credited - paid; 0 or less means settled. */
  outstanding: Amount,
});

const InvoiceCommon = {
  id: Type.String({ format: "uuid" }),
  tenantId: Type.String({ format: "uuid" }),
  kind: InvoiceKind,
  status: InvoiceStatus,
  /** Assigned when issued, e.g. "INV-2026-000042"; null for drafts. */
  number: NullableString,
  period: PeriodKey,
  /** First and last day (inclusive) of the supply period. */
  supplyFrom: DateOnly,
  supplyTo: DateOnly,
  currency: Type.String({ pattern: "^[A-Z]{3}$" }),
  issueDate: NullableDate,
  dueDate: NullableDate,
  customerName: Type.String(),
  vatTreatment: VatTreatment,
  totals: InvoiceTotals,
  /** For a credit note: the invoice it corrects. */
  creditedInvoiceId: Type.Union([Type.String({ format: "uuid" }), Type.Null()]),
  createdAt: Type.String({ format: "date-time" }),
  issuedAt: NullableDateTime,
  paidAt: NullableDateTime,
  voidedAt: NullableDateTime,
};

/** An invoice in a list (no lines). */
export const InvoiceSummary = Type.Object(InvoiceCommon);
export type InvoiceSummary = Static<typeof InvoiceSummary>;

/** One invoice or credit note, whole. */
export const InvoiceView = Type.Object({
  ...InvoiceCommon,
  supplier: InvoicePartyView,
  customer: InvoicePartyView,
  vatNote: NullableString,
  vatBreakdown: Type.Array(VatBreakdownEntry),
  lines: Type.Array(InvoiceLineView),
  reason: NullableString,
  voidReason: NullableString,
  billingRunId: Type.Union([Type.String({ format: "uuid" }), Type.Null()]),
  /** For a credit note: the number of the invoice it corrects (printed on it); null otherwise. */
  creditedInvoiceNumber: NullableString,
  /** Credit notes issued against this invoice. */
  creditNotes: Type.Array(Type.Object({ id: Type.String({ format: "uuid" }), number: NullableString, total: Amount })),
  links: Type.Object({ pdf: Type.String(), csv: Type.String() }),
});
export type InvoiceView = Static<typeof InvoiceView>;

export const InvoiceParams = Type.Object({ id: Type.String({ format: "uuid" }) }, { additionalProperties: false });

export const InvoiceListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(Type.Array(InvoiceStatus, { maxItems: 4, description: "Repeatable: documents in any of these states (customers never see drafts)." })),
    kind: Type.Optional(InvoiceKind),
    period: Type.Optional(PeriodKey),
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: one customer's invoices." })),
  },
  { additionalProperties: false },
);
export type InvoiceListQuery = Static<typeof InvoiceListQuery>;

export const InvoicePage = Type.Object({ items: Type.Array(InvoiceSummary), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export type InvoicePage = Static<typeof InvoicePage>;
