import type { Role } from "../../generated/prisma/enums.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { ConflictError } from "../../platform/errors.js";
import { generatePassword } from "../../platform/passwords.js";
import { reissueDemoApiKey } from "../api-keys/demo-key.js";
import { systemActor } from "../audit/audit.writer.js";
import { DEFAULT_TENANT_SETTINGS } from "../tenants/tenants.schemas.js";
import { upsertMember } from "../users/provisioning.js";
import { seedDemoFleet } from "./demo-fleet.js";

/** Marks tenants created by `demo` in their settings. */
const DEMO_MARK = "demo";
const isDemoTenant = (settings: unknown) => typeof settings === "object" && settings !== null && (settings as Record<string, unknown>)[DEMO_MARK] === true;

export const DEMO_ROLES: Role[] = ["owner", "admin", "operator", "billing", "viewer"];

export interface DemoResult {
  tenantId: string;
  slug: string;
  users: Array<{ email: string; password: string; role: Role }>;
  sims: number;
  esims: number;
  usageRecords: number;
  /** An API key with the admin role's scopes (shown once; each run revokes the previous one). */
  apiKey: string;
  /** False when the fleet already existed (running demo again creates no duplicates). */
  created: boolean;
}

/**
 * A realistic demo customer: the tenant, one user per role, 1,000 SIMs and 30 days of usage.
 * Idempotent per slug; a re-run issues fresh passwords for the demo users (printed once, like the first).
 */
export async function seedDemo(prisma: PrismaClient, slug: string): Promise<DemoResult> {
  const actor = systemActor("cli:demo");
  const legalName = `${slug.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => `${d ? " " : ""}${c.toUpperCase()}`)} IoT GmbH`;
  const { tenantId, users, apiKey } = await prisma.$transaction(
    async (tx) => {
      const existing = await tx.tenant.findUnique({ where: { slug } });
      // Only a tenant that demo itself made may be re-seeded: never hand out accounts of a real tenant.
      if (existing && (existing.kind !== "customer" || !isDemoTenant(existing.settings))) {
        throw new ConflictError(`Tenant "${slug}" exists and is not a demo tenant; choose another slug.`, "not_a_demo_tenant");
      }
      const tenant =
        existing ??
        (await tx.tenant.create({
          data: {
            kind: "customer",
            slug,
            legalName,
            country: "DE",
            vatId: "DE811907980",
            billingAddress: { line1: "Friedrichstraße 68", postalCode: "10117", city: "Berlin", country: "DE" },
            billingEmail: `billing@${slug}.example.com`,
            settings: { ...DEFAULT_TENANT_SETTINGS, [DEMO_MARK]: true },
          },
        }));
      const users: DemoResult["users"] = [];
      let adminUserId: string | undefined;
      for (const role of DEMO_ROLES) {
        const email = `${role}@${slug}.example.com`;
        const password = generatePassword();
        const { userId } = await upsertMember(tx, actor, { tenantId: tenant.id, email, name: `Demo ${role}`, role, password });
        if (role === "admin") adminUserId = userId;
        users.push({ email, password, role });
      }
      if (!adminUserId) throw new Error("DEMO_ROLES must include admin");
      const apiKey = await reissueDemoApiKey(tx, actor, { tenantId: tenant.id, adminUserId });
      return { tenantId: tenant.id, users, apiKey };
    },
    { timeout: 60_000 },
  );
  const fleet = await seedDemoFleet(prisma, { tenantId, slug });
  return { tenantId, slug, users, apiKey, sims: fleet.sims, esims: fleet.esims, usageRecords: fleet.usageRecords, created: fleet.created };
}
