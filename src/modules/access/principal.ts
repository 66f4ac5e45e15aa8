import type { Role, TenantKind } from "../../generated/prisma/enums.js";
import type { Scope } from "./scopes.js";

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

/** An API client authenticated with `Authorization: Bearer ck_live_...`. */
export interface ApiKeyPrincipal {
  kind: "api_key";
  keyId: string;
  tenantId: string;
  tenantKind: TenantKind;
  scopes: Scope[];
}

export type Principal = UserPrincipal | ApiKeyPrincipal;

/** The id recorded as the actor in audit events. */
export const principalId = (p: Principal): string => (p.kind === "user" ? p.userId : p.keyId);

/** Everything a service needs to know about the caller: identity, permissions, and audit metadata. */
export interface Actor {
  principal: Principal | null;
  ability: import("./casl-prisma.js").AppAbility;
  ip: string;
  userAgent: string | null;
  requestId: string;
}
