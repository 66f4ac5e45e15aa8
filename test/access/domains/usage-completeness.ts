import type { DomainAccess } from "./types.js";

/**
 * Usage completeness: every reader of usage reads it (platform staff any tenant's); the feeds declare it
 * (platform owners, admins and operators for the operator's feed; customer owners and admins for their own).
 */
export const access: DomainAccess = {
  recipes: {
    getUsageCompleteness: { request: async () => ({ method: "GET", url: "/v1/usage/completeness" }) },
    // Now, each time: a feed's watermark only moves forward, and the matrix declares for the same feed repeatedly.
    declareUsageCompleteness: { request: async () => ({ method: "PUT", url: "/v1/usage/completeness", body: { completeThrough: new Date().toISOString() } }) },
  },

  async attacks(_ctx, tenantAId) {
    return {
      attacks: {
        // Tenant B naming A: 404. B's declaration is B's own feed: it answers B's completeness, nothing of A.
        getUsageCompleteness: { method: "GET", url: `/v1/usage/completeness?tenantId=${tenantAId}` },
        declareUsageCompleteness: { method: "PUT", url: "/v1/usage/completeness", body: { completeThrough: new Date(Date.now() - 60_000).toISOString() } },
      },
      ids: [],
      lists: ["/v1/usage/completeness"],
    };
  },
};
