import type { App } from "../../http/route-types.js";
import type { OutboxService } from "./outbox.service.js";
import { OutboxPage, OutboxQuery } from "./outbox.schemas.js";

export async function outboxRoutes(app: App, opts: { outbox: OutboxService }) {
  const { outbox } = opts;
  app.get(
    "/v1/platform/outbox",
    { schema: { operationId: "listOutbox", tags: ["users"], summary: "Outgoing mail, newest first (platform owners and admins)", querystring: OutboxQuery, response: { 200: OutboxPage } } },
    async (request, reply) => {
      // Mail may carry single-use links: never cached.
      reply.header("cache-control", "no-store");
      return outbox.list(request.actor, request.query);
    },
  );
}
