import { canonicalJson } from "./audit.chain.js";
import type { AuditEventView } from "./audit.schemas.js";

/** The export's columns, in order; the header row carries these names. */
export const AUDIT_CSV_COLUMNS = ["seq", "id", "at", "actorType", "actorId", "action", "targetType", "targetId", "ip", "userAgent", "requestId", "data"] as const;

/** A spreadsheet treats a cell starting with one of these as a formula (or, for tab and CR, may strip it). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** RFC 4180: a field holding a quote, comma or line break is quoted, its quotes doubled. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV field. Audit data is attacker-influenced (user agents, names, targets), so a value a spreadsheet
 * would evaluate (`=HYPERLINK(...)`, `+1+cmd|...`, `@SUM(...)`) is prefixed with `'` and shown as text.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvRecord = (fields: ReadonlyArray<string | number | null>): string => `${fields.map(csvField).join(",")}\r\n`;

export const AUDIT_CSV_HEADER = csvRecord(AUDIT_CSV_COLUMNS);

export function auditCsvRecord(e: AuditEventView): string {
  return csvRecord([e.seq, e.id, e.at, e.actorType, e.actorId, e.action, e.targetType, e.targetId, e.ip, e.userAgent, e.requestId, canonicalJson(e.data)]);
}

/** The export as text chunks: the header, then one chunk per page of events, pulled only as the client reads. */
export async function* auditCsvChunks(pages: AsyncIterable<AuditEventView[]>): AsyncGenerator<string> {
  yield AUDIT_CSV_HEADER;
  for await (const events of pages) yield events.map(auditCsvRecord).join("");
}
