import type { Sim } from "../../generated/prisma/client.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { isoDate } from "../billing/period.js";
import { findVisibleSim } from "../devices/sim-lookup.js";
import { APPLY_CHANGES_ACTOR, applyDueChanges, lockForChange, PLAN_CHANGE_REASON, type AssignmentKind } from "../rate-plans/plan-assignments.js";
import { nextMonthStartUtc, todayUtc } from "../rate-plans/plan-prices.js";
import { eventActor } from "./sim-events.js";
import type { PlanRef, SimRatePlanChangeBody, SimRatePlanView } from "./sim-rate-plan.schemas.js";

export type SimRatePlanService = ReturnType<typeof createSimRatePlanService>;

const HISTORY_LIMIT = 100;
/** States in which a SIM is billed, and so may change plan: allocated to a customer and not terminated. */
const BILLABLE = new Set(["ready", "active", "suspended"]);

interface AssignmentRow {
  ratePlanId: string;
  code: string;
  name: string;
  currency: string;
  effectiveFrom: string;
  kind: AssignmentKind;
  actorType: string;
  actorId: string | null;
  createdAt: Date;
}

const planRef = (r: { ratePlanId: string; code: string; name: string; currency: string }): PlanRef => ({ id: r.ratePlanId, code: r.code, name: r.name, currency: r.currency });
/** A plan as history rows and audit events name it (as the apply-changes job does too). */
const eventRef = (p: PlanRef | null) => (p ? { ratePlanId: p.id, code: p.code } : null);

/** The SIM's assignments under its current tenant, latest first, with their plans' handles. */
async function assignments(db: Db, sim: Pick<Sim, "id" | "tenantId">): Promise<AssignmentRow[]> {
  return db.$queryRaw<AssignmentRow[]>`
    SELECT a.rate_plan_id AS "ratePlanId", p.code, p.name, p.currency::text AS currency, to_char(a.effective_from, 'YYYY-MM-DD') AS "effectiveFrom",
      a.kind, a.actor_type AS "actorType", a.actor_id AS "actorId", a.created_at AS "createdAt"
    FROM connectivity.sim_rate_plan_assignments a JOIN enterprise.rate_plans p ON p.id = a.rate_plan_id
    WHERE a.sim_id = ${sim.id}::uuid AND a.tenant_id = ${sim.tenantId}::uuid
    ORDER BY a.effective_from DESC`;
}

async function planOf(db: Db, id: string | null): Promise<PlanRef | null> {
  if (!id) return null;
  const plan = await db.ratePlan.findUnique({ where: { id }, select: { id: true, code: true, name: true, currency: true } });
  return plan ? { id: plan.id, code: plan.code, name: plan.name, currency: plan.currency } : null;
}

/**
 * What the API shows: the plan in effect today (its assignment, or the SIM's plan where it has no history yet),
 * the next-period change waiting, and the history in effect so far.
 */
async function view(db: Db, sim: Pick<Sim, "id" | "tenantId" | "iccid" | "ratePlanId">, today: string): Promise<SimRatePlanView> {
  const rows = await assignments(db, sim);
  const inEffect = rows.filter((r) => r.effectiveFrom <= today);
  const future = rows.filter((r) => r.effectiveFrom > today);
  const now = inEffect[0];
  const pending = future[future.length - 1];
  const current = now ? { ratePlan: planRef(now), since: now.effectiveFrom } : await planOf(db, sim.ratePlanId).then((p) => (p ? { ratePlan: p, since: null } : null));
  return {
    iccid: sim.iccid,
    current,
    pending: pending ? { ratePlan: planRef(pending), effectiveFrom: pending.effectiveFrom, requestedAt: pending.createdAt.toISOString() } : null,
    history: inEffect.slice(0, HISTORY_LIMIT).map((r) => ({
      ratePlan: planRef(r),
      effectiveFrom: r.effectiveFrom,
      kind: r.kind,
      actor: { type: r.actorType, id: r.actorId },
      recordedAt: r.createdAt.toISOString(),
    })),
  };
}

/**
 * A SIM's rate plan: read by whoever sees the SIM; changed (next period or immediately) and a pending change
 * cancelled by whoever may change the SIM (`update Sim`: the SIM's tenant's owners, admins and operators).
 * Each change writes its assignment row, a `rate_plan_changed` history row and an audit event in one transaction.
 */
export function createSimRatePlanService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /** The SIM, visible and changeable by the caller, else 404 / 403, before anything is written. */
  async function changeable(actor: Actor, iccid: string): Promise<Sim> {
    authorize(actor, "update", "Sim");
    const sim = await findVisibleSim(prisma, actor, iccid);
    authorize(actor, "update", "Sim", sim);
    return sim;
  }

  /**
   * Inside the change's transaction: the SIM locked and re-read, checked to be allocated (and, unless `allowTerminated`,
   * not terminated), with any change whose day has come applied first, so `rate_plan_id` is today's plan.
   */
  async function lockSim(tx: Db, id: string, now: Date, allowTerminated: boolean): Promise<Sim> {
    await lockForChange(tx);
    await tx.$queryRaw`SELECT id FROM connectivity.sims WHERE id = ${id}::uuid FOR UPDATE`;
    const before = await tx.sim.findUniqueOrThrow({ where: { id } });
    if (!(BILLABLE.has(before.status) || (allowTerminated && before.status === "terminated"))) {
      throw new ConflictError(`The SIM is ${before.status}: only SIMs allocated to a customer and not terminated change rate plan.`, "sim_not_billable", { simStatus: before.status });
    }
    await applyDueChanges(tx, { today: now, simId: id, actorId: APPLY_CHANGES_ACTOR });
    return tx.sim.findUniqueOrThrow({ where: { id } });
  }

  async function record(tx: Db, actor: Actor, sim: Sim, reason: string, action: string, data: Record<string, unknown>): Promise<void> {
    const by = eventActor(actor);
    await tx.simEvent.create({ data: { tenantId: sim.tenantId, simId: sim.id, kind: "rate_plan_changed", reasonCode: reason, data: data as object, actorType: by.type, actorId: by.id } });
    await appendAudit(tx, actor, { tenantId: sim.tenantId, action, targetType: "sim", targetId: sim.iccid, data });
  }

  return {
    async get(actor: Actor, iccid: string): Promise<SimRatePlanView> {
      authorize(actor, "read", "Sim");
      const sim = await findVisibleSim(prisma, actor, iccid);
      return view(prisma, sim, todayUtc());
    },

    /**
     * next_period: the plan from the first day of next month (a second change before then replaces it).
     * immediate: the plan from today, `rate_plan_id` at once; a pending next-period change is dropped (the latest
     * decision wins), and a second change the same day replaces the first (back to the earlier plan: undone).
     * Asking for the plan in effect today while a change is pending cancels that change.
     */
    async change(actor: Actor, iccid: string, body: SimRatePlanChangeBody): Promise<SimRatePlanView> {
      const visible = await changeable(actor, iccid);
      const now = new Date();
      const today = isoDate(now);
      return prisma.$transaction(async (tx) => {
        const sim = await lockSim(tx, visible.id, now, false);
        const [plan] = await tx.$queryRaw<Array<{ id: string; code: string; name: string; currency: string; status: string }>>`
          SELECT id, code, name, currency::text AS currency, status::text AS status FROM enterprise.rate_plans WHERE id = ${body.ratePlanId}::uuid FOR SHARE`;
        if (!plan) throw new NotFoundError("Rate plan", "rate_plan_not_found");
        if (plan.status !== "active") throw new UnprocessableError(`Rate plan ${plan.code} is retired: SIMs cannot move to it.`, "rate_plan_retired");

        const rows = await assignments(tx, sim);
        const pending = rows.filter((r) => r.effectiveFrom > today);
        const from = eventRef(await planOf(tx, sim.ratePlanId));
        const to = { ratePlanId: plan.id, code: plan.code };
        const dropPending = () => tx.$executeRaw`
          DELETE FROM connectivity.sim_rate_plan_assignments WHERE sim_id = ${sim.id}::uuid AND effective_from > ${today}::date`;
        const soonest = pending[pending.length - 1];
        const cancelled = soonest ? { ratePlanId: soonest.ratePlanId, code: soonest.code, effectiveFrom: soonest.effectiveFrom } : null;

        if (sim.ratePlanId === plan.id) {
          if (!cancelled) throw new ConflictError(`The SIM is already on ${plan.code} and no change is pending.`, "no_change");
          await dropPending();
          await record(tx, actor, sim, PLAN_CHANGE_REASON.cancelled, "sim.rate_plan_change_cancelled", { from, to, effective: body.effective, cancelled });
          return view(tx, sim, today);
        }

        const by = eventActor(actor);
        if (body.effective === "next_period") {
          if (pending.some((r) => r.ratePlanId === plan.id)) throw new ConflictError(`The SIM already moves to ${plan.code} next period.`, "no_change");
          const effectiveFrom = nextMonthStartUtc(now);
          await tx.$executeRaw`
            INSERT INTO connectivity.sim_rate_plan_assignments (sim_id, tenant_id, rate_plan_id, effective_from, kind, actor_type, actor_id)
            VALUES (${sim.id}::uuid, ${sim.tenantId}::uuid, ${plan.id}::uuid, ${effectiveFrom}::date, 'next_period', ${by.type}, ${by.id})
            ON CONFLICT (sim_id, effective_from) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, rate_plan_id = EXCLUDED.rate_plan_id,
              kind = EXCLUDED.kind, actor_type = EXCLUDED.actor_type, actor_id = EXCLUDED.actor_id, created_at = now()`;
          await record(tx, actor, sim, PLAN_CHANGE_REASON.scheduled, "sim.rate_plan_change_scheduled", { from, to, effective: "next_period", effectiveFrom, replaced: cancelled });
          return view(tx, sim, today);
        }

        // Immediate. The row before today's (if any) says which plan today's change replaced: going back to it the
        // same day removes today's row instead of recording a change to the plan the SIM was already on.
        const todays = rows.find((r) => r.effectiveFrom === today);
        const earlier = rows.find((r) => r.effectiveFrom < today);
        if (todays && todays.kind !== "allocation" && earlier?.ratePlanId === plan.id) {
          await tx.$executeRaw`DELETE FROM connectivity.sim_rate_plan_assignments WHERE sim_id = ${sim.id}::uuid AND effective_from = ${today}::date`;
        } else {
          // An allocation today stays an allocation (to the new plan): the SIM was on no other plan before.
          await tx.$executeRaw`
            INSERT INTO connectivity.sim_rate_plan_assignments (sim_id, tenant_id, rate_plan_id, effective_from, kind, actor_type, actor_id)
            VALUES (${sim.id}::uuid, ${sim.tenantId}::uuid, ${plan.id}::uuid, ${today}::date, 'immediate', ${by.type}, ${by.id})
            ON CONFLICT (sim_id, effective_from) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, rate_plan_id = EXCLUDED.rate_plan_id,
              kind = CASE WHEN sim_rate_plan_assignments.kind = 'allocation' THEN 'allocation' ELSE EXCLUDED.kind END,
              actor_type = EXCLUDED.actor_type, actor_id = EXCLUDED.actor_id, created_at = now()`;
        }
        if (cancelled) await dropPending();
        const moved = await tx.sim.update({ where: { id: sim.id }, data: { ratePlanId: plan.id } });
        await record(tx, actor, moved, PLAN_CHANGE_REASON.immediate, "sim.rate_plan_changed", { from, to, effective: "immediate", effectiveFrom: today, cancelled });
        return view(tx, moved, today);
      });
    },

    /** Cancels the next-period change waiting for its day; none: 404 `no_pending_change`. */
    async cancelPending(actor: Actor, iccid: string): Promise<SimRatePlanView> {
      const visible = await changeable(actor, iccid);
      const now = new Date();
      const today = isoDate(now);
      return prisma.$transaction(async (tx) => {
        const sim = await lockSim(tx, visible.id, now, true);
        const pending = (await assignments(tx, sim)).filter((r) => r.effectiveFrom > today);
        const last = pending[pending.length - 1];
        if (!last) throw new NotFoundError("A pending rate plan change", "no_pending_change");
        await tx.$executeRaw`DELETE FROM connectivity.sim_rate_plan_assignments WHERE sim_id = ${sim.id}::uuid AND effective_from > ${today}::date`;
        const current = eventRef(await planOf(tx, sim.ratePlanId));
        await record(tx, actor, sim, PLAN_CHANGE_REASON.cancelled, "sim.rate_plan_change_cancelled", {
          from: current,
          to: current,
          cancelled: { ratePlanId: last.ratePlanId, code: last.code, effectiveFrom: last.effectiveFrom },
        });
        return view(tx, sim, today);
      });
    },
  };
}
