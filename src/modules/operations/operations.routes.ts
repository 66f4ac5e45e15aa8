import type { App } from "../../http/route-types.js";
import type { LifecycleAction } from "../sims/lifecycle.js";
import type { OperationsService } from "./operations.service.js";
import {
  BulkOperationBody,
  DryRunResult,
  ItemListQuery,
  LifecycleBody,
  OperationItemPage,
  OperationListQuery,
  OperationPage,
  OperationParamsSchema,
  OperationView,
  SimIccidParams,
} from "./operations.schemas.js";

/** 100,000 ICCIDs as JSON or CSV is about 2.3 MB: the bulk route takes more than the service-wide default. */
const BULK_BODY_LIMIT = 4 * 1024 * 1024;

const LIFECYCLE_ROUTES: Array<{ action: LifecycleAction; operationId: string; summary: string }> = [
  { action: "activate", operationId: "activateSim", summary: "Activate a SIM (ready -> active)" },
  { action: "suspend", operationId: "suspendSim", summary: "Suspend a SIM (active -> suspended)" },
  { action: "resume", operationId: "resumeSim", summary: "Resume a suspended SIM (suspended -> active)" },
  { action: "terminate", operationId: "terminateSim", summary: "Terminate a SIM (final)" },
];

export async function operationsRoutes(app: App, opts: { operations: OperationsService }) {
  const { operations } = opts;
  const tags = ["lifecycle"];

  for (const { action, operationId, summary } of LIFECYCLE_ROUTES) {
    app.post(
      `/v1/sims/:iccid/${action}`,
      {
        // The body is optional: without one, validate an empty object (its defaults apply).
        preValidation: async (request) => {
          request.body ??= {};
        },
        schema: { operationId, tags, summary, params: SimIccidParams, body: LifecycleBody, response: { 202: OperationView } },
      },
      async (request, reply) => {
        const view = await operations.requestLifecycle(request.actor, request.params.iccid, action, request.body);
        return reply.status(202).header("location", `/v1/operations/${view.id}`).send(view);
      },
    );
  }

  app.post(
    "/v1/operations",
    {
      bodyLimit: BULK_BODY_LIMIT,
      schema: { operationId: "createBulkOperation", tags, summary: "Start a bulk operation (or a dry run)", body: BulkOperationBody, response: { 200: DryRunResult, 202: OperationView } },
    },
    async (request, reply) => {
      const result = await operations.createBulk(request.actor, request.body);
      if ("dryRun" in result) return reply.status(200).send(result.dryRun);
      return reply.status(202).header("location", `/v1/operations/${result.operation.id}`).send(result.operation);
    },
  );

  app.get(
    "/v1/operations",
    { schema: { operationId: "listOperations", tags, summary: "List operations, newest first", querystring: OperationListQuery, response: { 200: OperationPage } } },
    async (request) => operations.list(request.actor, request.query),
  );

  app.get(
    "/v1/operations/:id",
    { schema: { operationId: "getOperation", tags, summary: "One operation: state, progress, failures", params: OperationParamsSchema, response: { 200: OperationView } } },
    async (request) => operations.get(request.actor, request.params.id),
  );

  app.get(
    "/v1/operations/:id/items",
    { schema: { operationId: "listOperationItems", tags, summary: "An operation's SIMs and their outcomes", params: OperationParamsSchema, querystring: ItemListQuery, response: { 200: OperationItemPage } } },
    async (request) => operations.listItems(request.actor, request.params.id, request.query),
  );
}
