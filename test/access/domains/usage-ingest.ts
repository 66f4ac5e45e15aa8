import { createSimUnique } from "../../devices/helpers.js";
import { usageRecord } from "../../usage/helpers.js";
import type { DomainAccess } from "./types.js";

/**
 * Usage ingestion. Platform owners, admins and operators write for any tenant's SIMs (the recipe uses one of
 * tenant A's); customer owners and admins for their own tenant's. Everyone else is refused before the body is
 * read. Another tenant's SIM is not a 404 but a per-record `unknown_sim` rejection (200), worded exactly as
 * for a SIM that does not exist and naming no identifier of it.
 */
export const access: DomainAccess = {
  recipes: {
    ingestUsageRecords: {
      request: async (c, w, a) => {
        const sim = await createSimUnique(c.prisma, { tenantId: a.platform ? w.tenantA.id : a.tenantId });
        return { method: "POST", url: "/v1/usage/records", body: [usageRecord(sim.iccid)] };
      },
    },
  },

  async attacks(ctx, tenantAId) {
    const sim = await createSimUnique(ctx.prisma, { tenantId: tenantAId });
    return {
      attacks: {
        // Not id-taking, but B must not write usage for A's SIM by any of its identifiers.
        ingestUsageRecords: {
          method: "POST",
          url: "/v1/usage/records",
          body: [usageRecord(sim.iccid), usageRecord(null, { imsi: sim.imsi }), usageRecord(null, { msisdn: sim.msisdn })],
        },
      },
      ids: [sim.id, sim.iccid, sim.imsi],
      lists: [],
    };
  },
};
