import type { PrismaClient } from "../../../src/platform/db/database.js";
import { createSimUnique } from "../../devices/helpers.js";
import type { DomainAccess } from "./types.js";

/**
 * Reading usage: every member of a customer tenant (billing contacts too: they pay for it) reads its own
 * tenant's usage; platform staff (every role) read any tenant's, which the recipes exercise on tenant A.
 */

/** A SIM of the tenant with a day of usage today, so a leak would show its ICCID in any default answer. */
async function simWithUsage(prisma: PrismaClient, tenantId: string) {
  const sim = await createSimUnique(prisma, { tenantId });
  const now = new Date();
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  await prisma.usageDaily.create({ data: { tenantId, simId: sim.id, day, bytesUp: 1n, bytesDown: 2n, records: 1 } });
  return sim;
}

export const access: DomainAccess = {
  recipes: {
    // Staff read any tenant's SIM usage: a SIM of tenant A.
    getSimUsage: { request: async (c, w, a) => ({ method: "GET", url: `/v1/sims/${(await simWithUsage(c.prisma, a.platform ? w.tenantA.id : a.tenantId)).iccid}/usage` }) },
    getUsage: { request: async (_c, w, a) => ({ method: "GET", url: a.platform ? `/v1/usage?groupBy=sim&tenantId=${w.tenantA.id}` : "/v1/usage?groupBy=sim" }) },
  },

  async attacks(ctx, tenantAId) {
    const sim = await simWithUsage(ctx.prisma, tenantAId);
    return {
      attacks: {
        getSimUsage: { method: "GET", url: `/v1/sims/${sim.iccid}/usage` },
        // Not id-taking, but naming tenant A must not reach its usage.
        getUsage: { method: "GET", url: `/v1/usage?groupBy=sim&tenantId=${tenantAId}` },
      },
      ids: [sim.id, sim.iccid],
      lists: ["/v1/usage?groupBy=sim", `/v1/usage?groupBy=sim&iccid=${sim.iccid}`, "/v1/usage?groupBy=sim&format=csv", `/v1/sims/${sim.iccid}/usage?format=csv`],
    };
  },
};
