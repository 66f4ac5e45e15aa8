import type { Role } from "../../generated/prisma/enums.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { hashPassword } from "../../platform/passwords.js";
import { appendAudit, type SystemActor } from "../audit/audit.writer.js";
import { DEFAULT_TENANT_SETTINGS } from "../tenants/tenants.schemas.js";

/**
 * Account and tenant creation for operator tooling (bootstrap, demo) where no HTTP caller exists:
 * the same rows and audit events the API writes, attributed to a system actor.
 */
export const PLATFORM_SLUG = "platform";

export async function ensurePlatformTenant(db: Db, actor: SystemActor, legalName = "Conekt platform operator"): Promise<string> {
  const existing = await db.tenant.findFirst({ where: { kind: "platform" }, select: { id: true } });
  if (existing) return existing.id;
  const tenant = await db.tenant.create({
    data: {
      kind: "platform",
      slug: PLATFORM_SLUG,
      legalName,
      country: "DE",
      billingAddress: { line1: "-", postalCode: "-", city: "-", country: "DE" },
      settings: { ...DEFAULT_TENANT_SETTINGS, mfaRequired: true },
    },
  });
  await appendAudit(db, actor, { tenantId: tenant.id, action: "tenant.created", targetType: "tenant", targetId: tenant.id, data: { kind: "platform" } });
  return tenant.id;
}

/** Creates the user (or resets the password of an existing one) and gives them `role` in the tenant. */
export async function upsertMember(
  db: Db,
  actor: SystemActor,
  input: { tenantId: string; email: string; name: string; role: Role; password: string },
): Promise<{ userId: string; created: boolean }> {
  const email = input.email.toLowerCase();
  const passwordHash = await hashPassword(input.password);
  const existing = await db.user.findUnique({ where: { email }, select: { id: true } });
  const user = existing
    ? await db.user.update({ where: { id: existing.id }, data: { passwordHash, passwordChangedAt: new Date(), status: "active" } })
    : await db.user.create({ data: { email, name: input.name, passwordHash } });
  await db.membership.upsert({
    where: { tenantId_userId: { tenantId: input.tenantId, userId: user.id } },
    create: { tenantId: input.tenantId, userId: user.id, role: input.role },
    update: { role: input.role },
  });
  await appendAudit(db, actor, {
    tenantId: input.tenantId,
    action: existing ? "user.password_reset" : "user.created",
    targetType: "user",
    targetId: user.id,
    data: { email, role: input.role },
  });
  return { userId: user.id, created: !existing };
}

export type { PrismaClient };
