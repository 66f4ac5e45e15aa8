import type { Db } from "../../platform/db/database.js";
import { isoDate } from "../billing/period.js";
import { UUID_V7_SQL } from "../sims/sim-events.js";

/**
 * Which rate plan a SIM is on from which day (connectivity.sim_rate_plan_assignments): billing's source for plan
 * changes. `sims.rate_plan_id` mirrors the assignment in effect today; a next-period change reaches it when its
 * day comes (applyDueChanges, run by the rate-plans.apply-changes job and before each change of one SIM).
 */
export type AssignmentKind = "allocation" | "next_period" | "immediate";

/** The reason codes of the `rate_plan_changed` history rows plan changes write. */
export const PLAN_CHANGE_REASON = {
  immediate: "plan_change_immediate",
  scheduled: "plan_change_scheduled",
  cancelled: "plan_change_cancelled",
  applied: "plan_change_applied",
} as const;

/** The system actor of changes applied when their day comes (history rows name it). */
export const APPLY_CHANGES_ACTOR = "rate-plans-apply-changes";

/**
 * The job takes this advisory lock exclusively and each single-SIM change shares it, so a change never interleaves
 * with the job applying (from an older snapshot) a pending change that the request just replaced or cancelled.
 */
const APPLY_LOCK_KEY = 0x72706163; // "rpac"
export const lockForApply = (db: Db) => db.$executeRaw`SELECT pg_advisory_xact_lock(${APPLY_LOCK_KEY}::bigint)`;
export const lockForChange = (db: Db) => db.$executeRaw`SELECT pg_advisory_xact_lock_shared(${APPLY_LOCK_KEY}::bigint)`;

/**
 * The job looks at assignments that started in this window only (index range scans per tenant, not the whole
 * table): a change can only be due if its day came since the job last ran, and the window forgives a job stopped
 * for two months.
 */
export function applyWindowStart(today: Date): string {
  return isoDate(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 2, 1)));
}

/**
 * Moves SIMs onto the plan of the assignment in effect on `today` where `sims.rate_plan_id` differs, writing one
 * `rate_plan_changed` history row each (actor system), in one statement. Idempotent: a second run finds nothing
 * to do. SIMs in inventory or terminated are left alone. `simId` limits it to one SIM (any start date);
 * otherwise every tenant's assignments that started in the window are looked at. Returns the SIMs moved.
 */
export async function applyDueChanges(db: Db, opts: { today: Date; simId?: string; actorId: string }): Promise<Array<{ simId: string; tenantId: string }>> {
  const today = isoDate(opts.today);
  const due = opts.simId
    ? `SELECT a.sim_id, a.tenant_id, a.rate_plan_id, a.effective_from, a.kind
       FROM connectivity.sims s0
       CROSS JOIN LATERAL (SELECT * FROM connectivity.sim_rate_plan_assignments a
         WHERE a.sim_id = s0.id AND a.tenant_id = s0.tenant_id AND a.effective_from <= $1::date
         ORDER BY a.effective_from DESC LIMIT 1) a
       WHERE s0.id = $2::uuid`
    : `SELECT DISTINCT ON (a.sim_id) a.sim_id, a.tenant_id, a.rate_plan_id, a.effective_from, a.kind
       FROM enterprise.tenants t
       CROSS JOIN LATERAL (SELECT * FROM connectivity.sim_rate_plan_assignments a
         WHERE a.tenant_id = t.id AND a.effective_from > $2::date AND a.effective_from <= $1::date) a
       ORDER BY a.sim_id, a.effective_from DESC`;
  return db.$queryRawUnsafe<Array<{ simId: string; tenantId: string }>>(
    `WITH due AS (${due}),
     moving AS (
       SELECT due.*, s.rate_plan_id AS from_plan FROM due JOIN connectivity.sims s ON s.id = due.sim_id AND s.tenant_id = due.tenant_id
       WHERE s.rate_plan_id IS DISTINCT FROM due.rate_plan_id AND s.status NOT IN ('inventory', 'terminated')
     ),
     moved AS (
       UPDATE connectivity.sims s SET rate_plan_id = m.rate_plan_id, updated_at = now()
       FROM moving m WHERE s.id = m.sim_id AND s.rate_plan_id IS DISTINCT FROM m.rate_plan_id
       RETURNING s.id, s.tenant_id, m.from_plan, m.rate_plan_id AS to_plan, m.effective_from, m.kind
     ),
     events AS (
       INSERT INTO connectivity.sim_events (id, tenant_id, sim_id, kind, reason_code, data, actor_type, actor_id, at)
       SELECT ${UUID_V7_SQL}, moved.tenant_id, moved.id, 'rate_plan_changed'::connectivity."SimEventKind", $3,
         jsonb_build_object(
           'from', CASE WHEN moved.from_plan IS NULL THEN NULL ELSE jsonb_build_object('ratePlanId', moved.from_plan, 'code', fp.code) END,
           'to', jsonb_build_object('ratePlanId', moved.to_plan, 'code', tp.code),
           'effective', moved.kind, 'effectiveFrom', to_char(moved.effective_from, 'YYYY-MM-DD')),
         'system', $4, now()
       FROM moved
       LEFT JOIN enterprise.rate_plans fp ON fp.id = moved.from_plan
       JOIN enterprise.rate_plans tp ON tp.id = moved.to_plan
     )
     SELECT id AS "simId", tenant_id AS "tenantId" FROM moved`,
    today,
    opts.simId ?? applyWindowStart(opts.today),
    PLAN_CHANGE_REASON.applied,
    opts.actorId,
  );
}
