import { Type } from "typebox";
import type { App } from "../../http/route-types.js";
import type { ApiKeysService } from "./api-keys.service.js";
import { ApiKeyCreateBody, ApiKeyCreated, ApiKeyListQuery, ApiKeyPage, ApiKeyParams, ApiKeyView } from "./api-keys.schemas.js";

export async function apiKeysRoutes(app: App, opts: { apiKeys: ApiKeysService }) {
  const { apiKeys } = opts;
  const tags = ["api-keys"];

  app.post(
    "/v1/api-keys",
    { schema: { operationId: "createApiKey", tags, summary: "Create an API key (shown once)", body: ApiKeyCreateBody, response: { 201: ApiKeyCreated } } },
    async (request, reply) => reply.status(201).send(await apiKeys.create(request.actor, request.body)),
  );

  app.get(
    "/v1/api-keys",
    { schema: { operationId: "listApiKeys", tags, summary: "List the tenant's API keys", querystring: ApiKeyListQuery, response: { 200: ApiKeyPage } } },
    async (request) => apiKeys.list(request.actor, request.query),
  );

  app.get(
    "/v1/api-keys/:id",
    { schema: { operationId: "getApiKey", tags, summary: "One API key", params: ApiKeyParams, response: { 200: ApiKeyView } } },
    async (request) => apiKeys.get(request.actor, request.params.id),
  );

  app.delete(
    "/v1/api-keys/:id",
    { schema: { operationId: "revokeApiKey", tags, summary: "Revoke an API key", params: ApiKeyParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await apiKeys.revoke(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
