import { generateMatchingId } from "../../../src/connectors/smdp/matching-id.js";
import type { PrismaClient } from "../../../src/platform/db/database.js";
import { createEsim, progressInfo } from "../../esim/helpers.js";
import type { DomainAccess } from "./types.js";

/**
 * eSIM orders: owners, admins and operators order and cancel for their own fleet (platform staff: the
 * platform's inventory), everyone who sees the fleet reads; only a platform key with network:write (never a
 * person) reports the SM-DP+'s notifications. Orders made here are written directly in `released` state, as
 * the SM-DP+ simulator would have left them; cancelling one reaches the simulator, which accepts it.
 */
async function orderedEsim(prisma: PrismaClient, tenantId: string): Promise<{ iccid: string; simId: string; profileId: string }> {
  const sim = await createEsim(prisma, tenantId);
  const profile = await prisma.esimProfile.create({
    data: { tenantId, simId: sim.id, iccid: sim.iccid, smdpAddress: "smdp.conekt.example", matchingId: generateMatchingId(), orderState: "released" },
  });
  return { iccid: sim.iccid, simId: sim.id, profileId: profile.id };
}

const path = (iccid: string) => `/v1/sims/${iccid}/esim-profile`;

export const access: DomainAccess = {
  recipes: {
    // Writes on a SIM of the actor's own tenant (the platform's inventory for staff).
    orderEsimProfile: { request: async (c, _w, a) => ({ method: "POST", url: path((await createEsim(c.prisma, a.tenantId)).iccid), body: {} }) },
    cancelEsimProfile: { request: async (c, _w, a) => ({ method: "DELETE", url: path((await orderedEsim(c.prisma, a.tenantId)).iccid) }) },
    // Reads: staff look at a customer's fleet.
    getEsimProfile: { request: async (c, w, a) => ({ method: "GET", url: path((await orderedEsim(c.prisma, a.platform ? w.tenantA.id : a.tenantId)).iccid) }) },
    getEsimQrPng: { request: async (c, w, a) => ({ method: "GET", url: `${path((await orderedEsim(c.prisma, a.platform ? w.tenantA.id : a.tenantId)).iccid)}/qr.png` }) },
    getEsimQrSvg: { request: async (c, w, a) => ({ method: "GET", url: `${path((await orderedEsim(c.prisma, a.platform ? w.tenantA.id : a.tenantId)).iccid)}/qr.svg` }) },
    handleEsimNotification: {
      request: async (c, w) => ({ method: "POST", url: "/v1/esim/notifications", body: progressInfo((await orderedEsim(c.prisma, w.tenantA.id)).iccid, 3) }),
    },
  },

  async attacks(ctx, tenantAId) {
    const ordered = await orderedEsim(ctx.prisma, tenantAId);
    const fresh = await createEsim(ctx.prisma, tenantAId);
    return {
      attacks: {
        orderEsimProfile: { method: "POST", url: path(fresh.iccid), body: {} },
        getEsimProfile: { method: "GET", url: path(ordered.iccid) },
        getEsimQrPng: { method: "GET", url: `${path(ordered.iccid)}/qr.png` },
        getEsimQrSvg: { method: "GET", url: `${path(ordered.iccid)}/qr.svg` },
        cancelEsimProfile: { method: "DELETE", url: path(ordered.iccid) },
        handleEsimNotification: { method: "POST", url: "/v1/esim/notifications", body: progressInfo(ordered.iccid, 3) },
      },
      ids: [ordered.profileId, ordered.simId, fresh.id],
      lists: [],
    };
  },
};
