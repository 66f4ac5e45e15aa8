import type { SimFormFactor } from "../../generated/prisma/enums.js";
import { ValidationError } from "../../platform/errors.js";
import { validateEid, validateIccid, validateImsi, validateMsisdn, type IdResult } from "../../platform/identifiers.js";
import { readCsvTable } from "./csv.js";
import { FORM_FACTORS } from "./sims.schemas.js";

/**
 * The rows of a SIM import, from CSV or JSON, checked one by one: each bad row is reported with its line, the
 * field and the reason, so the manufacturer's file can be fixed and sent again. Pure: no database here.
 */
export const IMPORT_FIELDS = ["iccid", "imsi", "msisdn", "eid", "formFactor", "pin", "puk"] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];
export const MAX_IMPORT_ROWS = 100_000;

/** One row as received: `line` is the CSV line (header = 1) or the JSON array index + 1. */
export interface RawRow {
  line: number;
  values: Partial<Record<ImportField, string | null>>;
  /** Set when the row cannot be read at all (a CSV row with the wrong number of fields). */
  malformed?: string;
}

export interface ImportRowError {
  line: number;
  /** The column, or `row` for a problem with the whole row (a wrong number of CSV fields). */
  field: ImportField | "row";
  reason: string;
  /** `required`, `invalid`, `duplicate` or `malformed`. */
  code: "required" | "invalid" | "duplicate" | "malformed";
}

/** A row that passed every check, normalised (MSISDN without "+", form factor lower case). */
export interface GoodRow {
  line: number;
  iccid: string;
  imsi: string;
  msisdn: string | null;
  eid: string | null;
  formFactor: SimFormFactor;
  pin: string | null;
  puk: string | null;
}

const PIN = /^[0-9]{4,8}$/;
const PUK = /^[0-9]{8}$/;

/** Header names are matched without case, spaces, dashes or underscores: "Form Factor", "form_factor", "ICCID". */
const HEADER_ALIASES: Record<string, ImportField> = Object.fromEntries(IMPORT_FIELDS.map((f) => [f.toLowerCase(), f]));
const canonicalHeader = (h: string) => HEADER_ALIASES[h.trim().toLowerCase().replace(/[\s_-]/g, "")];

/** CSV text to raw rows. Header problems and syntax errors refuse the whole file (400): no row can be trusted. */
export function rowsFromCsv(text: string): RawRow[] {
  const { header, data } = readCsvTable(text);
  const columns = header.fields.map((h) => canonicalHeader(h));
  const problems: string[] = [];
  header.fields.forEach((h, i) => {
    if (!columns[i]) problems.push(`unknown column "${h.trim().slice(0, 40)}" (allowed: ${IMPORT_FIELDS.join(", ")})`);
  });
  const present = columns.filter((c): c is ImportField => c !== undefined);
  for (const dup of present.filter((c, i) => present.indexOf(c) !== i)) problems.push(`column ${dup} appears twice`);
  for (const required of ["iccid", "imsi", "formFactor"] as const) if (!present.includes(required)) problems.push(`the header row lacks the ${required} column`);
  if (problems.length) throw new ValidationError(`The CSV header row (line ${header.line}) is not usable: ${problems.join("; ")}.`, problems.map((reason) => ({ field: "/body", reason })));

  // Rows whose cells are all blank (spreadsheets append ",,,,," lines) are not rows.
  const rows = data.filter((r) => r.fields.some((f) => f.trim() !== ""));
  if (rows.length > MAX_IMPORT_ROWS) throw new ValidationError(`At most ${MAX_IMPORT_ROWS} rows per import.`, [{ field: "/body", reason: `holds ${rows.length} rows, more than ${MAX_IMPORT_ROWS}` }]);
  return rows.map((r) => {
    if (r.fields.length !== columns.length) return { line: r.line, values: {}, malformed: `has ${r.fields.length} fields, the header ${columns.length}` };
    const values: RawRow["values"] = {};
    columns.forEach((c, i) => {
      if (c) values[c] = r.fields[i]!;
    });
    return { line: r.line, values };
  });
}

/** JSON rows (the schema has bounded their shape and size) to raw rows, numbered from 1. */
export function rowsFromJson(sims: ReadonlyArray<Partial<Record<ImportField, string | null>>>): RawRow[] {
  return sims.map((values, i) => ({ line: i + 1, values }));
}

function blankToNull(v: string | null | undefined): string | null {
  if (v === undefined || v === null) return null;
  const t = v.trim();
  return t === "" ? null : t;
}

/** Every check that needs only the row itself. */
function checkRow(row: RawRow, errors: ImportRowError[]): GoodRow | null {
  const { line } = row;
  if (row.malformed) {
    errors.push({ line, field: "row", reason: row.malformed, code: "malformed" });
    return null;
  }
  const v = Object.fromEntries(IMPORT_FIELDS.map((f) => [f, blankToNull(row.values[f])])) as Record<ImportField, string | null>;
  const before = errors.length;
  const fail = (field: ImportField, reason: string, code: ImportRowError["code"] = "invalid") => errors.push({ line, field, reason, code });
  const identifier = (field: ImportField, validate: (s: string) => IdResult, required: boolean): string | null => {
    const raw = v[field];
    if (raw === null) {
      if (required) fail(field, "is required", "required");
      return null;
    }
    const r = validate(raw);
    if (r.ok) return r.value;
    fail(field, r.reason);
    return null;
  };

  const iccid = identifier("iccid", validateIccid, true);
  const imsi = identifier("imsi", validateImsi, true);
  const msisdn = identifier("msisdn", validateMsisdn, false);
  const formFactorRaw = v.formFactor?.toLowerCase() ?? null;
  let formFactor: SimFormFactor | null = null;
  if (formFactorRaw === null) fail("formFactor", "is required", "required");
  else if (!(FORM_FACTORS as readonly string[]).includes(formFactorRaw)) fail("formFactor", `must be one of ${FORM_FACTORS.join(", ")}`);
  else formFactor = formFactorRaw as SimFormFactor;
  // An eSIM is an eUICC: without its EID no profile can be ordered for it. A plastic or MFF2 SIM may be an
  // eUICC too (M2M eUICCs often are), so an EID is accepted there, and checked, but not required.
  if (v.eid === null && formFactor === "esim") fail("eid", "is required for formFactor esim", "required");
  const eid = identifier("eid", validateEid, false);
  const pin = v.pin;
  if (pin !== null && !PIN.test(pin)) fail("pin", "PIN must be 4 to 8 digits");
  const puk = v.puk;
  if (puk !== null && !PUK.test(puk)) fail("puk", "PUK must be 8 digits");

  if (errors.length > before || !iccid || !imsi || !formFactor) return null;
  return { line, iccid, imsi, msisdn, eid, formFactor, pin, puk };
}

/**
 * Checks every row and the duplicates inside the file: a row whose ICCID, IMSI or MSISDN an earlier accepted
 * row already holds is rejected (`duplicate`, naming that line); only accepted rows claim their numbers, so a
 * corrected copy of a bad row further down is kept.
 */
export function checkRows(rows: readonly RawRow[]): { good: GoodRow[]; errors: ImportRowError[] } {
  const errors: ImportRowError[] = [];
  const good: GoodRow[] = [];
  const claimed = { iccid: new Map<string, number>(), imsi: new Map<string, number>(), msisdn: new Map<string, number>() };
  for (const row of rows) {
    const checked = checkRow(row, errors);
    if (!checked) continue;
    let duplicate = false;
    for (const field of ["iccid", "imsi", "msisdn"] as const) {
      const value = checked[field];
      const first = value === null ? undefined : claimed[field].get(value);
      if (first !== undefined) {
        errors.push({ line: row.line, field, reason: `the same ${field.toUpperCase()} is on line ${first}`, code: "duplicate" });
        duplicate = true;
      }
    }
    if (duplicate) continue;
    for (const field of ["iccid", "imsi", "msisdn"] as const) {
      const value = checked[field];
      if (value !== null) claimed[field].set(value, row.line);
    }
    good.push(checked);
  }
  return { good, errors };
}
