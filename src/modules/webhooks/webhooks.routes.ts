import { Type } from "typebox";
import type { App } from "../../http/route-types.js";
import type { WebhooksService } from "./webhooks.service.js";
import {
  WebhookDeliveryListQuery,
  WebhookDeliveryPage,
  WebhookDeliveryParams,
  WebhookDeliveryView,
  WebhookEndpointCreateBody,
  WebhookEndpointCreated,
  WebhookEndpointListQuery,
  WebhookEndpointPage,
  WebhookEndpointParams,
  WebhookEndpointUpdateBody,
  WebhookEndpointView,
  WebhookSecretRotated,
} from "./webhooks.schemas.js";

export async function webhooksRoutes(app: App, opts: { webhooks: WebhooksService }) {
  const { webhooks } = opts;
  const tags = ["webhooks"];

  app.post(
    "/v1/webhook-endpoints",
    { schema: { operationId: "createWebhookEndpoint", tags, summary: "Create a webhook endpoint (its secret shown once)", body: WebhookEndpointCreateBody, response: { 201: WebhookEndpointCreated } } },
    async (request, reply) => reply.status(201).send(await webhooks.create(request.actor, request.body)),
  );

  app.get(
    "/v1/webhook-endpoints",
    { schema: { operationId: "listWebhookEndpoints", tags, summary: "List the tenant's webhook endpoints", querystring: WebhookEndpointListQuery, response: { 200: WebhookEndpointPage } } },
    async (request) => webhooks.list(request.actor, request.query),
  );

  app.get(
    "/v1/webhook-endpoints/:id",
    { schema: { operationId: "getWebhookEndpoint", tags, summary: "One webhook endpoint", params: WebhookEndpointParams, response: { 200: WebhookEndpointView } } },
    async (request) => webhooks.get(request.actor, request.params.id),
  );

  app.patch(
    "/v1/webhook-endpoints/:id",
    {
      schema: { operationId: "updateWebhookEndpoint", tags, summary: "Change a webhook endpoint", params: WebhookEndpointParams, body: WebhookEndpointUpdateBody, response: { 200: WebhookEndpointView } },
    },
    async (request) => webhooks.update(request.actor, request.params.id, request.body),
  );

  app.delete(
    "/v1/webhook-endpoints/:id",
    { schema: { operationId: "deleteWebhookEndpoint", tags, summary: "Delete a webhook endpoint", params: WebhookEndpointParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await webhooks.remove(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    "/v1/webhook-endpoints/:id/rotate-secret",
    { schema: { operationId: "rotateWebhookEndpointSecret", tags, summary: "Rotate the signing secret (shown once)", params: WebhookEndpointParams, response: { 200: WebhookSecretRotated } } },
    async (request) => webhooks.rotateSecret(request.actor, request.params.id),
  );

  app.get(
    "/v1/webhook-endpoints/:id/deliveries",
    {
      schema: { operationId: "listWebhookDeliveries", tags, summary: "The endpoint's deliveries and their attempts", params: WebhookEndpointParams, querystring: WebhookDeliveryListQuery, response: { 200: WebhookDeliveryPage } },
    },
    async (request) => webhooks.listDeliveries(request.actor, request.params.id, request.query),
  );

  app.post(
    "/v1/webhook-endpoints/:id/deliveries/:deliveryId/redeliver",
    { schema: { operationId: "redeliverWebhook", tags, summary: "Send a delivery again now", params: WebhookDeliveryParams, response: { 202: WebhookDeliveryView } } },
    async (request, reply) => reply.status(202).send(await webhooks.redeliver(request.actor, request.params.id, request.params.deliveryId)),
  );
}
