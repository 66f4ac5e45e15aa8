import type { App } from "../../http/route-types.js";
import type { LimitsService } from "./limits.service.js";
import { SimDataLimitBody, SimDataLimitParams, SimDataLimitView, UsageLimitsBody, UsageLimitsQuery, UsageLimitsView } from "./limits.schemas.js";

export async function limitsRoutes(app: App, opts: { limits: LimitsService }) {
  const { limits } = opts;
  const tags = ["usage"];

  app.put(
    "/v1/sims/:iccid/data-limit",
    {
      schema: {
        operationId: "setSimDataLimit",
        tags,
        summary: "Set or remove a SIM's data limit",
        params: SimDataLimitParams,
        body: SimDataLimitBody,
        response: { 200: SimDataLimitView },
      },
    },
    async (request) => limits.setSimDataLimit(request.actor, request.params.iccid, request.body),
  );

  app.get(
    "/v1/usage/limits",
    { schema: { operationId: "getUsageLimits", tags, summary: "The tenant's data-limit policy and this period's pooled usage", querystring: UsageLimitsQuery, response: { 200: UsageLimitsView } } },
    async (request) => limits.getUsageLimits(request.actor, request.query),
  );

  app.put(
    "/v1/usage/limits",
    {
      schema: {
        operationId: "setUsageLimits",
        tags,
        summary: "Set the tenant's alert thresholds and pooled data limit",
        querystring: UsageLimitsQuery,
        body: UsageLimitsBody,
        response: { 200: UsageLimitsView },
      },
    },
    async (request) => limits.setUsageLimits(request.actor, request.query, request.body),
  );
}
