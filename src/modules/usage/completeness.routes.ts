import type { App } from "../../http/route-types.js";
import type { CompletenessService } from "./completeness.service.js";
import { CompletenessBody, CompletenessQuery, CompletenessView } from "./completeness.schemas.js";

export async function completenessRoutes(app: App, opts: { completeness: CompletenessService }) {
  const { completeness } = opts;
  const tags = ["usage"];

  app.get(
    "/v1/usage/completeness",
    { schema: { operationId: "getUsageCompleteness", tags, summary: "How complete the usage figures are", querystring: CompletenessQuery, response: { 200: CompletenessView } } },
    async (request) => completeness.get(request.actor, request.query),
  );

  app.put(
    "/v1/usage/completeness",
    { schema: { operationId: "declareUsageCompleteness", tags, summary: "Declare a usage feed complete through a time", body: CompletenessBody, response: { 200: CompletenessView } } },
    async (request) => completeness.declare(request.actor, request.body),
  );
}
