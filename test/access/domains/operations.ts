import { systemActor } from "../../../src/modules/audit/audit.writer.js";
import { createOperation } from "../../../src/modules/operations/operation-requests.js";
import type { TestApp } from "../../helpers/build.js";
import { seedSims } from "../../operations/helpers.js";
import type { Actor, Recipe, Request, World } from "../recipes.js";
import type { DomainAccess } from "./types.js";

/**
 * Lifecycle requests and bulk operations. Customers act on their own tenant's SIMs; platform staff on the SIMs
 * the platform tenant owns. Each recipe makes a fresh SIM in the state its action needs, so every authorised
 * column gets a 202 (the operation then waits in the queue: no workers run in the matrix).
 */
const sim = async (ctx: TestApp, tenantId: string, status: "ready" | "active" | "suspended") => (await seedSims(ctx.prisma, { tenantId, count: 1, status }))[0]!;

const lifecycle = (action: "activate" | "suspend" | "resume" | "terminate", status: "ready" | "active" | "suspended"): Recipe => ({
  request: async (ctx, _w, a) => ({ method: "POST", url: `/v1/sims/${(await sim(ctx, a.tenantId, status)).iccid}/${action}`, body: { reasonCode: "access_matrix" } }),
});

/** An operation in the actor's tenant (staff read every tenant's; their own is the platform tenant). */
async function operationOf(ctx: TestApp, world: World, actor: Actor): Promise<string> {
  const tenantId = actor.platform ? world.tenantA.id : actor.tenantId;
  const { id } = await sim(ctx, tenantId, "active");
  const { operationId } = await ctx.prisma.$transaction((tx) => createOperation(tx, { tenantId, action: "suspend", simIds: [id], reasonCode: "access_matrix", actor: systemActor("access-matrix") }));
  return operationId;
}

export const access: DomainAccess = {
  recipes: {
    activateSim: lifecycle("activate", "ready"),
    suspendSim: lifecycle("suspend", "active"),
    resumeSim: lifecycle("resume", "suspended"),
    terminateSim: lifecycle("terminate", "active"),
    createBulkOperation: {
      request: async (ctx, _w, a) => ({ method: "POST", url: "/v1/operations", body: { action: "suspend", iccids: [(await sim(ctx, a.tenantId, "active")).iccid] } }),
    },
    listOperations: { request: async () => ({ method: "GET", url: "/v1/operations" }) },
    getOperation: { request: async (ctx, w, a) => ({ method: "GET", url: `/v1/operations/${await operationOf(ctx, w, a)}` }) },
    listOperationItems: { request: async (ctx, w, a) => ({ method: "GET", url: `/v1/operations/${await operationOf(ctx, w, a)}/items` }) },
  },

  /** Tenant A's SIM (one per lifecycle action) and operation, aimed at by tenant B's users and key. */
  async attacks(ctx, tenantAId) {
    const [ready, active, suspended] = [await sim(ctx, tenantAId, "ready"), await sim(ctx, tenantAId, "active"), await sim(ctx, tenantAId, "suspended")];
    const { operationId } = await ctx.prisma.$transaction((tx) =>
      createOperation(tx, { tenantId: tenantAId, action: "suspend", simIds: [active.id], reasonCode: "isolation", actor: systemActor("isolation") }),
    );
    const attacks: Record<string, Request> = {
      activateSim: { method: "POST", url: `/v1/sims/${ready.iccid}/activate` },
      suspendSim: { method: "POST", url: `/v1/sims/${active.iccid}/suspend` },
      resumeSim: { method: "POST", url: `/v1/sims/${suspended.iccid}/resume` },
      terminateSim: { method: "POST", url: `/v1/sims/${active.iccid}/terminate` },
      // A's ICCIDs in B's selection are unknown to B: a dry run answers 200 with `unknown_iccid` and no A state.
      createBulkOperation: { method: "POST", url: "/v1/operations", body: { action: "suspend", iccids: [ready.iccid, active.iccid, suspended.iccid], dryRun: true } },
      getOperation: { method: "GET", url: `/v1/operations/${operationId}` },
      listOperationItems: { method: "GET", url: `/v1/operations/${operationId}/items` },
    };
    return { attacks, ids: [operationId, ready.id, active.id, suspended.id], lists: ["/v1/operations"] };
  },
};
