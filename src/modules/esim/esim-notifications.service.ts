import type { PrismaClient } from "../../platform/db/database.js";
import { NotFoundError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { deliverSoon } from "../webhooks/webhook-events.js";
import { lockSim, recordChange } from "./esim.repository.js";
import type { EsimNotificationBody } from "./esim.schemas.js";
import { transitionFor } from "./notification-points.js";

export type EsimNotificationsService = ReturnType<typeof createEsimNotificationsService>;

/**
 * The SM-DP+'s ES2+.HandleDownloadProgressInfo: download and installation progress, and the profile's later
 * state on the device, applied to the order it concerns. Sent by the operator's SM-DP+ integration with a
 * platform API key holding `network:write` (ability: update EsimProfile on every tenant).
 * Idempotent: the change is computed from the order's current state, so a repeated (or late) notification
 * changes nothing and records nothing.
 */
export function createEsimNotificationsService(deps: { prisma: PrismaClient; jobs: JobRunner; log: { warn(obj: object, msg: string): void } }) {
  const { prisma, jobs, log } = deps;

  return {
    /** Returns whether anything changed. */
    async handle(actor: Actor, n: EsimNotificationBody): Promise<boolean> {
      authorize(actor, "update", "EsimProfile");
      const sim = await prisma.sim.findUnique({ where: { iccid: n.iccid }, select: { id: true } });
      // The order the SM-DP+ knows: the latest one that reached it (has a matching id).
      const target = sim && (await prisma.esimProfile.findFirst({ where: { simId: sim.id, matchingId: { not: null } }, orderBy: { createdAt: "desc" } }));
      if (!sim || !target) throw new NotFoundError("eSIM profile order", "esim_order_not_found");
      authorize(actor, "update", "EsimProfile", target);

      const result = await prisma.$transaction(async (tx) => {
        await lockSim(tx, sim.id);
        const order = await tx.esimProfile.findUniqueOrThrow({ where: { id: target.id } });
        const next = transitionFor(order, n);
        // The SM-DP+ learns the EID during the download of an order not linked to one.
        const learnedEid = n.eid && !order.eid ? n.eid : undefined;
        if (!next) {
          if (learnedEid) await tx.esimProfile.update({ where: { id: order.id }, data: { eid: learnedEid } });
          return { changed: false, deliveries: [] as string[] };
        }
        const updated = await tx.esimProfile.update({
          where: { id: order.id },
          data: {
            orderState: next.orderState,
            profileState: next.profileState,
            ...(next.orderState === "error" ? { errorReason: next.reason } : {}),
            ...(learnedEid ? { eid: learnedEid } : {}),
          },
        });
        const deliveries = await recordChange(tx, actor, {
          from: { orderState: order.orderState, profileState: order.profileState },
          order: updated,
          action: "esim_profile.state_changed",
          reasonCode: next.reasonCode,
          reason: next.reason,
          details: { notificationPointId: n.notificationPointId, notificationStatus: n.notificationPointStatus.status, reportedAt: n.timestamp },
        });
        return { changed: true, deliveries };
      });
      await deliverSoon(jobs, result.deliveries).catch((err: unknown) => log.warn({ err }, "esim: could not enqueue webhook deliveries; the sweep will"));
      return result.changed;
    },
  };
}
