import { randomUUID } from "node:crypto";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { ConflictError, NotFoundError, ValidationError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { deliverSoon, emitWebhookEvents } from "../webhooks/webhook-events.js";
import { MAX_LISTED_ICCIDS, type AllocateBody, type AllocationResult } from "./inventory.schemas.js";
import { BILLING_EFFECT } from "./lifecycle.js";
import { eventActor, UUID_V7_SQL } from "./sim-events.js";

/** How many offending ICCIDs a refusal names (it also says how many there are). */
const MAX_LISTED_REFUSALS = 100;

/**
 * POST /v1/inventory/sims/allocate: platform inventory SIMs pass to a customer tenant on a rate plan, all or
 * nothing, and enter `ready` (the test state: inventory -> ready in lifecycle.ts). Each SIM gets an `allocated`
 * and a `state_changed` history row under its new owner; both tenants' audit chains record the allocation.
 */
export async function allocateSims(deps: { prisma: PrismaClient; jobs: JobRunner }, actor: Actor, body: AllocateBody): Promise<AllocationResult> {
  const principal = authorize(actor, "allocate", "Sim");
  const platformTenantId = principal.tenantId;
  checkSelection(body);
  const iccids = body.iccids ? [...new Set(body.iccids)].sort() : undefined;
  const allocationId = randomUUID();

  const { moved, deliveryIds } = await deps.prisma.$transaction(
    async (tx) => {
      // Shared locks: a tenant closed or a plan retired concurrently waits for this allocation, or stops it.
      const [tenant] = await tx.$queryRaw<Array<{ kind: string; status: string }>>`
        SELECT kind::text, status::text FROM enterprise.tenants WHERE id = ${body.tenantId}::uuid FOR SHARE`;
      if (!tenant) throw new NotFoundError("Tenant");
      if (tenant.kind !== "customer" || tenant.status !== "active") {
        throw new ConflictError(`SIMs go to active customer tenants; this one is ${tenant.kind === "customer" ? tenant.status : "the platform"}.`, "tenant_not_allocatable");
      }
      const [plan] = await tx.$queryRaw<Array<{ code: string; status: string }>>`
        SELECT code, status::text FROM enterprise.rate_plans WHERE id = ${body.ratePlanId}::uuid FOR SHARE`;
      if (!plan) throw new NotFoundError("Rate plan");
      if (plan.status !== "active") throw new ConflictError(`Rate plan ${plan.code} is retired: SIMs cannot be put on it.`, "rate_plan_retired");

      const simIds = iccids ? await lockListed(tx, platformTenantId, iccids) : await lockOldest(tx, platformTenantId, body.count!, body.formFactor);
      const moved = await moveSims(tx, { simIds, tenantId: body.tenantId, ratePlanId: body.ratePlanId, platformTenantId, allocationId, actor });

      const data = { allocationId, tenantId: body.tenantId, ratePlanId: body.ratePlanId, ratePlanCode: plan.code, count: moved.length, by: iccids ? "iccids" : "count" };
      await appendAudit(tx, actor, { tenantId: platformTenantId, action: "sims.allocated", targetType: "tenant", targetId: body.tenantId, data });
      await appendAudit(tx, actor, { tenantId: body.tenantId, action: "sims.allocated", targetType: "tenant", targetId: body.tenantId, data });
      const deliveryIds = await notifyStateChanged(tx, body.tenantId, moved, allocationId);
      return { moved, deliveryIds };
    },
    { maxWait: 10_000, timeout: 300_000 },
  );
  await deliverSoon(deps.jobs, deliveryIds);
  return { allocated: moved.length, tenantId: body.tenantId, ratePlanId: body.ratePlanId, iccids: moved.slice(0, MAX_LISTED_ICCIDS) };
}

function checkSelection(body: AllocateBody): void {
  const hasList = body.iccids !== undefined;
  const hasCount = body.count !== undefined;
  if (hasList === hasCount) {
    const reason = hasList ? "give either iccids or count, not both" : "give either iccids or count";
    throw new ValidationError(`Name the SIMs: ${reason}.`, [
      { field: "/body/iccids", reason },
      { field: "/body/count", reason },
    ]);
  }
  if (hasList && body.formFactor !== undefined) {
    throw new ValidationError("formFactor picks SIMs by count; listed ICCIDs are taken as listed.", [{ field: "/body/formFactor", reason: "is only allowed with count" }]);
  }
}

/**
 * The listed SIMs, locked in ICCID order (so two allocations never deadlock). Every one must be the
 * platform's, in `inventory` and without a pending operation; else nothing moves and the answer names them.
 */
async function lockListed(tx: Db, platformTenantId: string, iccids: string[]): Promise<string[]> {
  const rows = await tx.$queryRaw<Array<{ id: string; iccid: string; ok: boolean }>>`
    SELECT id, iccid, (tenant_id = ${platformTenantId}::uuid AND status = 'inventory' AND pending_operation_id IS NULL) AS ok
    FROM connectivity.sims WHERE iccid = ANY(${iccids}::text[]) ORDER BY iccid FOR UPDATE`;
  const allocatable = new Set(rows.filter((r) => r.ok).map((r) => r.iccid));
  const refused = iccids.filter((i) => !allocatable.has(i));
  if (refused.length) {
    throw new ConflictError(
      `${refused.length} of the listed SIMs are unknown or not in the platform's inventory; nothing was allocated.`,
      "sims_not_allocatable",
      { iccids: refused.slice(0, MAX_LISTED_REFUSALS), count: refused.length },
    );
  }
  return rows.map((r) => r.id);
}

/**
 * The `count` oldest inventory SIMs (import order, then ICCID). SKIP LOCKED: two allocations running at once
 * take disjoint SIMs instead of waiting for each other, and never hand one SIM out twice.
 */
async function lockOldest(tx: Db, platformTenantId: string, count: number, formFactor: string | undefined): Promise<string[]> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM connectivity.sims
    WHERE tenant_id = ${platformTenantId}::uuid AND status = 'inventory' AND pending_operation_id IS NULL
      AND (${formFactor ?? null}::text IS NULL OR form_factor::text = ${formFactor ?? null}::text)
    ORDER BY created_at, iccid LIMIT ${count} FOR UPDATE SKIP LOCKED`;
  if (rows.length < count) {
    throw new ConflictError(`Only ${rows.length} SIMs${formFactor ? ` of form factor ${formFactor}` : ""} are in inventory and free; ${count} were asked for. Nothing was allocated.`, "insufficient_inventory", {
      requested: count,
      available: rows.length,
    });
  }
  return rows.map((r) => r.id);
}

/**
 * Moves the SIMs and writes their two history rows each and their rate plan assignment (billing's record of which
 * plan a SIM is on from which day: from today, UTC; a SIM allocated twice in a day keeps the last), in one
 * statement; returns their ICCIDs in order.
 */
async function moveSims(
  tx: Db,
  m: { simIds: string[]; tenantId: string; ratePlanId: string; platformTenantId: string; allocationId: string; actor: Actor },
): Promise<string[]> {
  const by = eventActor(m.actor);
  const allocated = JSON.stringify({ allocationId: m.allocationId, fromTenantId: m.platformTenantId, ratePlanId: m.ratePlanId });
  const changed = JSON.stringify({ allocationId: m.allocationId });
  const rows = await tx.$queryRawUnsafe<Array<{ iccid: string }>>(
    `WITH moved AS (
       UPDATE connectivity.sims SET tenant_id = $2::uuid, rate_plan_id = $3::uuid, status = 'ready', status_reason = 'allocated',
         status_changed_at = now(), updated_at = now()
       WHERE id = ANY($1::uuid[]) AND status = 'inventory'
       RETURNING id, iccid
     ), events AS (
       INSERT INTO connectivity.sim_events (id, tenant_id, sim_id, kind, from_status, to_status, reason_code, billing_effect, data, actor_type, actor_id, at)
       SELECT ${UUID_V7_SQL}, $2::uuid, id, 'allocated'::connectivity."SimEventKind", NULL::connectivity."SimStatus", NULL::connectivity."SimStatus",
         NULL, NULL::connectivity."BillingEffect", $4::jsonb, $6, $7, now() FROM moved
       UNION ALL
       SELECT ${UUID_V7_SQL}, $2::uuid, id, 'state_changed'::connectivity."SimEventKind", 'inventory'::connectivity."SimStatus", 'ready'::connectivity."SimStatus",
         'allocated', $5::connectivity."BillingEffect", $8::jsonb, $6, $7, now() FROM moved
     ), plans AS (
       INSERT INTO connectivity.sim_rate_plan_assignments (sim_id, tenant_id, rate_plan_id, effective_from, kind, actor_type, actor_id)
       SELECT id, $2::uuid, $3::uuid, (now() AT TIME ZONE 'UTC')::date, 'allocation', $6, $7 FROM moved
       ON CONFLICT (sim_id, effective_from) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, rate_plan_id = EXCLUDED.rate_plan_id,
         kind = EXCLUDED.kind, actor_type = EXCLUDED.actor_type, actor_id = EXCLUDED.actor_id, created_at = now()
     )
     SELECT iccid FROM moved ORDER BY iccid`,
    m.simIds,
    m.tenantId,
    m.ratePlanId,
    allocated,
    BILLING_EFFECT.ready,
    by.type,
    by.id,
    changed,
  );
  return rows.map((r) => r.iccid);
}

/**
 * sim.state_changed for the customer's webhook endpoints, when any subscribes (an outbox row each); the data has
 * the shape lifecycle operations send (iccid, from, to, reasonCode), with the allocation's id.
 */
async function notifyStateChanged(tx: Db, tenantId: string, iccids: string[], allocationId: string): Promise<string[]> {
  const [subscribed] = await tx.$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM enterprise.webhook_endpoints WHERE tenant_id = ${tenantId}::uuid AND enabled AND 'sim.state_changed' = ANY(events)`;
  if (!subscribed?.n) return [];
  const at = new Date();
  return emitWebhookEvents(
    tx,
    iccids.map((iccid) => ({ tenantId, type: "sim.state_changed" as const, occurredAt: at, data: { iccid, from: "inventory", to: "ready", reasonCode: "allocated", allocationId } })),
  );
}
