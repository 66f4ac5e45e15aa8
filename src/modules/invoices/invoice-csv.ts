import type { SqlRunner } from "../../platform/db/database.js";
import { csvField } from "../audit/audit.csv.js";

/**
 * An invoice's per-SIM charges as CSV (RFC 4180, UTF-8, CRLF, a header row): what each SIM was charged, for
 * which usage period, and the counts behind it. Amounts are the exact (unrounded) shares stored with the
 * invoice, so a column's sum, rounded once to the currency's minor unit, is the invoice line it details.
 *
 * Streamed: a page of rows per query (keyset on the table's primary key, so each page is an index range scan),
 * run only when the reader asks for more; a 100,000-SIM invoice never sits in memory, and a client that goes
 * away stops the queries. Rows come in the key's order (SIM, rate plan, usage period), not by ICCID: sorting
 * by ICCID would re-sort the whole invoice's charges for every page. Spreadsheets sort.
 */
export const INVOICE_CSV_COLUMNS = [
  "iccid",
  "ratePlanCode",
  "usagePeriod",
  "billableDays",
  "suspendedDays",
  "activated",
  "bytes",
  "includedBytes",
  "overageBytes",
  "smsMo",
  "smsMt",
  "fee",
  "activation",
  "overage",
  "sms",
  "total",
] as const;

export const INVOICE_CSV_PAGE_ROWS = 5000;

interface ChargeRow {
  sim_id: string;
  rate_plan_id: string;
  /** The period's first day, for the keyset; `usage_period` is its "YYYY-MM". */
  usage_day: string;
  usage_period: string;
  iccid: string;
  code: string | null;
  billable_days: number;
  suspended_days: number;
  activated: boolean;
  bytes: string;
  included_bytes: string;
  overage_bytes: string;
  sms_mo: number;
  sms_mt: number;
  fee: string;
  activation: string;
  overage: string;
  sms: string;
  total: string;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * A stored decimal (trailing zeros already trimmed by the query) with at least two places: "2.5" -> "2.50",
 * "0.0125" stays. Numbers are ours, never text a spreadsheet could run: they are written without the formula
 * guard, which would turn a credit's "-2.50" into "'-2.50".
 */
function amount(text: string): string {
  if (!DECIMAL.test(text)) throw new Error(`invoice CSV: not a decimal: ${text}`);
  const dot = text.indexOf(".");
  if (dot < 0) return `${text}.00`;
  return text.length - dot - 1 === 1 ? `${text}0` : text;
}

function record(r: ChargeRow): string {
  return [
    csvField(r.iccid),
    csvField(r.code),
    r.usage_period,
    r.billable_days,
    r.suspended_days,
    r.activated ? "true" : "false",
    r.bytes,
    r.included_bytes,
    r.overage_bytes,
    r.sms_mo,
    r.sms_mt,
    amount(r.fee),
    amount(r.activation),
    amount(r.overage),
    amount(r.sms),
    amount(r.total),
  ].join(",") + "\r\n";
}

/**
 * The rows after `after` (the last key of the previous page), at most `limit`. Amounts are NUMERIC rendered as
 * text (no float on the way), trailing zeros trimmed; the total is summed in NUMERIC too.
 */
async function chargePage(sql: SqlRunner, invoiceId: string, after: ChargeRow | null, limit: number): Promise<ChargeRow[]> {
  const keyset = after ? "AND (c.sim_id, c.rate_plan_id, c.usage_period) > ($3::uuid, $4::uuid, $5::date)" : "";
  const params: unknown[] = [invoiceId, limit];
  if (after) params.push(after.sim_id, after.rate_plan_id, after.usage_day);
  return sql.query<ChargeRow>(
    `SELECT c.sim_id::text, c.rate_plan_id::text, c.usage_period::text AS usage_day, to_char(c.usage_period, 'YYYY-MM') AS usage_period, c.iccid, p.code,
            c.billable_days, c.suspended_days, c.activated, c.bytes::text, c.included_bytes::text, c.overage_bytes::text,
            c.sms_mo, c.sms_mt,
            trim_scale(c.fee_amount)::text AS fee, trim_scale(c.activation_amount)::text AS activation,
            trim_scale(c.overage_amount)::text AS overage, trim_scale(c.sms_amount)::text AS sms,
            trim_scale(c.fee_amount + c.activation_amount + c.overage_amount + c.sms_amount)::text AS total
       FROM enterprise.invoice_sim_charges c
       LEFT JOIN enterprise.rate_plans p ON p.id = c.rate_plan_id
      WHERE c.invoice_id = $1::uuid ${keyset}
      ORDER BY c.sim_id, c.rate_plan_id, c.usage_period
      LIMIT $2`,
    params,
  );
}

/** The CSV as text chunks: the header, then one chunk per page of charges, each queried when the reader pulls. */
export async function* invoiceCsv(sql: SqlRunner, invoiceId: string, opts: { pageRows?: number } = {}): AsyncGenerator<string> {
  const pageRows = opts.pageRows ?? INVOICE_CSV_PAGE_ROWS;
  yield `${INVOICE_CSV_COLUMNS.join(",")}\r\n`;
  let after: ChargeRow | null = null;
  for (;;) {
    const rows = await chargePage(sql, invoiceId, after, pageRows);
    if (rows.length) yield rows.map(record).join("");
    if (rows.length < pageRows) return;
    after = rows[rows.length - 1]!;
  }
}
