import { randomBytes } from "node:crypto";
import type { Role, TenantKind } from "../../src/generated/prisma/enums.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { makeIccid } from "../../src/platform/identifiers.js";
import { hashPassword } from "../../src/platform/passwords.js";
import { DEFAULT_TENANT_SETTINGS } from "../../src/modules/tenants/tenants.schemas.js";

/** Factories for the rows most tests need. Random suffixes keep parallel tests out of each other's way. */
const suffix = () => randomBytes(4).toString("hex");

export async function createTenant(prisma: PrismaClient, overrides: Partial<{ slug: string; kind: TenantKind; legalName: string; status: "active" | "suspended" | "closed" }> = {}) {
  const slug = overrides.slug ?? `t-${suffix()}`;
  return prisma.tenant.create({
    data: {
      kind: overrides.kind ?? "customer",
      slug,
      legalName: overrides.legalName ?? `${slug} Ltd`,
      country: "DE",
      vatId: "DE811907980",
      billingAddress: { line1: "Torstraße 1", postalCode: "10119", city: "Berlin", country: "DE" },
      status: overrides.status ?? "active",
      settings: DEFAULT_TENANT_SETTINGS,
    },
  });
}

export const TEST_PASSWORD = "correct horse battery staple";
// Hashing is deliberately slow; hash the shared test password once per process.
let testHash: Promise<string> | undefined;

export async function createUser(prisma: PrismaClient, opts: { tenantId: string; role: Role; email?: string; status?: "active" | "disabled" }) {
  testHash ??= hashPassword(TEST_PASSWORD);
  const email = opts.email ?? `${opts.role}-${suffix()}@example.com`;
  const user = await prisma.user.create({ data: { email, name: `Test ${opts.role}`, passwordHash: await testHash, status: opts.status ?? "active" } });
  await prisma.membership.create({ data: { tenantId: opts.tenantId, userId: user.id, role: opts.role } });
  return { ...user, password: TEST_PASSWORD };
}

let simCounter = 0;
export async function createSim(
  prisma: PrismaClient,
  opts: { tenantId: string; status?: "inventory" | "ready" | "active" | "suspended" | "terminated"; ratePlanId?: string; labels?: string[]; formFactor?: "ff2" | "ff3" | "ff4" | "mff2" | "esim"; eid?: string; imsi?: string },
) {
  const n = `${process.pid % 100000}`.padStart(5, "0") + `${++simCounter}`.padStart(6, "0");
  return prisma.sim.create({
    data: {
      tenantId: opts.tenantId,
      iccid: makeIccid(`8949${"01"}${n}${"00"}`.slice(0, 18)),
      // 262-01 + a 10-digit MSIN ending in 0: never the simulator's "refuse" suffix 9999.
      imsi: opts.imsi ?? `26201${`${process.pid % 10000}`.padStart(4, "0")}${`${simCounter}`.padStart(5, "0")}0`,
      msisdn: `49151${`${process.pid % 10000}`.padStart(4, "0")}${`${simCounter}`.padStart(5, "0")}1`,
      formFactor: opts.formFactor ?? "ff4",
      status: opts.status ?? "active",
      ...(opts.ratePlanId && { ratePlanId: opts.ratePlanId }),
      ...(opts.labels && { labels: opts.labels }),
      ...(opts.eid && { eid: opts.eid }),
    },
  });
}

export async function createRatePlan(prisma: PrismaClient, overrides: Partial<{ code: string; name: string; currency: string }> = {}) {
  const code = overrides.code ?? `PLAN-${suffix().toUpperCase()}`;
  return prisma.ratePlan.create({ data: { code, name: overrides.name ?? `Plan ${code}`, currency: overrides.currency ?? "EUR" } });
}

/** A platform tenant with an owner, and a customer tenant with one user per role. */
export async function createWorld(prisma: PrismaClient) {
  const platform = await createTenant(prisma, { kind: "platform", slug: `platform-${suffix()}` });
  const staff = {
    owner: await createUser(prisma, { tenantId: platform.id, role: "owner" }),
    viewer: await createUser(prisma, { tenantId: platform.id, role: "viewer" }),
  };
  const tenantA = await createTenant(prisma);
  const tenantB = await createTenant(prisma);
  const roles: Role[] = ["owner", "admin", "operator", "billing", "viewer"];
  const usersA = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, await createUser(prisma, { tenantId: tenantA.id, role: r })]))) as Record<Role, Awaited<ReturnType<typeof createUser>>>;
  const usersB = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, await createUser(prisma, { tenantId: tenantB.id, role: r })]))) as Record<Role, Awaited<ReturnType<typeof createUser>>>;
  return { platform, staff, tenantA, tenantB, usersA, usersB };
}
