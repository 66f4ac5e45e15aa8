import type { PrismaClient } from "../../../src/platform/db/database.js";
import { createSimUnique } from "../../devices/helpers.js";
import type { Actor, World } from "../recipes.js";
import type { DomainAccess } from "./types.js";

/**
 * Data limits (per SIM and the tenant's policy) and alerts. Customers act on their own tenant; platform staff
 * set limits on SIMs the platform still owns (inventory, where their `update Sim` rule applies), read any
 * tenant's policy and alerts (tenant A's here), change only their own tenant's policy, and acknowledge nothing.
 */

let serial = 0;
async function alertOf(prisma: PrismaClient, tenantId: string): Promise<string> {
  const row = await prisma.alert.create({
    data: { tenantId, kind: "usage_threshold", severity: "warning", message: "The fleet has used 80 % of its pooled data limit.", data: { scope: "pool" }, dedupeKey: `access:${process.pid}:${++serial}` },
  });
  return row.id;
}

async function simFor(prisma: PrismaClient, world: World, actor: Actor) {
  return createSimUnique(prisma, { tenantId: actor.platform ? world.platformId : actor.tenantId, status: actor.platform ? "inventory" : "active" });
}

export const access: DomainAccess = {
  recipes: {
    setSimDataLimit: {
      request: async (c, w, a) => ({ method: "PUT", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}/data-limit`, body: { limitBytes: 1_000_000, suspendAtLimit: true } }),
    },
    // Staff read tenant A's policy (every tenant's); customers their own.
    getUsageLimits: { request: async (_c, w, a) => ({ method: "GET", url: a.platform ? `/v1/usage/limits?tenantId=${w.tenantA.id}` : "/v1/usage/limits" }) },
    // Each caller changes its own tenant's policy (staff: the platform's; a customer's is 403 for them).
    setUsageLimits: { request: async () => ({ method: "PUT", url: "/v1/usage/limits", body: { simThresholds: [50, 100], pooledLimitBytes: "1000000000", pooledThresholds: [80, 100] } }) },
    listAlerts: { request: async () => ({ method: "GET", url: "/v1/alerts?acknowledged=false" }) },
    getAlert: { request: async (c, w, a) => ({ method: "GET", url: `/v1/alerts/${await alertOf(c.prisma, a.platform ? w.tenantA.id : a.tenantId)}` }) },
    acknowledgeAlert: { request: async (c, w, a) => ({ method: "POST", url: `/v1/alerts/${await alertOf(c.prisma, a.platform ? w.tenantA.id : a.tenantId)}/acknowledge` }) },
  },

  async attacks(ctx, tenantAId) {
    const sim = await createSimUnique(ctx.prisma, { tenantId: tenantAId });
    const alert = await ctx.prisma.alert.create({
      data: { tenantId: tenantAId, simId: sim.id, kind: "data_limit", severity: "critical", message: "SIM reached its data limit.", data: { scope: "sim", iccid: sim.iccid }, dedupeKey: `access-attack:${sim.id}` },
    });
    return {
      attacks: {
        setSimDataLimit: { method: "PUT", url: `/v1/sims/${sim.iccid}/data-limit`, body: { limitBytes: 1, suspendAtLimit: true } },
        getUsageLimits: { method: "GET", url: `/v1/usage/limits?tenantId=${tenantAId}` },
        setUsageLimits: { method: "PUT", url: `/v1/usage/limits?tenantId=${tenantAId}`, body: { pooledLimitBytes: 1 } },
        getAlert: { method: "GET", url: `/v1/alerts/${alert.id}` },
        acknowledgeAlert: { method: "POST", url: `/v1/alerts/${alert.id}/acknowledge` },
      },
      ids: [sim.id, sim.iccid, alert.id],
      lists: ["/v1/alerts", `/v1/alerts?iccid=${sim.iccid}`, "/v1/alerts?kind=data_limit"],
    };
  },
};
