import { Type } from "typebox";
import type { App } from "../../http/route-types.js";
import type { BillingContactsService } from "./billing-contacts.service.js";
import type { BillingProfileService } from "./billing-profile.service.js";
import {
  BillingContactCreateBody,
  BillingContactListQuery,
  BillingContactPage,
  BillingContactParams,
  BillingContactPatchBody,
  BillingContactView,
  BillingProfilePatchBody,
  BillingProfileView,
  TenantQuery,
} from "./billing-profile.schemas.js";

export async function billingProfileRoutes(app: App, opts: { profile: BillingProfileService; contacts: BillingContactsService }) {
  const { profile, contacts } = opts;
  const tags = ["billing"];

  app.get(
    "/v1/billing/profile",
    { schema: { operationId: "getBillingProfile", tags, summary: "The tenant's billing details and contacts", querystring: TenantQuery, response: { 200: BillingProfileView } } },
    async (request) => profile.get(request.actor, request.query),
  );

  app.patch(
    "/v1/billing/profile",
    {
      schema: { operationId: "updateBillingProfile", tags, summary: "Change the tenant's billing address, billing email or VAT id", querystring: TenantQuery, body: BillingProfilePatchBody, response: { 200: BillingProfileView } },
    },
    async (request) => profile.update(request.actor, request.query, request.body),
  );

  app.get(
    "/v1/billing/contacts",
    { schema: { operationId: "listBillingContacts", tags, summary: "The tenant's billing contacts", querystring: BillingContactListQuery, response: { 200: BillingContactPage } } },
    async (request) => contacts.list(request.actor, request.query),
  );

  app.post(
    "/v1/billing/contacts",
    { schema: { operationId: "createBillingContact", tags, summary: "Add a billing contact", body: BillingContactCreateBody, response: { 201: BillingContactView } } },
    async (request, reply) => reply.status(201).send(await contacts.create(request.actor, request.body)),
  );

  app.patch(
    "/v1/billing/contacts/:id",
    { schema: { operationId: "updateBillingContact", tags, summary: "Change a billing contact", params: BillingContactParams, body: BillingContactPatchBody, response: { 200: BillingContactView } } },
    async (request) => contacts.update(request.actor, request.params.id, request.body),
  );

  app.delete(
    "/v1/billing/contacts/:id",
    { schema: { operationId: "deleteBillingContact", tags, summary: "Remove a billing contact", params: BillingContactParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await contacts.remove(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
