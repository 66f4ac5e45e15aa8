import type { EsimProfile, Prisma } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import { principalId, type Actor } from "../access/principal.js";
import { appendAudit, type SystemActor } from "../audit/audit.writer.js";
import { emitWebhookEvent } from "../webhooks/webhook-events.js";
import { activationCode } from "./activation-code.js";
import type { EsimProfileView, OrderState, ProfileState } from "./esim.schemas.js";

/**
 * Reads and writes of eSIM orders shared by the order, cancel and notification paths. Writes take the
 * transaction client; each state change records a SIM event, an audit event and a webhook in that transaction.
 */

/** An order is live while it holds (or may still hold) the profile: not cancelled, failed or deleted. */
const LIVE: Prisma.EsimProfileWhereInput = {
  orderState: { notIn: ["cancelled", "error"] },
  OR: [{ profileState: null }, { profileState: { not: "deleted" } }],
};

export const isLive = (o: Pick<EsimProfile, "orderState" | "profileState">): boolean =>
  o.orderState !== "cancelled" && o.orderState !== "error" && o.profileState !== "deleted";

export function findLiveOrder(db: Db, simId: string): Promise<EsimProfile | null> {
  return db.esimProfile.findFirst({ where: { simId, ...LIVE }, orderBy: { createdAt: "desc" } });
}

/** What GET shows: the live order, else the latest one (a failed or cancelled order, for its reason). */
export async function findCurrentOrder(db: Db, simId: string, accessible: Prisma.EsimProfileWhereInput = {}): Promise<EsimProfile | null> {
  const where = (extra: Prisma.EsimProfileWhereInput): Prisma.EsimProfileWhereInput => ({ AND: [accessible, { simId }, extra] });
  return (
    (await db.esimProfile.findFirst({ where: where(LIVE), orderBy: { createdAt: "desc" } })) ??
    (await db.esimProfile.findFirst({ where: where({}), orderBy: { createdAt: "desc" } }))
  );
}

/** Serialises order changes of one SIM (the order, a cancel, a notification) for the rest of the transaction. */
export async function lockSim(tx: Db, simId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM connectivity.sims WHERE id = ${simId}::uuid FOR UPDATE`;
}

export interface StateChange {
  /** The order's states before; null for a new order. */
  from: { orderState: OrderState; profileState: ProfileState | null } | null;
  /** The order as written. */
  order: EsimProfile;
  /** The audit action: esim_profile.ordered, .order_failed, .cancelled, .state_changed. */
  action: string;
  /** Stable snake_case code for the history (smdp_rejected, esim_download_failed...); null for a plain step. */
  reasonCode?: string | null;
  /** The sentence: the SM-DP+'s words and SGP.22 codes for a failure. */
  reason: string | null;
  /** Extra facts for the history and audit (never secrets): the notification point, the SM-DP+'s time. */
  details?: Record<string, unknown>;
}

/** The SIM event, audit event and webhook of one change. Returns the webhook delivery ids for `deliverSoon`. */
export async function recordChange(tx: Db, actor: Actor | SystemActor, change: StateChange): Promise<string[]> {
  const { order, from } = change;
  const principal = "principal" in actor ? actor.principal : null;
  const states = {
    profileId: order.id,
    fromOrderState: from?.orderState ?? null,
    orderState: order.orderState,
    fromProfileState: from?.profileState ?? null,
    profileState: order.profileState,
  };
  await tx.simEvent.create({
    data: {
      tenantId: order.tenantId,
      simId: order.simId,
      kind: "esim_order_changed",
      reasonCode: change.reasonCode ?? null,
      data: { ...states, reason: change.reason, ...change.details },
      actorType: principal ? principal.kind : "system",
      actorId: principal ? principalId(principal) : "name" in actor ? actor.name.slice(0, 64) : null,
    },
  });
  await appendAudit(tx, actor, {
    tenantId: order.tenantId,
    action: change.action,
    targetType: "esim_profile",
    targetId: order.id,
    data: { iccid: order.iccid, ...states, reasonCode: change.reasonCode ?? null, reason: change.reason, ...change.details },
  });
  return emitWebhookEvent(tx, {
    tenantId: order.tenantId,
    type: "esim.profile_state_changed",
    data: {
      profileId: order.id,
      iccid: order.iccid,
      eid: order.eid,
      orderState: order.orderState,
      previousOrderState: states.fromOrderState,
      profileState: order.profileState,
      previousProfileState: states.fromProfileState,
      reason: change.reason,
    },
  });
}

const HISTORY_LIMIT = 20;

/** The order's last state changes, oldest first. */
export async function loadHistory(db: Db, order: Pick<EsimProfile, "id" | "tenantId" | "simId" | "orderState">): Promise<EsimProfileView["history"]> {
  const events = await db.simEvent.findMany({
    where: { tenantId: order.tenantId, simId: order.simId, kind: "esim_order_changed", data: { path: ["profileId"], equals: order.id } },
    // Ids are UUIDv7: they break ties between changes in the same millisecond.
    orderBy: [{ at: "desc" }, { id: "desc" }],
    take: HISTORY_LIMIT,
  });
  return events.reverse().map((e) => {
    const d = e.data as { orderState?: OrderState; profileState?: ProfileState | null; reason?: string | null };
    return { at: e.at.toISOString(), orderState: d.orderState ?? order.orderState, profileState: d.profileState ?? null, reason: d.reason ?? null, actorType: e.actorType };
  });
}

/** The fields allowed out: never the confirmation code's hash. */
export function toView(o: EsimProfile, history: EsimProfileView["history"]): EsimProfileView {
  const code = o.matchingId !== null && o.orderState !== "cancelled" ? activationCode(o.smdpAddress, o.matchingId, o.confirmationCodeRequired) : null;
  return {
    id: o.id,
    iccid: o.iccid,
    eid: o.eid,
    smdpAddress: o.smdpAddress,
    matchingId: o.matchingId,
    activationCode: code,
    confirmationCodeRequired: o.confirmationCodeRequired,
    profileType: o.profileType,
    orderState: o.orderState,
    profileState: o.profileState,
    errorReason: o.errorReason,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
    cancelledAt: o.cancelledAt?.toISOString() ?? null,
    history,
  };
}
