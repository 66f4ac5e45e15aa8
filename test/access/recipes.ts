import { createHash, randomBytes } from "node:crypto";
import type { Role } from "../../src/generated/prisma/enums.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import type { TestApp } from "../helpers/build.js";
import type { Client, Reply } from "../helpers/client.js";
import { createTenant, createUser } from "../helpers/factories.js";
import { access as billingProfileAccess } from "./domains/billing-profile.js";
import { access as billingRunsAccess } from "./domains/billing-runs.js";
import { access as esimAccess } from "./domains/esim.js";
import { access as imeiAccess } from "./domains/imei.js";
import { access as invoicesAccess } from "./domains/invoices.js";
import { access as operationsAccess } from "./domains/operations.js";
import { access as paymentsAccess } from "./domains/payments.js";
import { access as ratePlansPricingAccess } from "./domains/rate-plans-pricing.js";
import { access as simsAccess } from "./domains/sims.js";
import type { DomainAccess } from "./domains/types.js";
import { access as usageCompletenessAccess } from "./domains/usage-completeness.js";
import { access as usageIngestAccess } from "./domains/usage-ingest.js";
import { access as usageLimitsAccess } from "./domains/usage-limits.js";
import { access as usageQueryAccess } from "./domains/usage-query.js";
import { access as webhooksAccess } from "./domains/webhooks.js";

/** The domains that keep their recipes and attacks in test/access/domains/. */
export const DOMAINS: DomainAccess[] = [
  simsAccess,
  operationsAccess,
  esimAccess,
  imeiAccess,
  webhooksAccess,
  usageIngestAccess,
  usageCompletenessAccess,
  usageQueryAccess,
  usageLimitsAccess,
  ratePlansPricingAccess,
  billingRunsAccess,
  invoicesAccess,
  paymentsAccess,
  billingProfileAccess,
];

/**
 * One request per operation in openapi.yaml, built for a given actor, so the permission matrix and the
 * isolation suite can call every route. A recipe makes the fresh objects it needs (a tenant to close, a key to
 * revoke) in the actor's own tenant; the isolation suite swaps in another tenant's ids.
 */
export interface Actor {
  column: string;
  email: string;
  password: string;
  userId: string;
  tenantId: string;
  tenantSlug: string;
  role: Role;
  platform: boolean;
}

export interface World {
  platformId: string;
  tenantA: { id: string; slug: string };
  actors: Record<string, Actor>;
}

export interface Request {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  body?: unknown;
}

export interface Recipe {
  /** Anyone may call it (sign-in steps, probes): not part of the role matrix. */
  public?: boolean;
  /** A success ends the caller's session. */
  endsSession?: boolean;
  request(ctx: TestApp, world: World, actor: Actor): Promise<Request>;
}

const ROLES: Role[] = ["owner", "admin", "operator", "billing", "viewer"];
const suffix = () => randomBytes(4).toString("hex");
const STRONG = () => `Glacier-Harbour-${suffix()}-Lantern`;

export async function createMatrixWorld(prisma: PrismaClient): Promise<World> {
  const platform = await createTenant(prisma, { kind: "platform", slug: `platform-${suffix()}` });
  const tenantA = await createTenant(prisma);
  const actors: Record<string, Actor> = {};
  for (const role of ROLES) {
    const staff = await createUser(prisma, { tenantId: platform.id, role });
    actors[`platform ${role}`] = { column: `platform ${role}`, email: staff.email, password: staff.password, userId: staff.id, tenantId: platform.id, tenantSlug: platform.slug, role, platform: true };
    const member = await createUser(prisma, { tenantId: tenantA.id, role });
    actors[role] = { column: role, email: member.email, password: member.password, userId: member.id, tenantId: tenantA.id, tenantSlug: tenantA.slug, role, platform: false };
  }
  return { platformId: platform.id, tenantA: { id: tenantA.id, slug: tenantA.slug }, actors };
}

export async function signIn(ctx: TestApp, actor: Actor): Promise<Client> {
  const client = ctx.client();
  const res: Reply = await client.login(actor.email, actor.password, actor.tenantSlug);
  if (res.status !== 200) throw new Error(`sign-in as ${actor.column} failed: ${res.status} ${res.body}`);
  return client;
}

/** A tenant the actor administers or, for platform staff, a customer tenant to act on. */
async function targetTenant(ctx: TestApp, actor: Actor): Promise<string> {
  return actor.platform ? (await createTenant(ctx.prisma)).id : actor.tenantId;
}

export async function makeInvitation(prisma: PrismaClient, tenantId: string): Promise<string> {
  const inv = await prisma.invitation.create({
    data: { tenantId, email: `inv-${suffix()}@example.com`, role: "viewer", tokenHash: createHash("sha256").update(suffix()).digest("hex"), expiresAt: new Date(Date.now() + 86_400_000) },
  });
  return inv.id;
}

export async function makeApiKey(prisma: PrismaClient, tenantId: string): Promise<string> {
  const key = await prisma.apiKey.create({
    data: { tenantId, name: "matrix", prefix: `ck_live_${suffix()}`, secretHash: createHash("sha256").update(suffix()).digest("hex"), scopes: ["tenant:read"] },
  });
  return key.id;
}

export const RECIPES: Record<string, Recipe> = {
  getHealth: { public: true, request: async () => ({ method: "GET", url: "/health" }) },
  getReadiness: { public: true, request: async () => ({ method: "GET", url: "/ready" }) },
  getOpenApi: { public: true, request: async () => ({ method: "GET", url: "/openapi.yaml" }) },
  login: { public: true, request: async (_c, _w, a) => ({ method: "POST", url: "/v1/auth/login", body: { email: a.email, password: "wrong password!" } }) },
  refreshSession: { public: true, request: async () => ({ method: "POST", url: "/v1/auth/refresh" }) },
  verifyMfa: { public: true, request: async () => ({ method: "POST", url: "/v1/auth/mfa/verify", body: { mfaToken: "x.y.z", code: "123456" } }) },
  beginMfaEnrolmentAtLogin: { public: true, request: async () => ({ method: "POST", url: "/v1/auth/mfa/enrol", body: { mfaToken: "x.y.z" } }) },
  confirmMfaEnrolmentAtLogin: { public: true, request: async () => ({ method: "POST", url: "/v1/auth/mfa/enrol/confirm", body: { mfaToken: "x.y.z", code: "123456" } }) },
  acceptInvitation: { public: true, request: async () => ({ method: "POST", url: "/v1/invitations/accept", body: { token: "A".repeat(43), name: "X", password: STRONG() } }) },

  logout: { endsSession: true, request: async () => ({ method: "POST", url: "/v1/auth/logout" }) },
  getCsrfToken: { request: async () => ({ method: "GET", url: "/v1/auth/csrf" }) },
  getMe: { request: async () => ({ method: "GET", url: "/v1/me" }) },
  changePassword: {
    endsSession: true,
    // Changes the password to the same strength-checked value it had: the actor's known password stays valid.
    request: async (_c, _w, a) => ({ method: "POST", url: "/v1/me/password", body: { currentPassword: a.password, newPassword: a.password } }),
  },

  listTenants: { request: async () => ({ method: "GET", url: "/v1/tenants" }) },
  createTenant: {
    request: async () => ({
      method: "POST",
      url: "/v1/tenants",
      body: { slug: `m-${suffix()}`, legalName: "Matrix GmbH", country: "DE", billingAddress: { line1: "A 1", postalCode: "10115", city: "Berlin", country: "DE" } },
    }),
  },
  getTenant: { request: async (_c, w, a) => ({ method: "GET", url: `/v1/tenants/${a.platform ? w.tenantA.id : a.tenantId}` }) },
  updateTenant: { request: async (c, _w, a) => ({ method: "PATCH", url: `/v1/tenants/${await targetTenant(c, a)}`, body: { legalName: "Renamed GmbH" } }) },
  closeTenant: {
    request: async (c, _w, a) => {
      // Customers are refused on their own tenant; a fresh one would be another tenant (404, not 403).
      const id = a.platform ? await targetTenant(c, a) : a.tenantId;
      return { method: "POST", url: `/v1/tenants/${id}/close`, body: { reason: "matrix" } };
    },
  },

  listUsers: { request: async () => ({ method: "GET", url: "/v1/users" }) },
  getUser: { request: async (_c, w, a) => ({ method: "GET", url: `/v1/users/${w.actors[a.platform ? "platform viewer" : "viewer"]!.userId}` }) },
  updateUser: {
    request: async (c, _w, a) => {
      const target = await createUser(c.prisma, { tenantId: a.tenantId, role: "operator" });
      return { method: "PATCH", url: `/v1/users/${target.id}`, body: { role: "viewer" } };
    },
  },
  listInvitations: { request: async () => ({ method: "GET", url: "/v1/invitations" }) },
  createInvitation: { request: async () => ({ method: "POST", url: "/v1/invitations", body: { email: `new-${suffix()}@example.com`, role: "viewer" } }) },
  revokeInvitation: { request: async (c, _w, a) => ({ method: "DELETE", url: `/v1/invitations/${await makeInvitation(c.prisma, a.tenantId)}` }) },
  listOutbox: { request: async () => ({ method: "GET", url: "/v1/platform/outbox" }) },

  getMfaStatus: { request: async () => ({ method: "GET", url: "/v1/me/mfa" }) },
  beginTotpEnrolment: { request: async () => ({ method: "POST", url: "/v1/me/mfa/totp" }) },
  confirmTotpEnrolment: { request: async () => ({ method: "POST", url: "/v1/me/mfa/totp/confirm", body: { code: "000000" } }) },
  disableTotp: { request: async (_c, _w, a) => ({ method: "DELETE", url: "/v1/me/mfa/totp", body: { password: a.password } }) },
  regenerateRecoveryCodes: { request: async (_c, _w, a) => ({ method: "POST", url: "/v1/me/mfa/recovery-codes", body: { password: a.password } }) },

  listApiKeys: { request: async () => ({ method: "GET", url: "/v1/api-keys" }) },
  createApiKey: { request: async () => ({ method: "POST", url: "/v1/api-keys", body: { name: `matrix ${suffix()}`, scopes: ["tenant:read"] } }) },
  getApiKey: { request: async (c, _w, a) => ({ method: "GET", url: `/v1/api-keys/${await makeApiKey(c.prisma, a.tenantId)}` }) },
  revokeApiKey: { request: async (c, _w, a) => ({ method: "DELETE", url: `/v1/api-keys/${await makeApiKey(c.prisma, a.tenantId)}` }) },

  listAuditEvents: { request: async () => ({ method: "GET", url: "/v1/audit-events" }) },
  exportAuditEvents: { request: async () => ({ method: "GET", url: "/v1/audit-events.csv" }) },
  verifyAuditChain: { request: async () => ({ method: "GET", url: "/v1/audit-events/verify" }) },

  ...Object.assign({}, ...DOMAINS.map((d) => d.recipes)),
};
