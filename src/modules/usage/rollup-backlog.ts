import type { SqlRunner } from "../../platform/db/database.js";

/** A request waits at most this long; then it is stored anyway (the feed is never refused for our lag). */
const MAX_WAIT_MS = 5_000;
const STEP_MS = 100;
/** How long one reading of the journal's age serves every request of this process. */
const READING_TTL_MS = 200;

/**
 * Flow control between ingestion and the rollup. Both share PostgreSQL's CPU: when feeds push faster than the
 * rollup folds, the journal grows without bound and the usage figures grow stale (measured: 62 s behind after
 * 10 minutes flat out on 2 cores). So while the oldest journal row is older than `targetMs` (USAGE_FLOW_CONTROL_MS), an ingestion
 * request waits (in steps, up to MAX_WAIT_MS) before storing: the feeds' batches slow down to what the rollup
 * keeps up with, and "fresh within seconds" holds. Records are never refused for it, only answered later.
 */
export function createRollupBacklog(deps: { sql: SqlRunner; targetMs: number }) {
  const { targetMs } = deps;
  let reading: { at: number; ageMs: Promise<number> } | null = null;

  /** Age of the oldest journal row (0 when empty), read at most every READING_TTL_MS per process. */
  function ageMs(): Promise<number> {
    const now = Date.now();
    if (!reading || now - reading.at > READING_TTL_MS) {
      const ageMs = deps.sql
        .query<{ age_ms: number | null }>(
          `SELECT (extract(epoch FROM clock_timestamp() - created_at) * 1000)::float8 AS age_ms
           FROM connectivity.usage_rollup_journal ORDER BY id LIMIT 1`,
        )
        .then((rows) => rows[0]?.age_ms ?? 0)
        .catch(() => 0); // a failed reading must not stop ingestion: the statement will report a real outage
      reading = { at: now, ageMs };
    }
    return reading.ageMs;
  }

  return {
    /** Resolves when the backlog is below target, or after MAX_WAIT_MS; returns how long it waited. */
    async admit(): Promise<number> {
      if (targetMs <= 0) return 0;
      const start = Date.now();
      while ((await ageMs()) > targetMs && Date.now() - start < MAX_WAIT_MS) {
        await new Promise((resolve) => setTimeout(resolve, STEP_MS));
      }
      return Date.now() - start;
    },
  };
}

export type RollupBacklog = ReturnType<typeof createRollupBacklog>;
