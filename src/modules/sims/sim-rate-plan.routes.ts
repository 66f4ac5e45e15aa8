import { ProblemSchema, type App } from "../../http/route-types.js";
import type { SimRatePlanService } from "./sim-rate-plan.service.js";
import { SimRatePlanChangeBody, SimRatePlanParams, SimRatePlanView } from "./sim-rate-plan.schemas.js";

export async function simRatePlanRoutes(app: App, opts: { simRatePlan: SimRatePlanService }) {
  const { simRatePlan } = opts;
  const tags = ["sims"];

  app.get(
    "/v1/sims/:iccid/rate-plan",
    {
      schema: {
        operationId: "getSimRatePlan",
        tags,
        summary: "A SIM's rate plan, pending change and plan history",
        params: SimRatePlanParams,
        response: { 200: SimRatePlanView, 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => simRatePlan.get(request.actor, request.params.iccid),
  );

  app.put(
    "/v1/sims/:iccid/rate-plan",
    {
      schema: {
        operationId: "changeSimRatePlan",
        tags,
        summary: "Move a SIM to another rate plan, next period or immediately",
        params: SimRatePlanParams,
        body: SimRatePlanChangeBody,
        response: { 200: SimRatePlanView, 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema },
      },
    },
    async (request) => simRatePlan.change(request.actor, request.params.iccid, request.body),
  );

  app.delete(
    "/v1/sims/:iccid/rate-plan/pending",
    {
      schema: {
        operationId: "cancelSimRatePlanChange",
        tags,
        summary: "Cancel a SIM's pending next-period rate plan change",
        params: SimRatePlanParams,
        response: { 200: SimRatePlanView, 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (request) => simRatePlan.cancelPending(request.actor, request.params.iccid),
  );
}
