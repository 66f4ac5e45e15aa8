import type { App } from "../../http/route-types.js";
import type { BillingRunsService } from "./billing-runs.service.js";
import { BillingRunCreateBody, BillingRunDetail, BillingRunListQuery, BillingRunPage, BillingRunParams, BillingRunView } from "./billing-runs.schemas.js";

export async function billingRunsRoutes(app: App, opts: { billingRuns: BillingRunsService }) {
  const { billingRuns } = opts;
  const tags = ["billing"];

  app.post(
    "/v1/billing/runs",
    { schema: { operationId: "createBillingRun", tags, summary: "Start a billing run for a period that has ended", body: BillingRunCreateBody, response: { 202: BillingRunView } } },
    async (request, reply) => {
      const run = await billingRuns.create(request.actor, request.body);
      return reply.status(202).header("location", `/v1/billing/runs/${run.id}`).send(run);
    },
  );

  app.get(
    "/v1/billing/runs",
    { schema: { operationId: "listBillingRuns", tags, summary: "List billing runs, newest first", querystring: BillingRunListQuery, response: { 200: BillingRunPage } } },
    async (request) => billingRuns.list(request.actor, request.query),
  );

  app.get(
    "/v1/billing/runs/:id",
    { schema: { operationId: "getBillingRun", tags, summary: "A billing run's progress and its failed tenants", params: BillingRunParams, response: { 200: BillingRunDetail } } },
    async (request) => billingRuns.get(request.actor, request.params.id),
  );
}
