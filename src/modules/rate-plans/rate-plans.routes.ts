import type { App } from "../../http/route-types.js";
import type { RatePlansService } from "./rate-plans.service.js";
import { RatePlanCreateBody, RatePlanListQuery, RatePlanPage, RatePlanParams, RatePlanPatchBody, RatePlanView } from "./rate-plans.schemas.js";

export async function ratePlansRoutes(app: App, opts: { ratePlans: RatePlansService }) {
  const { ratePlans } = opts;
  const tags = ["rate-plans"];

  app.post(
    "/v1/rate-plans",
    { schema: { operationId: "createRatePlan", tags, summary: "Create a rate plan (platform staff)", body: RatePlanCreateBody, response: { 201: RatePlanView } } },
    async (request, reply) => reply.status(201).send(await ratePlans.create(request.actor, request.body)),
  );

  app.get(
    "/v1/rate-plans",
    { schema: { operationId: "listRatePlans", tags, summary: "The rate plan catalogue", querystring: RatePlanListQuery, response: { 200: RatePlanPage } } },
    async (request) => ratePlans.list(request.actor, request.query),
  );

  app.get(
    "/v1/rate-plans/:id",
    { schema: { operationId: "getRatePlan", tags, summary: "One rate plan", params: RatePlanParams, response: { 200: RatePlanView } } },
    async (request) => ratePlans.get(request.actor, request.params.id),
  );

  app.patch(
    "/v1/rate-plans/:id",
    { schema: { operationId: "updateRatePlan", tags, summary: "Change or retire a rate plan (platform staff)", params: RatePlanParams, body: RatePlanPatchBody, response: { 200: RatePlanView } } },
    async (request) => ratePlans.update(request.actor, request.params.id, request.body),
  );
}
