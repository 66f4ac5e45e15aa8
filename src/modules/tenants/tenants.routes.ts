import type { App } from "../../http/route-types.js";
import type { TenantsService } from "./tenants.service.js";
import { TenantCloseBody, TenantCreateBody, TenantListQuery, TenantPage, TenantParams, TenantPatchBody, TenantView } from "./tenants.schemas.js";

export async function tenantsRoutes(app: App, opts: { tenants: TenantsService }) {
  const { tenants } = opts;
  const tags = ["tenants"];

  app.post(
    "/v1/tenants",
    { schema: { operationId: "createTenant", tags, summary: "Onboard a customer tenant (platform staff)", body: TenantCreateBody, response: { 201: TenantView } } },
    async (request, reply) => reply.status(201).send(await tenants.create(request.actor, request.body)),
  );

  app.get(
    "/v1/tenants",
    { schema: { operationId: "listTenants", tags, summary: "List the tenants the caller may see", querystring: TenantListQuery, response: { 200: TenantPage } } },
    async (request) => tenants.list(request.actor, request.query),
  );

  app.get(
    "/v1/tenants/:id",
    { schema: { operationId: "getTenant", tags, summary: "One tenant", params: TenantParams, response: { 200: TenantView } } },
    async (request) => tenants.get(request.actor, request.params.id),
  );

  app.patch(
    "/v1/tenants/:id",
    { schema: { operationId: "updateTenant", tags, summary: "Change a customer tenant (platform staff)", params: TenantParams, body: TenantPatchBody, response: { 200: TenantView } } },
    async (request) => tenants.update(request.actor, request.params.id, request.body),
  );

  app.post(
    "/v1/tenants/:id/close",
    { schema: { operationId: "closeTenant", tags, summary: "Close a customer tenant (final; starts the retention clock)", params: TenantParams, body: TenantCloseBody, response: { 200: TenantView } } },
    async (request) => tenants.close(request.actor, request.params.id, request.body.reason),
  );
}
