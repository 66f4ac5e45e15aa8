import { createHash } from "node:crypto";
import type { JobName, JobPayloads } from "../../../jobs/queues.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { EnqueueOptions, JobRunner } from "../../platform/jobs/job-runner.js";
import { afterImeiCheck, checkImeiObservations } from "../devices/imei-check.js";
import type { ImeiFollowUp } from "../devices/imei-mismatch.js";
import { beginSlice, foldSlice, moveFlaggedSims, type SliceResult } from "./rollup.repository.js";

/** Records folded in one transaction at most (one journal row, up to 10,000 records, is never split). */
export const MAX_RECORDS_PER_SLICE = 100_000;
/** A run drains the journal for about this long, then hands over to a fresh job (other jobs get a turn). */
export const TIME_BUDGET_MS = 10_000;
/** Journal rows looked at in the first slice of a run; later slices size themselves from the rows seen. */
const FIRST_SLICE_ROWS = 100;
/** Rows looked at in one slice at most (a feed sending one record per request still folds in bulk). */
const MAX_ROWS_PER_SLICE = 5_000;
/**
 * Follow-up jobs (limit checks, test-threshold activation) are debounced per window: the job of a window runs
 * when it closes, so it sees every slice committed in the window, and a busy journal asks for one a window.
 */
export const FOLLOW_UP_WINDOW_MS = 2_000;
/** Above this many tenants in one slice the limit check is asked for every tenant (a payload of ids is bounded). */
const MAX_TENANT_IDS = 1_000;

/** What the last slice of this process learnt about the journal's rows, for the first slice of the next run. */
let rowsPerSlice = FIRST_SLICE_ROWS;

export interface RollupDeps {
  prisma: PrismaClient;
  jobs: JobRunner;
}

export interface RollupOptions {
  maxRecords?: number;
  budgetMs?: number;
}

export interface RollupResult {
  /** `drained`: the journal was empty at the end; `continued`: the time budget ran out and a new job was asked
   *  for; `busy`: another rollup holds the lock (it drains; this one stopped and asked for a retry in a second). */
  outcome: "drained" | "continued" | "busy";
  slices: number;
  rows: number;
  records: number;
  simsMoved: number;
  imeiObservations: number;
  ms: number;
}

/**
 * usage.rollup: folds the ingestion journal into usage_daily, usage_hourly and the SIMs' last-seen fields, slice
 * by slice, each slice ONE transaction (fold, IMEI check, delete of the folded journal rows: all or nothing, so
 * every record is counted exactly once). Only one rollup runs at a time (a transaction-level advisory lock; a
 * second one returns at once). After each commit: the IMEI check's follow-ups, the tenants' limit checks and,
 * when a `ready` SIM had usage, the test-threshold activation, all enqueued.
 */
export async function rollUpJournal(deps: RollupDeps, opts: RollupOptions = {}): Promise<RollupResult> {
  const maxRecords = opts.maxRecords ?? MAX_RECORDS_PER_SLICE;
  const budgetMs = opts.budgetMs ?? TIME_BUDGET_MS;
  const started = performance.now();
  const result: RollupResult = { outcome: "drained", slices: 0, rows: 0, records: 0, simsMoved: 0, imeiObservations: 0, ms: 0 };
  let maxRows = Math.min(rowsPerSlice, maxRecords);

  for (;;) {
    const done = await runSlice(deps.prisma, { maxRows, maxRecords });
    if (done === "busy") {
      // Another run holds the lock and drains. Rows committed after its last look would wait for the 5-second
      // schedule, so ask again in a second (one retry job a second, however many runs found it busy).
      result.outcome = "busy";
      await enqueueWindowed(deps.jobs, "usage.rollup", {}, "usage-rollup-retry", 1_000);
      break;
    }
    const { slice, followUp } = done;
    result.slices++;
    result.rows += slice.rows;
    result.records += slice.records;
    result.simsMoved += slice.simsMoved;
    result.imeiObservations += slice.observations.length;
    await afterSlice(deps.jobs, slice, followUp);

    // Every row looked at was folded and there were fewer than asked for: the journal is empty (as of now).
    const drained = slice.rows < maxRows && slice.records < maxRecords;
    if (slice.rows > 0) {
      // Size the next slice to about maxRecords from the rows just seen (requests of 10 or 10,000 records), and
      // remember it for this process's next run.
      const perRow = Math.max(1, slice.records / slice.rows);
      maxRows = Math.max(1, Math.min(MAX_ROWS_PER_SLICE, Math.ceil(maxRecords / perRow) + 1));
      rowsPerSlice = maxRows;
    }
    if (drained) break;
    if (performance.now() - started >= budgetMs) {
      result.outcome = "continued";
      await deps.jobs.enqueue("usage.rollup", {}, { jobId: `usage-rollup-more-${Date.now()}` });
      break;
    }
  }
  result.ms = Math.round(performance.now() - started);
  return result;
}

type SliceDone = "busy" | { slice: SliceResult; followUp: ImeiFollowUp };

/** One transaction: lock, fold, IMEI check, last-seen of the SIMs the check moved. Nothing is enqueued in it. */
async function runSlice(prisma: PrismaClient, limits: { maxRows: number; maxRecords: number }): Promise<SliceDone> {
  return prisma.$transaction(
    async (tx) => {
      if (!(await beginSlice(tx))) return "busy" as const;
      const slice = await foldSlice(tx, limits);
      const followUp = await checkImeiObservations(tx, slice.observations);
      await moveFlaggedSims(tx, slice.flagged);
      return { slice, followUp };
    },
    { maxWait: 10_000, timeout: 120_000 },
  );
}

/** After a slice committed: what its records set in motion. */
async function afterSlice(jobs: JobRunner, slice: SliceResult, followUp: ImeiFollowUp): Promise<void> {
  await afterImeiCheck(jobs, followUp);
  if (slice.tenantIds.length) {
    const tenantIds = [...slice.tenantIds].sort();
    // The window's job id names the tenant set: another slice with other tenants in the same window gets its own
    // job (a job id taken already would drop its tenants), the same set shares one.
    const set = createHash("sha256").update(tenantIds.join(",")).digest("hex").slice(0, 16);
    await enqueueWindowed(jobs, "usage.limits", tenantIds.length <= MAX_TENANT_IDS ? { tenantIds } : {}, `usage-limits-${set}`, FOLLOW_UP_WINDOW_MS);
  }
  // A `ready` SIM with usage may have passed its test threshold: the activation job runs within seconds instead
  // of at its next minute.
  if (slice.readyTouched) await enqueueWindowed(jobs, "sims.test-threshold", {}, "sims-test-threshold-usage", FOLLOW_UP_WINDOW_MS);
}

/**
 * Enqueues a job that runs when the current window closes, one per window and prefix: later asks in the same
 * window find its id taken (waiting, delayed), and the job, running after the window, sees their work too.
 */
async function enqueueWindowed<N extends JobName>(jobs: JobRunner, name: N, data: JobPayloads[N], prefix: string, windowMs: number, now = Date.now()): Promise<void> {
  const window = Math.floor(now / windowMs);
  const opts: EnqueueOptions = { jobId: `${prefix}-${window}`, delayMs: Math.max(1, (window + 1) * windowMs - now) };
  await jobs.enqueue(name, data, opts);
}
