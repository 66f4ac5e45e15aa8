import { subject as asSubject } from "@casl/ability";
import type { EsimProfile, Sim } from "../../generated/prisma/client.js";
import type { ConfirmOrderResult, Es2PlusConnector } from "../../connectors/smdp/es2plus-connector.js";
import { Es2PlusError } from "../../connectors/smdp/es2plus-connector.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { AppError, ConflictError, NotFoundError, ValidationError } from "../../platform/errors.js";
import { validateEid } from "../../platform/identifiers.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { deliverSoon } from "../webhooks/webhook-events.js";
import { generateConfirmationCode, hashConfirmationCode } from "./activation-code.js";
import { activationQrPng, activationQrSvg } from "./esim-qr.js";
import { findCurrentOrder, findLiveOrder, loadHistory, lockSim, recordChange, toView } from "./esim.repository.js";
import type { EsimOrderBody, EsimOrderCreated, EsimProfileView } from "./esim.schemas.js";

export type EsimService = ReturnType<typeof createEsimService>;

export interface EsimServiceDeps {
  prisma: PrismaClient;
  smdp: Es2PlusConnector;
  jobs: JobRunner;
  /** The configured SM-DP+ address (SMDP_ADDRESS): recorded on an order that failed before the SM-DP+ named one. */
  smdpAddress: string;
  log: { warn(obj: object, msg: string): void };
}

/**
 * eSIM profile orders (GSMA SGP.22 ES2+), one live order per SIM.
 *
 * Ordering calls the SM-DP+ synchronously, outside any transaction (the answer must carry the activation
 * code): DownloadOrder, then ConfirmOrder with releaseFlag, so the profile is released for download at once.
 * Only then is the order written, whole, in one transaction. When the SM-DP+ fails, the attempt is recorded
 * as an order in state `error` with the reason (no matching id, no confirmation code: nothing usable exists)
 * and the caller gets 503 `smdp_unavailable` (no answer) or 502 `smdp_rejected` (refused); if ConfirmOrder
 * failed after DownloadOrder succeeded, the allocation is cancelled at the SM-DP+ first, so nothing is left
 * half-ordered there either. One order per profile is ultimately enforced by the SM-DP+ itself, which refuses
 * a DownloadOrder of an ICCID already ordered; our check before calling it gives the clear 409.
 */
export function createEsimService(deps: EsimServiceDeps) {
  const { prisma, smdp, jobs, smdpAddress, log } = deps;

  /**
   * The SIM for a write: visible to the caller (their fleet, or one they may order profiles for), else 404;
   * then the write itself is authorised on the SIM's tenant (staff see every fleet but order only for the
   * platform's own inventory: 403).
   */
  async function simForWrite(actor: Actor, action: "create" | "delete", iccid: string): Promise<Sim> {
    const sim = await prisma.sim.findUnique({ where: { iccid } });
    const visible = sim && (actor.ability.can("read", asSubject("Sim", sim) as never) || actor.ability.can(action, asSubject("EsimProfile", { tenantId: sim.tenantId }) as never));
    if (!sim || !visible) throw new NotFoundError("SIM");
    authorize(actor, action, "EsimProfile", { tenantId: sim.tenantId });
    return sim;
  }

  async function readable(actor: Actor, iccid: string): Promise<EsimProfile> {
    authorize(actor, "read", "EsimProfile");
    const sim = await prisma.sim.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Sim"), { iccid }] }, select: { id: true } });
    if (!sim) throw new NotFoundError("SIM");
    const order = await findCurrentOrder(prisma, sim.id, accessibleBy(actor.ability, "read").ofType("EsimProfile"));
    if (!order) throw new NotFoundError("eSIM profile order", "esim_order_not_found");
    return order;
  }

  async function view(order: EsimProfile): Promise<EsimProfileView> {
    return toView(order, await loadHistory(prisma, order));
  }

  /** After commit: a failed enqueue is not the caller's problem; the webhook sweep delivers the rows anyway. */
  async function deliver(ids: string[]): Promise<void> {
    await deliverSoon(jobs, ids).catch((err: unknown) => log.warn({ err }, "esim: could not enqueue webhook deliveries; the sweep will"));
  }

  /** DownloadOrder + ConfirmOrder; undoes the allocation when ConfirmOrder fails. */
  async function placeOrder(request: { iccid: string; eid?: string; profileType?: string; confirmationCode?: string }): Promise<ConfirmOrderResult> {
    const { iccid, eid, profileType, confirmationCode } = request;
    await smdp.downloadOrder({ iccid, eid, profileType });
    try {
      return await smdp.confirmOrder({ iccid, eid, confirmationCode, releaseFlag: true });
    } catch (err) {
      await smdp.cancelOrder({ iccid, eid, finalProfileStatusIndicator: "Available" }).catch((undo: unknown) => {
        log.warn({ err: undo, iccid }, "esim: cancelling the allocation after a failed ConfirmOrder failed too");
        if (err instanceof Es2PlusError) err.message += " Cancelling the allocation at the SM-DP+ also failed: it may need an operator.";
      });
      throw err;
    }
  }

  function smdpProblem(err: Es2PlusError, profileId: string): AppError {
    if (err.kind === "unavailable") return new AppError(503, "smdp_unavailable", "Service unavailable", `${err.message} Retry later.`, { profileId });
    return new AppError(502, "smdp_rejected", "Bad gateway", err.message, { profileId, ...(err.statusCode ?? {}) });
  }

  return {
    async order(actor: Actor, iccid: string, body: EsimOrderBody): Promise<EsimOrderCreated> {
      authorize(actor, "create", "EsimProfile");
      let eid: string | undefined;
      if (body.eid !== undefined) {
        const checked = validateEid(body.eid);
        if (!checked.ok) throw new ValidationError(`/body/eid ${checked.reason}`, [{ field: "/body/eid", reason: checked.reason }]);
        eid = checked.value;
      }
      const sim = await simForWrite(actor, "create", iccid);
      if (sim.formFactor !== "esim") throw new ConflictError(`SIM ${iccid} is a ${sim.formFactor} SIM, not an eSIM: it has no profile to order.`, "sim_not_esim");
      if (sim.status === "terminated") throw new ConflictError(`SIM ${iccid} is terminated.`, "sim_terminated");
      if (eid && sim.eid && eid !== sim.eid) throw new ConflictError("The EID differs from the eUICC this SIM belongs to.", "esim_eid_mismatch");
      eid ??= sim.eid ?? undefined;
      const existing = await findLiveOrder(prisma, sim.id);
      if (existing) throw new ConflictError("This SIM already has a live eSIM order; cancel it (DELETE) to issue a new one.", "esim_order_exists", { profileId: existing.id });

      const profileType = body.profileType?.trim() || undefined;
      const confirmationCode = body.confirmationCodeRequired ? generateConfirmationCode() : undefined;
      const base = { tenantId: sim.tenantId, simId: sim.id, iccid: sim.iccid, eid: eid ?? null, profileType: profileType ?? null, confirmationCodeRequired: confirmationCode !== undefined };

      let confirmed: ConfirmOrderResult;
      try {
        confirmed = await placeOrder({ iccid: sim.iccid, eid, profileType, confirmationCode });
      } catch (err) {
        if (!(err instanceof Es2PlusError)) throw err;
        log.warn({ err, iccid: sim.iccid, fn: err.fn }, "esim: the SM-DP+ failed an order");
        const failed = await prisma.$transaction(async (tx) => {
          await lockSim(tx, sim.id);
          // A concurrent order won (the SM-DP+ refused ours as a duplicate): that one stands.
          const winner = await findLiveOrder(tx, sim.id);
          if (winner) throw new ConflictError("This SIM already has a live eSIM order; cancel it (DELETE) to issue a new one.", "esim_order_exists", { profileId: winner.id });
          const order = await tx.esimProfile.create({ data: { ...base, smdpAddress, orderState: "error", errorReason: err.message.slice(0, 500) } });
          const details = { smdpFunction: err.fn, smdpSubjectCode: err.statusCode?.subjectCode ?? null, smdpReasonCode: err.statusCode?.reasonCode ?? null };
          const deliveries = await recordChange(tx, actor, { from: null, order, action: "esim_profile.order_failed", reasonCode: err.kind === "unavailable" ? "smdp_unavailable" : "smdp_rejected", reason: err.message.slice(0, 500), details });
          return { order, deliveries };
        });
        await deliver(failed.deliveries);
        throw smdpProblem(err, failed.order.id);
      }

      const created = await prisma.$transaction(async (tx) => {
        await lockSim(tx, sim.id);
        const raced = await findLiveOrder(tx, sim.id);
        if (raced) throw new ConflictError("This SIM already has a live eSIM order; cancel it (DELETE) to issue a new one.", "esim_order_exists", { profileId: raced.id });
        const order = await tx.esimProfile.create({
          data: {
            ...base,
            eid: confirmed.eid ?? base.eid,
            smdpAddress: confirmed.smdpAddress,
            matchingId: confirmed.matchingId,
            orderState: "released",
            confirmationCodeHash: confirmationCode ? hashConfirmationCode(confirmationCode) : null,
          },
        });
        const deliveries = await recordChange(tx, actor, { from: null, order, action: "esim_profile.ordered", reason: null, details: { confirmationCodeRequired: base.confirmationCodeRequired } });
        return { order, deliveries };
      });
      await deliver(created.deliveries);
      return { ...(await view(created.order)), confirmationCode: confirmationCode ?? null };
    },

    async get(actor: Actor, iccid: string): Promise<EsimProfileView> {
      return view(await readable(actor, iccid));
    },

    /** The activation code as a QR code; 409 when the current order has none (failed or cancelled). */
    async qr(actor: Actor, iccid: string, format: "png" | "svg"): Promise<Buffer | string> {
      const current = toView(await readable(actor, iccid), []);
      if (!current.activationCode) throw new ConflictError(`The current order is ${current.orderState} and has no activation code.`, "esim_no_activation_code");
      return format === "png" ? activationQrPng(current.activationCode) : activationQrSvg(current.activationCode);
    },

    /**
     * Cancels the current order: CancelOrder (finalProfileStatusIndicator Available, so the profile can be
     * ordered again) while it is not downloaded. Once downloaded the profile is on the device and SGP.22
     * leaves its removal to the device (the SM-DP+ then notifies the deletion): 409 `esim_already_downloaded`.
     * Cancelling a cancelled order changes nothing. A failed order that never reached the SM-DP+ is cancelled
     * here only.
     */
    async cancel(actor: Actor, iccid: string): Promise<EsimProfileView> {
      authorize(actor, "delete", "EsimProfile");
      const sim = await simForWrite(actor, "delete", iccid);
      const current = await findCurrentOrder(prisma, sim.id);
      if (!current) throw new NotFoundError("eSIM profile order", "esim_order_not_found");
      if (current.orderState === "cancelled") return view(current);
      if (current.orderState === "downloaded" || current.orderState === "installed") {
        throw new ConflictError("The profile is already downloaded to a device; delete it on the device instead.", "esim_already_downloaded");
      }
      if (current.matchingId) {
        try {
          await smdp.cancelOrder({ iccid: sim.iccid, eid: current.eid ?? undefined, matchingId: current.matchingId, finalProfileStatusIndicator: "Available" });
        } catch (err) {
          if (!(err instanceof Es2PlusError)) throw err;
          log.warn({ err, iccid: sim.iccid }, "esim: the SM-DP+ failed a CancelOrder");
          throw err.kind === "unavailable"
            ? new AppError(503, "smdp_unavailable", "Service unavailable", `${err.message} The order is unchanged; retry later.`)
            : new AppError(502, "smdp_rejected", "Bad gateway", err.message, { ...(err.statusCode ?? {}) });
        }
      }
      const cancelled = await prisma.$transaction(async (tx) => {
        await lockSim(tx, sim.id);
        // Only from the state we cancelled at the SM-DP+: a notification that moved it meanwhile wins.
        const { count } = await tx.esimProfile.updateMany({ where: { id: current.id, orderState: current.orderState }, data: { orderState: "cancelled", cancelledAt: new Date() } });
        if (count === 0) throw new ConflictError("The order changed while it was being cancelled; read it again.", "esim_order_changed");
        const order = await tx.esimProfile.findUniqueOrThrow({ where: { id: current.id } });
        const from = { orderState: current.orderState, profileState: current.profileState };
        const deliveries = await recordChange(tx, actor, { from, order, action: "esim_profile.cancelled", reasonCode: "cancelled", reason: null });
        return { order, deliveries };
      });
      await deliver(cancelled.deliveries);
      return view(cancelled.order);
    },
  };
}

