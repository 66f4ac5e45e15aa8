import type { App } from "../../http/route-types.js";
import type { ImeiPolicyService } from "./imei-policy.service.js";
import { IccidParams, ImeiEventPage, ImeiEventsQuery, ImeiPolicyBody, ImeiPolicyView, ImeiRepairBody } from "./imei-policy.schemas.js";

export async function imeiPolicyRoutes(app: App, opts: { imeiPolicy: ImeiPolicyService }) {
  const { imeiPolicy } = opts;
  const tags = ["devices"];

  app.get(
    "/v1/sims/:iccid/imei-policy",
    { schema: { operationId: "getImeiPolicy", tags, summary: "A SIM's IMEI policy", params: IccidParams, response: { 200: ImeiPolicyView } } },
    async (request) => imeiPolicy.get(request.actor, request.params.iccid),
  );

  app.put(
    "/v1/sims/:iccid/imei-policy",
    { schema: { operationId: "setImeiPolicy", tags, summary: "Set a SIM's IMEI policy", params: IccidParams, body: ImeiPolicyBody, response: { 200: ImeiPolicyView } } },
    async (request) => imeiPolicy.set(request.actor, request.params.iccid, request.body),
  );

  app.post(
    "/v1/sims/:iccid/imei-policy/repair",
    {
      schema: { operationId: "openImeiRepairWindow", tags, summary: "Accept the next new device (repair or swap)", params: IccidParams, body: ImeiRepairBody, response: { 200: ImeiPolicyView } },
      // The body is optional (every field has a default): no body reads as `{}`, which the schema then fills in.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => imeiPolicy.openRepairWindow(request.actor, request.params.iccid, request.body),
  );

  app.get(
    "/v1/sims/:iccid/imei-events",
    { schema: { operationId: "listImeiEvents", tags, summary: "A SIM's device history", params: IccidParams, querystring: ImeiEventsQuery, response: { 200: ImeiEventPage } } },
    async (request) => imeiPolicy.listEvents(request.actor, request.params.iccid, request.query),
  );
}
