import { ValidationError } from "../../platform/errors.js";

/**
 * A small RFC 4180 reader for the SIM manufacturers' files: quoted fields (with "" for a quote, and line breaks
 * inside quotes), CRLF, LF or CR line ends, a UTF-8 byte order mark, and blank lines skipped. The delimiter is
 * a comma, or a semicolon when the first line holds semicolons and no comma (spreadsheets in many locales
 * export so). Each record carries the physical line it starts on, which is what the import's errors name.
 */
export interface CsvRecord {
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

function delimiterOf(text: string): string {
  const end = text.search(/[\r\n]/);
  const first = end === -1 ? text : text.slice(0, end);
  return !first.includes(",") && first.includes(";") ? ";" : ",";
}

export function parseCsv(input: string): CsvRecord[] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const delimiter = delimiterOf(text);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let i = 0;
  // Whether the current record holds anything (a blank line holds nothing and is skipped).
  let started = false;

  const endRecord = () => {
    if (started) records.push({ line: recordLine, fields: [...fields, field] });
    fields = [];
    field = "";
    started = false;
  };

  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === "") {
      // A quoted field: runs to the closing quote; "" inside stands for one quote.
      started = true;
      const openedOn = line;
      i++;
      let chunkStart = i;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) throw new CsvSyntaxError(openedOn, `line ${openedOn}: a quoted field is never closed`);
        field += text.slice(chunkStart, q);
        for (let k = chunkStart; k < q; k++) if (text[k] === "\n" || (text[k] === "\r" && text[k + 1] !== "\n")) line++;
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
          chunkStart = i;
          continue;
        }
        i = q + 1;
        break;
      }
      const next = text[i];
      if (next !== undefined && next !== delimiter && next !== "\r" && next !== "\n") {
        throw new CsvSyntaxError(line, `line ${line}: unexpected character after a closing quote`);
      }
      continue;
    }
    if (c === delimiter) {
      started = true;
      fields.push(field);
      field = "";
      i++;
      continue;
    }
    if (c === "\r" || c === "\n") {
      endRecord();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    // A plain run up to the next delimiter or line end; a quote inside an unquoted field is taken literally
    // (lenient, as most spreadsheet readers are).
    started = true;
    let j = i + 1;
    while (j < text.length) {
      const d = text[j]!;
      if (d === delimiter || d === "\r" || d === "\n") break;
      j++;
    }
    field += text.slice(i, j);
    i = j;
  }
  endRecord();
  return records;
}

/**
 * An uploaded file as a header and data records. A syntax error or a file without a header refuses the whole
 * file (400): no row of it can be trusted. Shared by the SIM inventory import and the payments import.
 */
export function readCsvTable(text: string): { header: CsvRecord; data: CsvRecord[] } {
  let records: CsvRecord[];
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw new ValidationError(`The CSV file is malformed: ${err.message}.`, [{ field: "/body", reason: err.message }]);
    throw err;
  }
  const [header, ...data] = records;
  if (!header) throw new ValidationError("The CSV file is empty.", [{ field: "/body", reason: "holds no header row" }]);
  return { header, data };
}
