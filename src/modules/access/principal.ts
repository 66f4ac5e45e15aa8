import type { Role, TenantKind } from "../../generated/prisma/enums.js";

/** Who is calling: resolved once per request by the authentication plugin. */
export interface UserPrincipal {
  kind: "user";
  userId: string;
  email: string;
  tenantId: string;
  tenantKind: TenantKind;
  role: Role;
  sessionId: string;
}

export type Principal = UserPrincipal;

/** Everything a service needs to know about the caller: identity, permissions, and audit metadata. */
export interface Actor {
  principal: Principal | null;
  ability: import("./casl-prisma.js").AppAbility;
  ip: string;
  userAgent: string | null;
  requestId: string;
}
