import type { App } from "../../http/route-types.js";
import type { UsersService } from "./users.service.js";
import { UserListQuery, UserPage, UserParams, UserPatchBody, UserView } from "./users.schemas.js";

export async function usersRoutes(app: App, opts: { users: UsersService }) {
  const { users } = opts;
  const tags = ["users"];

  app.get(
    "/v1/users",
    { schema: { operationId: "listUsers", tags, summary: "The members of the caller's tenant", querystring: UserListQuery, response: { 200: UserPage } } },
    async (request) => users.list(request.actor, request.query),
  );

  app.get(
    "/v1/users/:id",
    { schema: { operationId: "getUser", tags, summary: "One member of the caller's tenant", params: UserParams, response: { 200: UserView } } },
    async (request) => users.get(request.actor, request.params.id),
  );

  app.patch(
    "/v1/users/:id",
    { schema: { operationId: "updateUser", tags, summary: "Change a member's role or status (owners and admins)", params: UserParams, body: UserPatchBody, response: { 200: UserView } } },
    async (request) => users.update(request.actor, request.params.id, request.body),
  );
}
