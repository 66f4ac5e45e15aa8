import { AppError, PayloadTooLargeError } from "../../platform/errors.js";
import { isUsageField, rejectUsage, validateUsageRecord, type UsageField } from "./ingest-validate.js";
import { MAX_BYTES_PER_REQUEST, MAX_RECORDS_PER_REQUEST, type ParsedUsage } from "./usage-record.js";

/**
 * Streaming parser of `POST /v1/usage/records` bodies: JSON array, NDJSON or CSV, read chunk by chunk.
 *
 * The body is never gathered into one string. Each format is cut into records on the raw bytes (the cut points
 * `,` `]` `\n` `"` are ASCII, and no byte of a multi-byte UTF-8 character is below 0x80, so a character split
 * across chunks can never be mistaken for one); only a record's own bytes are decoded and parsed, so memory
 * stays at one record plus the results, and a broken record is rejected alone while the others are kept.
 *
 * Whole-request problems throw (nothing is stored then; the caller stores only after parsing):
 * `payload_too_large` / `too_many_records` (413), `usage_body_invalid` / `usage_csv_header_invalid` (400).
 */

export type UsageFormat = "json" | "ndjson" | "csv";

/** The format a Content-Type names (parameters such as charset ignored), or null when it names none of ours. */
export function usageFormatOf(contentType: string | undefined): UsageFormat | null {
  if (contentType === undefined) return null;
  const semi = contentType.indexOf(";");
  switch ((semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()) {
    case "application/json":
      return "json";
    case "application/x-ndjson":
    case "application/ndjson":
      return "ndjson";
    case "text/csv":
      return "csv";
    default:
      return null;
  }
}

export type UsageBodyErrorCode = "usage_body_invalid" | "usage_csv_header_invalid";

/** The body as a whole cannot be read as records (not an array, unterminated, a bad CSV header...). */
export class UsageBodyError extends AppError {
  constructor(detail: string, code: UsageBodyErrorCode = "usage_body_invalid") {
    super(400, code, "Invalid usage records body", detail);
  }
}

export interface ParseUsageOptions {
  /** The server's clock: records starting more than 5 minutes after it are rejected. */
  now: Date;
  maxRecords?: number;
  maxBytes?: number;
}

export async function parseUsageBody(body: AsyncIterable<Buffer | string>, format: UsageFormat, opts: ParseUsageOptions): Promise<ParsedUsage[]> {
  const maxBytes = opts.maxBytes ?? MAX_BYTES_PER_REQUEST;
  const maxRecords = opts.maxRecords ?? MAX_RECORDS_PER_REQUEST;
  const splitter = format === "json" ? new JsonArraySplitter(opts.now, maxRecords) : format === "ndjson" ? new NdjsonSplitter(opts.now, maxRecords) : new CsvSplitter(opts.now, maxRecords);
  let received = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.isBuffer(chunk) ? chunk : Buffer.from((chunk as Uint8Array).buffer, (chunk as Uint8Array).byteOffset, (chunk as Uint8Array).byteLength);
    received += buf.length;
    // Thrown inside the loop: for-await then closes the stream, so nothing more is read.
    if (received > maxBytes) throw new PayloadTooLargeError(`The body is larger than ${maxBytes} bytes; send at most ${maxBytes} bytes (and ${maxRecords} records) per request.`);
    if (buf.length > 0) splitter.push(buf);
  }
  splitter.end();
  return splitter.out;
}

/** What the three formats share: record numbering and limit, the bytes of a record spread over chunks. */
abstract class Splitter {
  readonly out: ParsedUsage[] = [];
  protected count = 0;
  /**
   * Bytes of the record in progress that came in earlier chunks, copied into one growing buffer: holding the
   * chunks themselves would cost an object per chunk, and a client sending tiny chunks could make that large.
   */
  protected carried = 0;
  private carry = Buffer.alloc(0);
  /** Bytes received before the current chunk, for positions in error messages. */
  protected base = 0;

  constructor(
    protected readonly now: Date,
    private readonly maxRecords: number,
  ) {}

  abstract push(buf: Buffer): void;
  abstract end(): void;

  /** The index of a record that begins; past the limit the whole request is refused before reading on. */
  protected nextIndex(): number {
    if (this.count >= this.maxRecords) {
      throw new PayloadTooLargeError(`The body holds more than ${this.maxRecords} records; split it into several requests.`, "too_many_records");
    }
    return this.count++;
  }

  /** The text of a record ending at `end` of `buf`, with what earlier chunks held of it (then `start` is 0). */
  protected text(buf: Buffer, start: number, end: number): string {
    if (this.carried === 0) return buf.toString("utf8", start, end);
    this.keep(buf, start, end);
    const text = this.carry.toString("utf8", 0, this.carried);
    this.carried = 0;
    if (this.carry.length > 1 << 20) this.carry = Buffer.alloc(0); // a huge record's buffer is not kept
    return text;
  }

  /** Keeps bytes of a record that continues in the next chunk. */
  protected keep(buf: Buffer, start: number, end = buf.length): void {
    if (start >= end) return;
    const need = this.carried + (end - start);
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.carry.length, 1024));
      this.carry.copy(grown, 0, 0, this.carried);
      this.carry = grown;
    }
    buf.copy(this.carry, this.carried, start, end);
    this.carried = need;
  }
}

const enum J {
  Before, // before '['
  First, // after '[': an element or ']'
  Next, // after ',': an element
  Element, // inside an element
  After, // after the closing ']'
}

const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * A top-level JSON array cut into its elements: strings (with escapes) and nesting are tracked so that only a
 * ',' or ']' at depth 0 outside a string ends an element; each element is then JSON.parse'd alone.
 * The array's own syntax (brackets, commas) is judged for the whole body; an element's content for itself.
 */
class JsonArraySplitter extends Splitter implements ScanState {
  private state = J.Before;
  depth = 0;
  inString = false;
  escaped = false;
  private start = 0;

  push(buf: Buffer): void {
    const n = buf.length;
    let i = 0;
    this.start = 0;
    while (i < n) {
      if (this.state === J.Element) {
        i = scanElement(buf, i, this);
        if (i === n) break;
        this.element(this.text(buf, this.start, i));
        this.state = buf[i] === 0x2c ? J.Next : J.After;
        i++;
        continue;
      }
      const c = buf[i]!;
      if (isJsonSpace(c) || (this.state === J.Before && (c === 0xef || c === 0xbb || c === 0xbf))) {
        i++; // whitespace, or a UTF-8 byte order mark before the array
        continue;
      }
      switch (this.state) {
        case J.Before:
          if (c !== 0x5b) {
            throw new UsageBodyError(
              c === 0x7b
                ? "The body must be a JSON array of usage records, not a single object: wrap it in [ ] (or send one object per line as application/x-ndjson)."
                : `The body must be a JSON array of usage records ([{...}, ...]); it starts with ${describeByte(c)}.`,
            );
          }
          this.state = J.First;
          i++;
          break;
        case J.First:
        case J.Next:
          if (c === 0x5d && this.state === J.First) {
            this.state = J.After;
            i++;
          } else if (c === 0x5d || c === 0x2c) {
            throw new UsageBodyError(
              c === 0x5d
                ? `The JSON array has a trailing comma before its closing ']' (byte ${this.base + i}).`
                : `The JSON array has an empty element: a ',' with no value before it (byte ${this.base + i}).`,
            );
          } else {
            this.nextIndex();
            this.state = J.Element;
            this.start = i;
            this.depth = 0;
            this.inString = false;
            this.escaped = false;
          }
          break;
        case J.After:
          throw new UsageBodyError(`Unexpected data after the JSON array's closing ']' (byte ${this.base + i}).`);
      }
    }
    if (this.state === J.Element) this.keep(buf, this.start);
    this.base += n;
  }

  end(): void {
    if (this.state === J.After) return;
    if (this.state === J.Before) throw new UsageBodyError("The body is empty; send a JSON array of usage records.");
    throw new UsageBodyError(
      this.state === J.Element
        ? `The JSON array is not terminated: element ${this.count - 1} never ends (an unclosed string, object or array?) and the closing ']' is missing.`
        : "The JSON array is not terminated: the body ends before its closing ']'.",
    );
  }

  private element(text: string): void {
    const index = this.count - 1;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.out.push(rejectUsage(index, undefined, null, "invalid_json", `element ${index} is not valid JSON: ${(e as Error).message}`));
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new UsageBodyError(`Element ${index} of the array is ${kindOf(value)}, not an object: the body must be an array of usage record objects.`);
    }
    this.out.push(validateUsageRecord(value, index, this.now));
  }
}

/** Where the scan of an element stands between chunks. */
interface ScanState {
  /** Open objects and arrays inside the element. */
  depth: number;
  inString: boolean;
  /** The previous byte was a backslash escaping the next one (inside a string). */
  escaped: boolean;
}

/**
 * Scans an element from `i`: returns the position of the ',' or ']' that ends it at depth 0, or the chunk's length
 * when the element goes on in the next chunk (`st` then says where the scan stands). A small function of its own so
 * that the engine optimises this loop, the hot one, on its own; strings are skipped with indexOf (memchr).
 */
function scanElement(buf: Buffer, i: number, st: ScanState): number {
  const n = buf.length;
  let depth = st.depth;
  let inString = st.inString;
  let escaped = st.escaped;
  for (; i < n; i++) {
    if (inString) {
      // The closing quote is the next '"' not preceded by an odd run of backslashes (counted from `from`,
      // where no escape is pending).
      let from = i;
      if (escaped) {
        from++;
        escaped = false;
      }
      for (;;) {
        const q = buf.indexOf(0x22, from);
        let k = q < 0 ? n : q;
        while (k > from && buf[k - 1] === 0x5c) k--;
        const oddRun = (((q < 0 ? n : q) - k) & 1) === 1;
        if (q < 0) {
          escaped = oddRun; // the string goes on in the next chunk; its first byte may be escaped
          i = n;
          break;
        }
        if (oddRun) {
          from = q + 1; // an escaped quote
          continue;
        }
        inString = false;
        i = q;
        break;
      }
      if (i === n) break;
      continue;
    }
    const c = buf[i]!;
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth > 0) depth--;
      else if (c === 0x5d) break; // the array's ']'; a stray '}' stays in the element and fails its parse
    } else if (c === 0x2c && depth === 0) break;
  }
  st.depth = depth;
  st.inString = inString;
  st.escaped = escaped;
  return i;
}

/** One JSON object per line; blank lines are skipped and do not count as records. */
class NdjsonSplitter extends Splitter {
  private line = 0;

  push(buf: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      this.record(buf, start, nl);
      start = nl + 1;
    }
    this.keep(buf, start);
  }

  end(): void {
    if (this.carried > 0) this.record(Buffer.alloc(0), 0, 0);
  }

  private record(buf: Buffer, start: number, end: number): void {
    const line = ++this.line;
    const spread = this.carried > 0;
    if (!spread) {
      // Blank (whitespace only): skipped without decoding.
      let i = start;
      while (i < end && isJsonSpace(buf[i]!)) i++;
      if (i === end) return;
    }
    let text = this.text(buf, start, end);
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if ((spread || line === 1) && text.trim() === "") return;
    const index = this.nextIndex();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.out.push(rejectUsage(index, undefined, null, "invalid_json", `line ${line} is not valid JSON: ${(e as Error).message}`));
      return;
    }
    this.out.push(validateUsageRecord(value, index, this.now));
  }
}

const enum C {
  FieldStart, // at the start of a cell: a '"' here opens a quoted value
  Unquoted, // inside an unquoted value: a '"' here is a mistake the row's own check reports, not structure
  Quoted, // inside a quoted value: ',' and line breaks are data
  QuoteInQuoted, // after a '"' inside a quoted value: a second one is a literal quote, else the value is closed
}

/** RFC 4180: a header row naming the fields, then one record per row; quoted cells may hold ',', '"' and newlines. */
class CsvSplitter extends Splitter {
  private state = C.FieldStart;
  private columns: UsageField[] | null = null;

  push(buf: Buffer): void {
    const n = buf.length;
    let state = this.state;
    let start = 0;
    let i = 0;
    let quote = buf.indexOf(0x22); // the next '"' of the chunk, -1 when none is left
    while (i < n) {
      // Fast path, nearly every row: no quote before the line break, so the break ends the row whatever the state
      // (only an open quoted value could hold it). memchr finds both.
      if (state !== C.Quoted) {
        if (quote >= 0 && quote < i) quote = buf.indexOf(0x22, i);
        const nl = buf.indexOf(0x0a, i);
        if (nl >= 0 && (quote < 0 || quote > nl)) {
          this.row(this.text(buf, start, nl));
          start = i = nl + 1;
          state = C.FieldStart;
          continue;
        }
        if (nl < 0 && quote < 0) {
          // The row goes on in the next chunk, with no quote in this one: a cell is open, or a new one starts.
          if (n > i) state = buf[n - 1] === 0x2c ? C.FieldStart : C.Unquoted;
          i = n;
          break;
        }
      }
      // A quote is involved: byte by byte to the end of this row (or of the chunk).
      for (; i < n; i++) {
        const c = buf[i]!;
        if (state === C.Quoted) {
          if (c === 0x22) state = C.QuoteInQuoted;
        } else if (c === 0x0a) break;
        else if (c === 0x2c) state = C.FieldStart;
        else if (c === 0x22) state = state === C.Unquoted ? C.Unquoted : C.Quoted;
        else state = C.Unquoted;
      }
      if (i === n) break;
      this.row(this.text(buf, start, i));
      start = i = i + 1;
      state = C.FieldStart;
    }
    this.state = state;
    this.keep(buf, start);
    this.base += n;
  }

  end(): void {
    if (this.state === C.Quoted) {
      throw new UsageBodyError(`The CSV body ends inside a quoted value: a '"' opened in ${this.columns ? `the data row of index ${this.count}` : "the header"} is never closed.`);
    }
    if (this.carried > 0) this.row(this.text(Buffer.alloc(0), 0, 0));
    if (this.columns === null) throw new UsageBodyError("The CSV body is empty; a header row naming the fields is required.", "usage_csv_header_invalid");
  }

  private row(line: string): void {
    let text = line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line;
    const first = text.charCodeAt(0);
    if (text === "" || ((first === 0x20 || first === 0x09) && text.trim() === "")) return; // blank line
    const columns = this.columns;
    if (columns === null) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.columns = csvHeader(text);
      return;
    }
    const index = this.nextIndex();
    const cells = splitCsvRow(text);
    if (typeof cells === "string") {
      this.out.push(rejectUsage(index, undefined, null, "invalid_csv", cells));
      return;
    }
    if (cells.length !== columns.length) {
      this.out.push(rejectUsage(index, undefined, null, "wrong_cell_count", `the row has ${cells.length} cells, the header has ${columns.length}`));
      return;
    }
    // An empty cell is an absent field (its default applies, or missing_field when required).
    const record: Record<string, string> = {};
    for (let j = 0; j < cells.length; j++) {
      const cell = cells[j]!;
      if (cell !== "") record[columns[j]!] = cell;
    }
    this.out.push(validateUsageRecord(record, index, this.now));
  }
}

/** The header: every name a known field, none twice, the required ones present. */
function csvHeader(text: string): UsageField[] {
  const cells = splitCsvRow(text);
  if (typeof cells === "string") throw new UsageBodyError(`The CSV header row is malformed: ${cells}`, "usage_csv_header_invalid");
  const seen = new Set<string>();
  const columns: UsageField[] = [];
  for (let j = 0; j < cells.length; j++) {
    const name = cells[j]!.trim();
    if (!isUsageField(name)) {
      const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
      throw new UsageBodyError(
        name === "" ? `CSV header column ${j + 1} is empty; every column needs a field name.` : `CSV header column ${j + 1} names an unknown field ${shown}.`,
        "usage_csv_header_invalid",
      );
    }
    if (seen.has(name)) throw new UsageBodyError(`CSV header names the field "${name}" twice (columns ${columns.indexOf(name) + 1} and ${j + 1}).`, "usage_csv_header_invalid");
    seen.add(name);
    columns.push(name);
  }
  // Without these columns every row would be rejected: say so once, for the whole body.
  const missing: string[] = ["sourceId", "startedAt", "endedAt"].filter((f) => !seen.has(f));
  if (!seen.has("iccid") && !seen.has("imsi") && !seen.has("msisdn")) missing.push("one of iccid, imsi or msisdn");
  if (missing.length > 0) throw new UsageBodyError(`The CSV header lacks required columns: ${missing.join(", ")}.`, "usage_csv_header_invalid");
  return columns;
}

/** One CSV row (no line break outside quotes) into its cells, or a sentence saying what is wrong with it. */
export function splitCsvRow(t: string): string[] | string {
  if (t.indexOf('"') < 0) return t.split(",");
  const cells: string[] = [];
  const n = t.length;
  let i = 0;
  for (;;) {
    if (t.charCodeAt(i) === 0x22) {
      let value = "";
      let from = i + 1;
      for (;;) {
        const q = t.indexOf('"', from);
        if (q < 0) return `cell ${cells.length + 1}: the quoted value is not closed`;
        if (t.charCodeAt(q + 1) === 0x22) {
          value += t.slice(from, q + 1); // a doubled quote is one quote
          from = q + 2;
          continue;
        }
        value += t.slice(from, q);
        i = q + 1;
        break;
      }
      cells.push(value);
      if (i === n) return cells;
      if (t.charCodeAt(i) !== 0x2c) return `cell ${cells.length}: unexpected text after the closing quote (a quote inside a quoted value must be doubled)`;
      i++;
    } else {
      const comma = t.indexOf(",", i);
      const end = comma < 0 ? n : comma;
      const value = t.slice(i, end);
      if (value.indexOf('"') >= 0) return `cell ${cells.length + 1}: a quote inside an unquoted value (quote the whole value and double the quote)`;
      cells.push(value);
      if (comma < 0) return cells;
      i = comma + 1;
    }
  }
}

function describeByte(c: number): string {
  return c >= 0x21 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, "0")}`;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string" ? "a string" : typeof v === "number" ? "a number" : typeof v === "boolean" ? "a boolean" : typeof v;
}
