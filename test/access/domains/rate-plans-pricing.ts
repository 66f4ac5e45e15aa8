import { randomBytes } from "node:crypto";
import type { PrismaClient } from "../../../src/platform/db/database.js";
import { makeIccid } from "../../../src/platform/identifiers.js";
import type { Actor, World } from "../recipes.js";
import type { DomainAccess } from "./types.js";

/**
 * Rate plan prices and SIM plan changes. Price versions: every member reads them with the catalogue; platform
 * owners, admins and billing staff add them. A SIM's plan: whoever sees the SIM reads it; owners, admins and
 * operators of the SIM's tenant change it; staff change only the platform's own SIMs, which are in inventory and
 * so refused with 409 (authorised, not billable).
 */

/** Numbers of their own ("894466", MCC 234-66), so these never collide with other suites' SIMs. */
let serial = 0;
function fresh() {
  const n = `${process.pid % 100000}`.padStart(5, "0") + `${++serial}`.padStart(5, "0");
  return { iccid: makeIccid(`894466${n}00`), imsi: `23466${n}`, msisdn: `4466${n}` };
}

async function ratePlan(prisma: PrismaClient): Promise<string> {
  const code = `PRICING-${randomBytes(4).toString("hex").toUpperCase()}`;
  return (await prisma.ratePlan.create({ data: { code, name: `Pricing ${code}`, currency: "EUR" } })).id;
}

function nextMonth(): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
}

/** A SIM on a plan with a next-period change pending: the platform's own (inventory) for staff. */
async function simFor(prisma: PrismaClient, world: World, actor: Actor) {
  return pendingSim(prisma, actor.platform ? world.platformId : actor.tenantId, actor.platform ? "inventory" : "active");
}

async function pendingSim(prisma: PrismaClient, tenantId: string, status: "inventory" | "active") {
  const [from, to] = [await ratePlan(prisma), await ratePlan(prisma)];
  const sim = await prisma.sim.create({ data: { tenantId, ...fresh(), formFactor: "ff4", status, ratePlanId: status === "inventory" ? null : from } });
  if (status !== "inventory") {
    await prisma.simRatePlanAssignment.create({ data: { simId: sim.id, tenantId, ratePlanId: to, effectiveFrom: new Date(`${nextMonth()}T00:00:00Z`), kind: "next_period", actorType: "system", actorId: "matrix" } });
  }
  return sim;
}

export const access: DomainAccess = {
  recipes: {
    listRatePlanVersions: { request: async (c) => ({ method: "GET", url: `/v1/rate-plans/${await ratePlan(c.prisma)}/versions` }) },
    createRatePlanVersion: {
      request: async (c) => ({ method: "POST", url: `/v1/rate-plans/${await ratePlan(c.prisma)}/versions`, body: { effectiveFrom: nextMonth(), monthlyFee: "2.50", includedBytes: 100_000_000, overagePerMb: "0.01" } }),
    },
    getSimRatePlan: { request: async (c, w, a) => ({ method: "GET", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}/rate-plan` }) },
    changeSimRatePlan: {
      request: async (c, w, a) => ({ method: "PUT", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}/rate-plan`, body: { ratePlanId: await ratePlan(c.prisma), effective: "immediate" } }),
    },
    cancelSimRatePlanChange: { request: async (c, w, a) => ({ method: "DELETE", url: `/v1/sims/${(await simFor(c.prisma, w, a)).iccid}/rate-plan/pending` }) },
  },

  async attacks(ctx, tenantAId) {
    const sim = await pendingSim(ctx.prisma, tenantAId, "active");
    const plan = await ratePlan(ctx.prisma);
    return {
      attacks: {
        getSimRatePlan: { method: "GET", url: `/v1/sims/${sim.iccid}/rate-plan` },
        changeSimRatePlan: { method: "PUT", url: `/v1/sims/${sim.iccid}/rate-plan`, body: { ratePlanId: plan, effective: "immediate" } },
        cancelSimRatePlanChange: { method: "DELETE", url: `/v1/sims/${sim.iccid}/rate-plan/pending` },
        // Rate plans belong to no tenant: B reads their versions (nothing of A in them) and cannot add one (403).
        listRatePlanVersions: { method: "GET", url: `/v1/rate-plans/${plan}/versions` },
        createRatePlanVersion: { method: "POST", url: `/v1/rate-plans/${plan}/versions`, body: { effectiveFrom: nextMonth(), monthlyFee: "0" } },
      },
      ids: [sim.id, sim.iccid, sim.imsi, sim.msisdn!],
      lists: [`/v1/sims?q=${sim.iccid.slice(0, 8)}`],
    };
  },
};
