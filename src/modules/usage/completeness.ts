import type { Db } from "../../platform/db/database.js";

/**
 * How complete the usage figures of a tenant are, stated on every usage answer.
 * - `rolledUpThrough`: every record the API acknowledged before this instant is counted in the totals
 *   (the rollup journal's oldest row of the tenant, or now when it has none).
 * - `finalThrough`: usage that started before this instant is final: the feeds (the operator's mediation feed,
 *   and the tenant's own if it declares) have delivered all of it and the totals count it. Null until a feed
 *   declares; never ahead of the totals (a declaration counts once the records received before it are rolled
 *   up; until then the previous one answers).
 */
export interface Completeness {
  rolledUpThrough: Date;
  finalThrough: Date | null;
}

export async function readCompleteness(db: Db, tenantId: string): Promise<Completeness> {
  const [row] = await db.$queryRaw<Array<{ rolled: Date; final: Date | null }>>`
    WITH rolled AS (
      SELECT coalesce((SELECT min(created_at) FROM connectivity.usage_rollup_journal WHERE tenant_id = ${tenantId}::uuid), now()) AS at
    ),
    feeds AS (
      SELECT CASE WHEN w.declared_at <= rolled.at THEN w.complete_through ELSE w.previous_through END AS through
      FROM connectivity.usage_watermarks w, rolled
      WHERE w.tenant_id = ${tenantId}::uuid
         OR w.tenant_id IN (SELECT id FROM enterprise.tenants WHERE kind = 'platform')
    )
    SELECT rolled.at AS rolled,
           -- Every declaring feed must be complete: one feed's unknown makes the whole unknown, and no feed at all
           -- is unknown too (least() would ignore the NULL min). A declaration may be up to 5 minutes ahead of
           -- the clock: the answer stops at rolledUpThrough, never claiming usage that has not started yet.
           CASE WHEN NOT EXISTS (SELECT 1 FROM feeds) OR EXISTS (SELECT 1 FROM feeds WHERE through IS NULL) THEN NULL
                ELSE least((SELECT min(through) FROM feeds), rolled.at) END AS final
    FROM rolled`;
  return { rolledUpThrough: row!.rolled, finalThrough: row!.final };
}
