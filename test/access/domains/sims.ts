import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../../../src/platform/db/database.js";
import { makeIccid } from "../../../src/platform/identifiers.js";
import type { Actor, World } from "../recipes.js";
import type { DomainAccess } from "./types.js";

/**
 * The SIM API, inventory and rate plans. Customers act on their own tenant's SIMs; platform staff read every
 * tenant's, change only the SIMs the platform still owns (inventory), import and allocate. Rate plans are a
 * catalogue every member reads and platform owners, admins and billing staff keep.
 */

/** Numbers of their own ("894488", MCC 234-88), so these never collide with other suites' SIMs. */
let serial = 0;
function fresh() {
  const n = `${process.pid % 100000}`.padStart(5, "0") + `${++serial}`.padStart(5, "0");
  return { iccid: makeIccid(`894488${n}00`), imsi: `23488${n}`, msisdn: `4477${n}` };
}

async function simIn(prisma: PrismaClient, tenantId: string, status: "inventory" | "active" = "active") {
  return prisma.sim.create({ data: { tenantId, ...fresh(), formFactor: "ff4", status, labels: ["matrix"] } });
}

/** A SIM the actor's column may read and (if its role allows) change: the platform's own for staff. */
const simFor = (prisma: PrismaClient, world: World, actor: Actor) => simIn(prisma, actor.platform ? world.platformId : actor.tenantId, actor.platform ? "inventory" : "active");

async function ratePlan(prisma: PrismaClient): Promise<string> {
  const code = `MATRIX-${randomBytes(4).toString("hex").toUpperCase()}`;
  return (await prisma.ratePlan.create({ data: { code, name: `Matrix ${code}`, currency: "EUR" } })).id;
}

export const access: DomainAccess = {
  recipes: {
    listSims: { request: async () => ({ method: "GET", url: "/v1/sims?limit=5" }) },
    getSim: { request: async (c, w, a) => ({ method: "GET", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}` }) },
    updateSim: { request: async (c, w, a) => ({ method: "PATCH", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}`, body: { labels: ["matrix", "changed"], customName: "Matrix SIM" } }) },
    listSimEvents: { request: async (c, w, a) => ({ method: "GET", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}/events` }) },
    importSims: { request: async () => ({ method: "POST", url: "/v1/inventory/sims/import", body: { sims: [{ ...fresh(), formFactor: "ff4", pin: "1234", puk: "12345678" }] } }) },
    allocateSims: {
      request: async (c, w) => {
        const sim = await simIn(c.prisma, w.platformId, "inventory");
        return { method: "POST", url: "/v1/inventory/sims/allocate", body: { tenantId: w.tenantA.id, ratePlanId: await ratePlan(c.prisma), iccids: [sim.iccid] } };
      },
    },
    listRatePlans: { request: async () => ({ method: "GET", url: "/v1/rate-plans" }) },
    createRatePlan: { request: async () => ({ method: "POST", url: "/v1/rate-plans", body: { code: `NEW-${randomBytes(4).toString("hex").toUpperCase()}`, name: "Matrix plan", currency: "EUR" } }) },
    getRatePlan: { request: async (c) => ({ method: "GET", url: `/v1/rate-plans/${await ratePlan(c.prisma)}` }) },
    updateRatePlan: { request: async (c) => ({ method: "PATCH", url: `/v1/rate-plans/${await ratePlan(c.prisma)}`, body: { name: "Renamed plan" } }) },
  },

  async attacks(ctx, tenantAId) {
    const sim = await simIn(ctx.prisma, tenantAId);
    const plan = await ratePlan(ctx.prisma);
    return {
      attacks: {
        getSim: { method: "GET", url: `/v1/sims/${sim.iccid}` },
        updateSim: { method: "PATCH", url: `/v1/sims/${sim.iccid}`, body: { labels: ["pwned"], customName: "pwned" } },
        listSimEvents: { method: "GET", url: `/v1/sims/${sim.iccid}/events` },
        listSims: { method: "GET", url: `/v1/sims?tenantId=${tenantAId}` },
        // Rate plans belong to no tenant: B may read one (200, nothing of A in it) but not change it (403).
        getRatePlan: { method: "GET", url: `/v1/rate-plans/${plan}` },
        updateRatePlan: { method: "PATCH", url: `/v1/rate-plans/${plan}`, body: { name: "pwned" } },
        allocateSims: { method: "POST", url: "/v1/inventory/sims/allocate", body: { tenantId: tenantAId, ratePlanId: plan, count: 1 } },
      },
      ids: [sim.iccid, sim.imsi, sim.msisdn!],
      lists: ["/v1/sims", `/v1/sims?q=${sim.iccid.slice(0, 8)}`],
    };
  },
};
