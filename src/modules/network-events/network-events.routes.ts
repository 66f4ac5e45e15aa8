import type { App } from "../../http/route-types.js";
import type { NetworkEventsService } from "./network-events.service.js";
import { NetworkEventsBody, NetworkEventsResult } from "./network-events.schemas.js";

export async function networkEventsRoutes(app: App, opts: { networkEvents: NetworkEventsService }) {
  const { networkEvents } = opts;

  app.post(
    "/v1/network-events",
    {
      schema: { operationId: "ingestNetworkEvents", tags: ["network"], summary: "Feed network events (operator mediation)", body: NetworkEventsBody, response: { 200: NetworkEventsResult } },
    },
    async (request) => networkEvents.ingest(request.actor, request.body),
  );
}
