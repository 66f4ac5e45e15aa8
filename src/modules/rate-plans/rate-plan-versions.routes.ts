import type { App } from "../../http/route-types.js";
import { ProblemSchema } from "../../http/route-types.js";
import type { RatePlanVersionsService } from "./rate-plan-versions.service.js";
import { RatePlanParams, RatePlanVersionCreateBody, RatePlanVersionListQuery, RatePlanVersionPage, RatePlanVersionView } from "./rate-plans.schemas.js";

export async function ratePlanVersionsRoutes(app: App, opts: { versions: RatePlanVersionsService }) {
  const { versions } = opts;
  const tags = ["rate-plans"];

  app.get(
    "/v1/rate-plans/:id/versions",
    {
      schema: {
        operationId: "listRatePlanVersions",
        tags,
        summary: "A rate plan's price versions, latest first",
        params: RatePlanParams,
        querystring: RatePlanVersionListQuery,
        response: { 200: RatePlanVersionPage, 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => versions.list(request.actor, request.params.id, request.query),
  );

  app.post(
    "/v1/rate-plans/:id/versions",
    {
      schema: {
        operationId: "createRatePlanVersion",
        tags,
        summary: "Add a price version from the first day of a month (platform staff)",
        params: RatePlanParams,
        body: RatePlanVersionCreateBody,
        response: { 201: RatePlanVersionView, 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema },
      },
    },
    async (request, reply) => reply.status(201).send(await versions.create(request.actor, request.params.id, request.body)),
  );
}
