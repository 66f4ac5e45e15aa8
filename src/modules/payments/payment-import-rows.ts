import type { PaymentMethod } from "../../generated/prisma/enums.js";
import { ValidationError } from "../../platform/errors.js";
import { readCsvTable } from "../sims/csv.js";
import { parsePaymentAmount, parseReceivedOn } from "./payment-rules.js";
import { PAYMENT_METHODS, type ImportRowCode } from "./payments.schemas.js";

/**
 * The rows of a bank statement CSV, checked one by one without the database: a row that cannot be a payment
 * (no reference, an amount with too many places, a day in the future...) is reported with its line, the others
 * go on to the invoice checks. A header or syntax problem refuses the whole file (400): no row can be trusted.
 */
export const IMPORT_COLUMNS = ["invoiceNumber", "amount", "currency", "receivedOn", "reference", "method", "note"] as const;
type Column = (typeof IMPORT_COLUMNS)[number];
const REQUIRED: readonly Column[] = ["invoiceNumber", "amount", "currency", "receivedOn", "reference"];
export const MAX_PAYMENT_ROWS = 10_000;

/** Header names match without case, spaces, dashes or underscores: "Invoice Number", "invoice_number". */
const ALIASES: Record<string, Column> = Object.fromEntries(IMPORT_COLUMNS.map((c) => [c.toLowerCase(), c]));
const columnOf = (h: string): Column | undefined => ALIASES[h.trim().toLowerCase().replace(/[\s_-]/g, "")];

const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/;

export interface ParsedRow {
  line: number;
  invoiceNumber: string | null;
  reference: string | null;
}

export interface GoodPaymentRow extends ParsedRow {
  invoiceNumber: string;
  reference: string;
  amountMinor: bigint;
  currency: string;
  receivedOn: Date;
  method: PaymentMethod;
  note: string | null;
}

export interface RejectedRow extends ParsedRow {
  code: ImportRowCode;
  reason: string;
}

export function paymentRowsFromCsv(text: string, now: Date = new Date()): Array<{ good: GoodPaymentRow } | { rejected: RejectedRow }> {
  const { header, data } = readCsvTable(text);
  const columns = header.fields.map(columnOf);
  const problems: string[] = [];
  header.fields.forEach((h, i) => {
    if (!columns[i]) problems.push(`unknown column "${h.trim().slice(0, 40)}" (allowed: ${IMPORT_COLUMNS.join(", ")})`);
  });
  const present = columns.filter((c): c is Column => c !== undefined);
  for (const dup of new Set(present.filter((c, i) => present.indexOf(c) !== i))) problems.push(`column ${dup} appears twice`);
  for (const c of REQUIRED) if (!present.includes(c)) problems.push(`the header row lacks the ${c} column`);
  if (problems.length) throw new ValidationError(`The CSV header row is not usable: ${problems.join("; ")}.`, problems.map((reason) => ({ field: "/body", reason })));

  // Rows whose cells are all blank (spreadsheets append ",,,,," lines) are not rows.
  const rows = data.filter((r) => r.fields.some((f) => f.trim() !== ""));
  if (rows.length > MAX_PAYMENT_ROWS) throw new ValidationError(`At most ${MAX_PAYMENT_ROWS} rows per import.`, [{ field: "/body", reason: `holds ${rows.length} rows, more than ${MAX_PAYMENT_ROWS}` }]);

  return rows.map((r) => {
    const cell = (c: Column): string | null => {
      const i = columns.indexOf(c);
      const v = i === -1 ? undefined : r.fields[i]?.trim();
      return v ? v : null;
    };
    const base: ParsedRow = { line: r.line, invoiceNumber: cell("invoiceNumber")?.slice(0, 32) ?? null, reference: cell("reference")?.slice(0, 100) ?? null };
    const reject = (code: ImportRowCode, reason: string) => ({ rejected: { ...base, code, reason } });
    if (r.fields.length !== columns.length) return reject("malformed", `the row has ${r.fields.length} fields, the header ${columns.length}`);
    const missing = REQUIRED.filter((c) => cell(c) === null);
    if (missing.length) return reject("missing_field", `${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} empty`);
    const reference = cell("reference")!;
    if (reference.length > 100 || !PRINTABLE.test(reference)) return reject("invalid_reference", "the reference must be at most 100 printable characters");
    const currency = cell("currency")!.toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) return reject("invalid_currency", "the currency must be an ISO 4217 code such as EUR");
    const amountMinor = parsePaymentAmount(cell("amount")!, currency);
    if (amountMinor === null) return reject("invalid_amount", `the amount must be greater than 0 with at most the ${currency} minor-unit places, e.g. 1234.50`);
    const receivedOn = parseReceivedOn(cell("receivedOn")!, now);
    if (receivedOn === null) return reject("invalid_date", "receivedOn must be a day (YYYY-MM-DD) not in the future");
    const method = (cell("method")?.toLowerCase() ?? "bank_transfer") as PaymentMethod;
    if (!PAYMENT_METHODS.includes(method)) return reject("invalid_method", `the method must be one of ${PAYMENT_METHODS.join(", ")}`);
    const note = cell("note");
    if (note !== null && note.length > 500) return reject("invalid_note", "the note must be at most 500 characters");
    return { good: { line: r.line, invoiceNumber: cell("invoiceNumber")!, reference, amountMinor, currency, receivedOn, method, note } };
  });
}
