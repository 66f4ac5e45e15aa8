import type { PrismaClient } from "../../../src/platform/db/database.js";
import { attach, createSimUnique, imeiOf } from "../../devices/helpers.js";
import type { Actor, World } from "../recipes.js";
import type { DomainAccess } from "./types.js";

/**
 * IMEI policies, devices and network events. Customers act on their own tenant's SIMs; platform staff on SIMs
 * the platform still owns (inventory), which is where their `update Sim` rule applies, and read any tenant's.
 */

/** A SIM the actor's column may act on: the platform's own for staff, the actor's tenant's for customers. */
async function simFor(prisma: PrismaClient, world: World, actor: Actor, opts: { locked?: boolean } = {}) {
  const sim = await createSimUnique(prisma, { tenantId: actor.platform ? world.platformId : actor.tenantId, status: actor.platform ? "inventory" : "active" });
  if (!opts.locked) return sim;
  return prisma.sim.update({ where: { id: sim.id }, data: { imeiLockMode: "lock", boundImei: imeiOf() } });
}

async function deviceOf(prisma: PrismaClient, tenantId: string): Promise<string> {
  const imei = imeiOf();
  await prisma.device.create({ data: { tenantId, imei, tac: imei.slice(0, 8), firstSeenAt: new Date(), lastSeenAt: new Date() } });
  return imei;
}

export const access: DomainAccess = {
  recipes: {
    getImeiPolicy: { request: async (c, w, a) => ({ method: "GET", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}/imei-policy` }) },
    setImeiPolicy: {
      request: async (c, w, a) => ({ method: "PUT", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}/imei-policy`, body: { mode: "lock", imei: imeiOf(), onMismatch: "alert" } }),
    },
    openImeiRepairWindow: {
      request: async (c, w, a) => ({ method: "POST", url: `/v1/sims/${(await simFor(c.prisma, w, a, { locked: true })).iccid}/imei-policy/repair`, body: { minutes: 60 } }),
    },
    listImeiEvents: { request: async (c, w, a) => ({ method: "GET", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}/imei-events` }) },
    listDevices: { request: async () => ({ method: "GET", url: "/v1/devices" }) },
    // Staff read any tenant's devices: tenant A's.
    getDevice: { request: async (c, w, a) => ({ method: "GET", url: `/v1/devices/${await deviceOf(c.prisma, a.platform ? w.tenantA.id : a.tenantId)}` }) },
    // Only platform API keys with network:write feed events: every signed-in person is refused.
    ingestNetworkEvents: {
      request: async (c, w, a) => ({ method: "POST", url: "/v1/network-events", body: { events: [attach((await simFor(c.prisma, w, a)).iccid, imeiOf(), new Date(Date.now() - 1000))] } }),
    },
  },

  async attacks(ctx, tenantAId) {
    const sim = await createSimUnique(ctx.prisma, { tenantId: tenantAId });
    const locked = await ctx.prisma.sim.update({ where: { id: (await createSimUnique(ctx.prisma, { tenantId: tenantAId })).id }, data: { imeiLockMode: "lock", boundImei: imeiOf() } });
    const imei = await deviceOf(ctx.prisma, tenantAId);
    await ctx.prisma.device.update({ where: { tenantId_imei: { tenantId: tenantAId, imei } }, data: { lastSimId: sim.id } });
    await ctx.prisma.sim.update({ where: { id: sim.id }, data: { lastSeenImei: imei, lastSeenAt: new Date() } });
    await ctx.prisma.imeiEvent.create({ data: { tenantId: tenantAId, simId: sim.id, kind: "first_seen", imei, source: "network_event", at: new Date() } });
    return {
      attacks: {
        getImeiPolicy: { method: "GET", url: `/v1/sims/${sim.iccid}/imei-policy` },
        setImeiPolicy: { method: "PUT", url: `/v1/sims/${sim.iccid}/imei-policy`, body: { mode: "lock", imei: imeiOf(), onMismatch: "suspend" } },
        openImeiRepairWindow: { method: "POST", url: `/v1/sims/${locked.iccid}/imei-policy/repair`, body: { minutes: 60 } },
        listImeiEvents: { method: "GET", url: `/v1/sims/${sim.iccid}/imei-events` },
        getDevice: { method: "GET", url: `/v1/devices/${imei}` },
        // Not id-taking, but a customer key must not feed events for another tenant's SIM (or its own).
        ingestNetworkEvents: { method: "POST", url: "/v1/network-events", body: { events: [attach(sim.iccid, imeiOf(), new Date(Date.now() - 1000))] } },
      },
      ids: [sim.id, sim.iccid, locked.iccid, imei],
      lists: ["/v1/devices", `/v1/devices?q=${imei.slice(0, 8)}`],
    };
  },
};
