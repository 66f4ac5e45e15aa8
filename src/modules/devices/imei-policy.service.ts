import type { Sim } from "../../generated/prisma/client.js";
import type { ImeiLockMode, ImeiMismatchAction } from "../../generated/prisma/enums.js";
import { decodeTimeIdCursor, page } from "../../http/pagination.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { ConflictError, ValidationError, type FieldError } from "../../platform/errors.js";
import { validateImei } from "../../platform/identifiers.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import { principalId, type Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { afterImeiCheck } from "./imei-check.js";
import { recordImeiMismatches, type ImeiFollowUp } from "./imei-mismatch.js";
import { REPAIRABLE_MODES, parseAllowListEntry, toApiMode, toDbMode, violatesPolicy, type ImeiPolicyState } from "./imei-rules.js";
import type { ImeiEventPage, ImeiEventView, ImeiEventsQuery, ImeiPolicyBody, ImeiPolicyView, ImeiRepairBody } from "./imei-policy.schemas.js";
import { findVisibleSim } from "./sim-lookup.js";

export type ImeiPolicyService = ReturnType<typeof createImeiPolicyService>;

interface NormalisedPolicy {
  mode: ImeiLockMode;
  boundImei: string | null;
  allowList: string[];
  onMismatch: ImeiMismatchAction;
}

/** Checks the body beyond its schema (which modes take which fields, every IMEI and TAC); all problems at once. */
function normalisePolicy(body: ImeiPolicyBody): NormalisedPolicy {
  const errors: FieldError[] = [];
  const mode = toDbMode(body.mode);
  let boundImei: string | null = null;
  if (mode === "lock") {
    if (body.imei === undefined) errors.push({ field: "/body/imei", reason: "is required when mode is lock" });
    else {
      const v = validateImei(body.imei);
      if (v.ok) boundImei = v.value;
      else errors.push({ field: "/body/imei", reason: v.reason });
    }
  } else if (body.imei !== undefined) errors.push({ field: "/body/imei", reason: "is only accepted with mode lock" });

  const allowList: string[] = [];
  if (mode === "allow_list") {
    if (!body.allowList?.length) errors.push({ field: "/body/allowList", reason: "must hold at least one IMEI or TAC when mode is allow-list" });
    for (const [i, entry] of (body.allowList ?? []).entries()) {
      const v = parseAllowListEntry(entry);
      if (!v.ok) errors.push({ field: `/body/allowList/${i}`, reason: v.reason });
      else if (!allowList.includes(v.value)) allowList.push(v.value);
    }
  } else if (body.allowList !== undefined) errors.push({ field: "/body/allowList", reason: "is only accepted with mode allow-list" });

  if (errors.length) throw new ValidationError(errors.map((e) => `${e.field} ${e.reason}`).join("; "), errors);
  return { mode, boundImei, allowList, onMismatch: body.onMismatch ?? "alert" };
}

export function toPolicyView(sim: Sim): ImeiPolicyView {
  return {
    iccid: sim.iccid,
    mode: toApiMode(sim.imeiLockMode),
    boundImei: sim.boundImei,
    allowList: sim.imeiAllowList,
    onMismatch: sim.imeiOnMismatch,
    repairUntil: sim.imeiRepairUntil?.toISOString() ?? null,
    lastSeenImei: sim.lastSeenImei,
    lastSeenAt: sim.lastSeenAt?.toISOString() ?? null,
    lastNetwork: sim.lastNetwork,
  };
}

/** The policy as the SIM's history and the audit log record it (API spelling). */
const policySnapshot = (p: { imeiLockMode: ImeiLockMode; boundImei: string | null; imeiAllowList: string[]; imeiOnMismatch: ImeiMismatchAction; imeiRepairUntil: Date | null }) => ({
  mode: toApiMode(p.imeiLockMode),
  boundImei: p.boundImei,
  allowList: p.imeiAllowList,
  onMismatch: p.imeiOnMismatch,
  repairUntil: p.imeiRepairUntil?.toISOString() ?? null,
});

const actorColumns = (actor: Actor) => ({ actorType: actor.principal?.kind ?? "system", actorId: actor.principal ? principalId(actor.principal) : null });


function refuseTerminated(sim: Sim): void {
  if (sim.status === "terminated") throw new ConflictError("A terminated SIM's IMEI policy cannot change.", "sim_terminated");
}

/** Re-reads the SIM under a row lock, so a concurrent IMEI check sees the policy either before or after. */
async function lockSim(tx: Db, id: string): Promise<Sim> {
  await tx.$queryRaw`SELECT id FROM connectivity.sims WHERE id = ${id}::uuid FOR UPDATE`;
  return tx.sim.findUniqueOrThrow({ where: { id } });
}

/**
 * A SIM's IMEI policy: which devices it may be used in, and what happens when it shows up in another one.
 * Reads need `read Sim`, changes `update Sim` (owners, admins and operators of the SIM's tenant).
 */
export function createImeiPolicyService(deps: { prisma: PrismaClient; jobs: JobRunner }) {
  const { prisma, jobs } = deps;

  return {
    async get(actor: Actor, iccid: string): Promise<ImeiPolicyView> {
      authorize(actor, "read", "Sim");
      return toPolicyView(await findVisibleSim(prisma, actor, iccid));
    },

    /**
     * Replaces the policy (a new policy also closes any repair window; lock-first-seen binds afresh). The device
     * the SIM is in now (its last seen IMEI) is checked against the new policy at once: a policy that the current
     * device breaks is a mismatch like any other, with its alert, webhook and, per policy, suspension.
     */
    async set(actor: Actor, iccid: string, body: ImeiPolicyBody): Promise<ImeiPolicyView> {
      authorize(actor, "update", "Sim");
      const policy = normalisePolicy(body);
      const visible = await findVisibleSim(prisma, actor, iccid);
      authorize(actor, "update", "Sim", visible);
      let followUp: ImeiFollowUp = { operationIds: [], deliveryIds: [] };
      const updated = await prisma.$transaction(async (tx) => {
        const before = await lockSim(tx, visible.id);
        refuseTerminated(before);
        const sim = await tx.sim.update({
          where: { id: before.id },
          data: { imeiLockMode: policy.mode, boundImei: policy.boundImei, imeiAllowList: policy.allowList, imeiOnMismatch: policy.onMismatch, imeiRepairUntil: null },
        });
        const change = { before: policySnapshot(before), after: policySnapshot(sim) };
        await tx.simEvent.create({ data: { tenantId: sim.tenantId, simId: sim.id, kind: "imei_policy_changed", reasonCode: "imei_policy_set", data: change, ...actorColumns(actor) } });
        await appendAudit(tx, actor, { tenantId: sim.tenantId, action: "sim.imei_policy_changed", targetType: "sim", targetId: sim.id, data: { iccid: sim.iccid, ...change } });
        followUp = await checkCurrentDevice(tx, sim);
        return sim;
      });
      await afterImeiCheck(jobs, followUp);
      return toPolicyView(updated);
    },

    /** Opens (or extends) the window in which the next new device is accepted as the bound one. */
    async openRepairWindow(actor: Actor, iccid: string, body: ImeiRepairBody): Promise<ImeiPolicyView> {
      authorize(actor, "update", "Sim");
      const visible = await findVisibleSim(prisma, actor, iccid);
      authorize(actor, "update", "Sim", visible);
      const minutes = body.minutes ?? 1440;
      return toPolicyView(
        await prisma.$transaction(async (tx) => {
          const before = await lockSim(tx, visible.id);
          refuseTerminated(before);
          if (!REPAIRABLE_MODES.includes(before.imeiLockMode)) {
            throw new ConflictError(`A repair window needs a lock or lock-first-seen policy; this SIM's is ${toApiMode(before.imeiLockMode)}.`, "imei_repair_not_applicable");
          }
          const until = new Date(Date.now() + minutes * 60_000);
          const sim = await tx.sim.update({ where: { id: before.id }, data: { imeiRepairUntil: until } });
          const change = { before: policySnapshot(before), after: policySnapshot(sim) };
          await tx.simEvent.create({ data: { tenantId: sim.tenantId, simId: sim.id, kind: "imei_policy_changed", reasonCode: "imei_repair_window_opened", data: change, ...actorColumns(actor) } });
          await appendAudit(tx, actor, { tenantId: sim.tenantId, action: "sim.imei_repair_window_opened", targetType: "sim", targetId: sim.id, data: { iccid: sim.iccid, minutes, until: until.toISOString() } });
          return sim;
        }),
      );
    },

    /** The SIM's device history, newest first. */
    async listEvents(actor: Actor, iccid: string, query: ImeiEventsQuery): Promise<ImeiEventPage> {
      authorize(actor, "read", "Sim");
      const sim = await findVisibleSim(prisma, actor, iccid);
      const before = decodeTimeIdCursor(query.cursor);
      const rows = await prisma.imeiEvent.findMany({
        where: {
          tenantId: sim.tenantId,
          simId: sim.id,
          ...(before && { OR: [{ at: { lt: before.at } }, { at: before.at, id: { lt: before.id } }] }),
        },
        orderBy: [{ at: "desc" }, { id: "desc" }],
        take: query.limit + 1,
      });
      const result = page(rows, query.limit, (e) => ({ at: e.at.toISOString(), id: e.id }));
      return {
        items: result.items.map(
          (e): ImeiEventView => ({ id: e.id, kind: e.kind, imei: e.imei, previousImei: e.previousImei, source: e.source, actionTaken: e.actionTaken, network: e.network, at: e.at.toISOString() }),
        ),
        nextCursor: result.nextCursor,
      };
    },
  };
}

/** The new policy against the device the SIM is in now: a mismatch from the API's side (source `api`). */
async function checkCurrentDevice(tx: Db, sim: Sim): Promise<ImeiFollowUp> {
  const policy: ImeiPolicyState = { mode: sim.imeiLockMode, boundImei: sim.boundImei, allowList: sim.imeiAllowList };
  if (!sim.lastSeenImei || !violatesPolicy(policy, sim.lastSeenImei)) return { operationIds: [], deliveryIds: [] };
  const suspend = sim.imeiOnMismatch === "suspend" && sim.status === "active" && sim.pendingOperationId === null;
  return recordImeiMismatches(tx, [
    { tenantId: sim.tenantId, simId: sim.id, iccid: sim.iccid, imei: sim.lastSeenImei, previousImei: null, network: sim.lastNetwork, at: new Date(), source: "api", policy, action: suspend ? "suspend" : "alert" },
  ]);
}
