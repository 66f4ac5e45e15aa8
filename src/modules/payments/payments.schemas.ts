import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";
import { Amount, InvoiceStatus } from "../invoices/invoices.schemas.js";

/**
 * The payments API's shapes (openapi.yaml mirrors them under `# -- schemas: payments`). Amounts are decimal
 * strings in the currency's minor-unit places ("1234.50" EUR, "1200" JPY): never floats.
 */

export const PAYMENT_METHODS = ["bank_transfer", "card", "direct_debit", "other"] as const;
export const PaymentMethod = Type.Enum(PAYMENT_METHODS);

const Uuid = Type.String({ format: "uuid" });
const Currency = Type.String({ pattern: "^[A-Z]{3}$", description: "ISO 4217, the invoice's currency." });
/** A printable reference (no control characters), as banks put on statements. */
export const Reference = Type.String({ minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f\\u007f]+$", description: "The bank's or card processor's reference; unique per tenant." });
const Note = Type.String({ maxLength: 500, pattern: "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$" });

export const PaymentCreateBody = Type.Object(
  {
    invoiceId: Type.Optional(Uuid),
    invoiceNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: "e.g. INV-2026-000042" })),
    amount: Type.String({ minLength: 1, maxLength: 24, pattern: "^[0-9]+(\\.[0-9]+)?$", description: "Decimal string with at most the currency's minor-unit places, greater than 0." }),
    currency: Currency,
    receivedOn: Type.String({ format: "date", description: "The day the money arrived (not in the future)." }),
    method: Type.Optional(Type.Enum(PAYMENT_METHODS, { default: "bank_transfer" })),
    reference: Reference,
    note: Type.Optional(Note),
  },
  { additionalProperties: false },
);
export type PaymentCreateBody = Static<typeof PaymentCreateBody>;

export const PaymentView = Type.Object({
  id: Uuid,
  tenantId: Uuid,
  invoiceId: Uuid,
  invoiceNumber: Type.Union([Type.String(), Type.Null()]),
  amount: Amount,
  currency: Type.String(),
  receivedOn: Type.String({ format: "date" }),
  method: PaymentMethod,
  reference: Type.String(),
  source: Type.Enum(["manual", "csv_import"]),
  importId: Type.Union([Uuid, Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: "date-time" }),
});
export type PaymentView = Static<typeof PaymentView>;

/** The invoice after a payment: what settlement made of it. */
export const InvoiceSettlementView = Type.Object({
  id: Uuid,
  number: Type.Union([Type.String(), Type.Null()]),
  status: InvoiceStatus,
  total: Amount,
  paid: Amount,
  credited: Amount,
  outstanding: Amount,
  paidAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});
export type InvoiceSettlementView = Static<typeof InvoiceSettlementView>;

export const PaymentRecorded = Type.Object({ ...PaymentView.properties, invoice: InvoiceSettlementView });
export type PaymentRecorded = Static<typeof PaymentRecorded>;

export const PaymentParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const PaymentListQuery = Type.Object(
  {
    ...PageQuery,
    tenantId: Type.Optional(Type.String({ format: "uuid", description: "Platform staff: one tenant's payments. Customers see only their own." })),
    invoiceId: Type.Optional(Type.String({ format: "uuid", description: "Only the payments of this invoice." })),
  },
  { additionalProperties: false },
);
export type PaymentListQuery = Static<typeof PaymentListQuery>;

export const PaymentPage = Type.Object({ items: Type.Array(PaymentView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const PaymentImportQuery = Type.Object(
  { atomic: Type.Boolean({ default: false, description: "true: any rejected row records nothing (422 `import_rejected`)." }) },
  { additionalProperties: false },
);

/** The CSV body: the text itself (the route's parser hands it over as a string). */
export const PaymentImportCsvBody = Type.String({ minLength: 1 });

export const IMPORT_ROW_CODES = [
  "malformed",
  "missing_field",
  "invalid_amount",
  "invalid_currency",
  "invalid_date",
  "invalid_method",
  "invalid_reference",
  "invalid_note",
  "invoice_not_found",
  "currency_mismatch",
  "invoice_not_payable",
  "exceeds_outstanding",
  "duplicate_reference",
] as const;
export type ImportRowCode = (typeof IMPORT_ROW_CODES)[number];

export const PaymentImportRowView = Type.Object({
  line: Type.Integer({ minimum: 2, description: "The CSV line (the header is line 1)." }),
  reference: Type.Union([Type.String(), Type.Null()]),
  invoiceNumber: Type.Union([Type.String(), Type.Null()]),
  status: Type.Enum(["recorded", "duplicate", "rejected"]),
  code: Type.Union([Type.Enum(IMPORT_ROW_CODES), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  paymentId: Type.Union([Uuid, Type.Null()]),
});
export type PaymentImportRowView = Static<typeof PaymentImportRowView>;

export const PaymentImportResult = Type.Object({
  importId: Type.Union([Uuid, Type.Null()]),
  received: Type.Integer({ minimum: 0 }),
  recorded: Type.Integer({ minimum: 0 }),
  duplicates: Type.Integer({ minimum: 0 }),
  rejected: Type.Integer({ minimum: 0 }),
  rows: Type.Array(PaymentImportRowView),
});
export type PaymentImportResult = Static<typeof PaymentImportResult>;
