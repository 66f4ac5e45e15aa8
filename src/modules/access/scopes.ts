import type { Role } from "../../generated/prisma/enums.js";

/**
 * API key scopes. A key carries scopes no wider than its creator's role (checked when it is created);
 * each scope grants the matching permissions in src/modules/access/abilities.ts.
 */
export const SCOPES = [
  "tenant:read",
  "sims:read",
  "sims:write",
  "esim:write",
  "usage:read",
  "usage:write",
  "billing:read",
  "billing:write",
  "audit:read",
  "webhooks:write",
  // Platform only: the operator's mediation and network feeds.
  "network:write",
] as const;
export type Scope = (typeof SCOPES)[number];

/** The widest scopes each role may put on a key, for customer tenants. */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  owner: ["tenant:read", "sims:read", "sims:write", "esim:write", "usage:read", "usage:write", "billing:read", "billing:write", "audit:read", "webhooks:write"],
  admin: ["tenant:read", "sims:read", "sims:write", "esim:write", "usage:read", "usage:write", "billing:read", "billing:write", "audit:read", "webhooks:write"],
  operator: ["tenant:read", "sims:read", "sims:write", "esim:write", "usage:read"],
  billing: ["tenant:read", "billing:read", "billing:write", "usage:read"],
  viewer: ["tenant:read", "sims:read", "usage:read"],
};

/** Platform staff keys may also feed network events and usage for every tenant. */
export const PLATFORM_ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  owner: SCOPES,
  admin: SCOPES,
  operator: ["tenant:read", "sims:read", "sims:write", "esim:write", "usage:read", "usage:write", "network:write"],
  billing: ["tenant:read", "billing:read", "billing:write", "usage:read"],
  viewer: ["tenant:read", "sims:read", "usage:read"],
};
