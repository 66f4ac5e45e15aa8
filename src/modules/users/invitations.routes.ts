import { Type } from "typebox";
import type { App } from "../../http/route-types.js";
import { LoginResult } from "../identity/identity.schemas.js";
import { answerSignIn, type CookieSettings } from "../identity/session-cookies.js";
import type { InvitationsService } from "./invitations.service.js";
import { InvitationAcceptBody, InvitationCreateBody, InvitationListQuery, InvitationPage, InvitationParams, InvitationView } from "./invitations.schemas.js";

export async function invitationsRoutes(app: App, opts: { invitations: InvitationsService } & CookieSettings) {
  const { invitations } = opts;
  const tags = ["users"];
  const settings = { jwtSecret: opts.jwtSecret, secureCookies: opts.secureCookies };

  app.post(
    "/v1/invitations",
    { schema: { operationId: "createInvitation", tags, summary: "Invite someone by email to join the tenant with a role (owners and admins)", body: InvitationCreateBody, response: { 201: InvitationView } } },
    async (request, reply) => reply.status(201).send(await invitations.create(request.actor, request.body)),
  );

  app.get(
    "/v1/invitations",
    { schema: { operationId: "listInvitations", tags, summary: "The tenant's invitations (owners and admins)", querystring: InvitationListQuery, response: { 200: InvitationPage } } },
    async (request) => invitations.list(request.actor, request.query),
  );

  app.delete(
    "/v1/invitations/:id",
    { schema: { operationId: "revokeInvitation", tags, summary: "Revoke a pending invitation (its link stops working)", params: InvitationParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await invitations.revoke(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    "/v1/invitations/accept",
    {
      config: { public: true },
      schema: { operationId: "acceptInvitation", tags, summary: "Accept an invitation: create the account (or confirm an existing one) and sign in", body: InvitationAcceptBody, response: { 200: LoginResult } },
    },
    async (request, reply) => answerSignIn(app, reply, settings, await invitations.accept(request.actor, request.body)),
  );
}
