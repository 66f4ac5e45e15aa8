import { csvRecord } from "../audit/audit.csv.js";
import { addBuckets, countBuckets, type CounterRow, type Plan, type SeriesRow, type UsageQueryRepository, type Window } from "./usage-query.repository.js";

/**
 * Usage as CSV (RFC 4180, UTF-8, CRLF, a header row), produced page by page: each page is one query of at most
 * about `pageRows` rows, run only when the reader (the HTTP response, through Readable.from) asks for more, so
 * an export of any range holds one page in memory and a client that goes away stops the queries.
 *
 * Rows: identity columns (ICCID, label, ...), `start` (the bucket's first instant, ISO 8601 UTC), then the
 * counters `bytesUp,bytesDown,bytes,smsMo,smsMt,records` as plain integers. A single series (one SIM, or the
 * fleet without grouping) has a row for every bucket, zeros included; grouped exports have a row per group and
 * bucket with usage only (a fleet of 100,000 SIMs would otherwise be mostly zeros).
 */

/** Rows per query while an export streams. */
export const CSV_PAGE_ROWS = 5000;

export const COUNTER_COLUMNS = ["bytesUp", "bytesDown", "bytes", "smsMo", "smsMt", "records"] as const;

const counterCells = (r: CounterRow): string[] => [r.bytes_up, r.bytes_down, (BigInt(r.bytes_up) + BigInt(r.bytes_down)).toString(), r.sms_mo, r.sms_mt, r.records];

const row = (lead: Array<string | null>, r: SeriesRow): string => csvRecord([...lead, r.start.toISOString(), ...counterCells(r)]);

export const csvHeader = (lead: string[]): string => csvRecord([...lead, "start", ...COUNTER_COLUMNS]);

/**
 * One series with every bucket (zeros included): windows of `pageRows` buckets, one query each.
 * `lead`: the identity cells repeated on each row (the ICCID for one SIM's usage).
 */
export async function* seriesCsv(repo: UsageQueryRepository, plan: Plan, range: Window, opts: { lead: Array<{ column: string; value: string }>; pageRows?: number }): AsyncGenerator<string> {
  const pageRows = opts.pageRows ?? CSV_PAGE_ROWS;
  yield csvHeader(opts.lead.map((l) => l.column));
  const lead = opts.lead.map((l) => l.value);
  for (let from = range.from; from < range.to; ) {
    const to = minDate(addBuckets(from, plan.granularity, pageRows), range.to);
    const rows = await repo.series(plan, { from, to }, { zeroFill: true, order: "bucket" });
    if (rows.length) yield rows.map((r) => row(lead, r)).join("");
    from = to;
  }
}

/**
 * Grouped by label, rate plan or network: time first (all groups of a bucket, by key, then the next bucket).
 * The window starts at one bucket and adapts to the groups seen per bucket so a page stays near `pageRows`
 * rows (a single bucket with more groups than that is still one page: it is bounded by the tenant's labels,
 * plans or networks).
 */
export async function* timeMajorCsv(
  repo: UsageQueryRepository,
  plan: Plan,
  range: Window,
  opts: { columns: string[]; cells: (keys: string[]) => Promise<(key: string) => Array<string | null>>; pageRows?: number },
): AsyncGenerator<string> {
  const pageRows = opts.pageRows ?? CSV_PAGE_ROWS;
  yield csvHeader(opts.columns);
  let width = 1;
  for (let from = range.from; from < range.to; ) {
    const to = minDate(addBuckets(from, plan.granularity, width), range.to);
    const rows = await repo.series(plan, { from, to }, { zeroFill: false, order: "bucket" });
    if (rows.length) {
      const cellsOf = await opts.cells([...new Set(rows.map((r) => r.key))]);
      yield rows.map((r) => row(cellsOf(r.key), r)).join("");
    }
    const perBucket = rows.length / countBuckets(from, to, plan.granularity);
    width = Math.max(1, Math.min(pageRows, Math.floor(pageRows / Math.max(1, perBucket))));
    from = to;
  }
}

/**
 * Grouped by SIM: SIM first (by ICCID), each SIM's buckets with usage in order. A page is the next SIMs by
 * ICCID (keyset on the tenant's (tenant_id, iccid) index) times a window of buckets, sized so that a page has at
 * most `pageRows` rows: many SIMs over a short range, or one SIM over part of a long one.
 */
export async function* simMajorCsv(repo: UsageQueryRepository, plan: Plan, range: Window, opts: { pageRows?: number } = {}): AsyncGenerator<string> {
  const pageRows = opts.pageRows ?? CSV_PAGE_ROWS;
  yield csvHeader(["iccid"]);
  const buckets = countBuckets(range.from, range.to, plan.granularity);
  if (buckets === 0) return;
  const simsPerPage = Math.max(1, Math.floor(pageRows / Math.max(1, buckets)));
  const width = Math.min(buckets, pageRows);
  let after: string | undefined;
  for (;;) {
    const sims = await repo.simPage(plan.tenantId, plan.filter, { ...(after !== undefined && { after }), limit: simsPerPage });
    if (!sims.length) return;
    const iccidOf = new Map(sims.map((s) => [s.id, s.iccid]));
    // The SIM filter already chose these SIMs: the series needs only their ids.
    const seriesPlan: Plan = { ...plan, filter: {} };
    for (let from = range.from; from < range.to; ) {
      const to = minDate(addBuckets(from, plan.granularity, width), range.to);
      const rows = await repo.series(seriesPlan, { from, to }, { keys: [...iccidOf.keys()], zeroFill: false, order: "key" });
      rows.sort((a, b) => (iccidOf.get(a.key)! < iccidOf.get(b.key)! ? -1 : iccidOf.get(a.key)! > iccidOf.get(b.key)! ? 1 : a.start.getTime() - b.start.getTime()));
      if (rows.length) yield rows.map((r) => row([iccidOf.get(r.key)!], r)).join("");
      from = to;
    }
    if (sims.length < simsPerPage) return;
    after = sims[sims.length - 1]!.iccid;
  }
}

const minDate = (a: Date, b: Date) => (a < b ? a : b);
