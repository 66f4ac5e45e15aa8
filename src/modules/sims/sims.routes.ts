import type { App } from "../../http/route-types.js";
import type { SimsService } from "./sims.service.js";
import { SimEventListQuery, SimEventPage, SimListQuery, SimPage, SimParams, SimPatchBody, SimView } from "./sims.schemas.js";

export async function simsRoutes(app: App, opts: { sims: SimsService }) {
  const { sims } = opts;
  const tags = ["sims"];

  app.get(
    "/v1/sims",
    { schema: { operationId: "listSims", tags, summary: "List the SIMs the caller may see", querystring: SimListQuery, response: { 200: SimPage } } },
    async (request) => sims.list(request.actor, request.query),
  );

  app.get(
    "/v1/sims/:iccid",
    { schema: { operationId: "getSim", tags, summary: "One SIM, by ICCID", params: SimParams, response: { 200: SimView } } },
    async (request) => sims.get(request.actor, request.params.iccid),
  );

  app.patch(
    "/v1/sims/:iccid",
    { schema: { operationId: "updateSim", tags, summary: "Change a SIM's labels or custom name", params: SimParams, body: SimPatchBody, response: { 200: SimView } } },
    async (request) => sims.update(request.actor, request.params.iccid, request.body),
  );

  app.get(
    "/v1/sims/:iccid/events",
    { schema: { operationId: "listSimEvents", tags, summary: "A SIM's history, newest first", params: SimParams, querystring: SimEventListQuery, response: { 200: SimEventPage } } },
    async (request) => sims.listEvents(request.actor, request.params.iccid, request.query),
  );
}
