import type { PrismaClient } from "../../platform/db/database.js";
import { ConflictError } from "../../platform/errors.js";
import { generatePassword } from "../../platform/passwords.js";
import { systemActor } from "../audit/audit.writer.js";
import { ensurePlatformTenant, upsertMember } from "./provisioning.js";

/**
 * The first platform administrator. There is no default account or password anywhere: this prints a random
 * one, once. Refuses when a platform owner or admin already exists (further staff are invited by them).
 */
export async function bootstrapPlatformAdmin(prisma: PrismaClient, email: string, name = "Platform administrator") {
  const actor = systemActor("cli:bootstrap");
  const password = generatePassword();
  await prisma.$transaction(async (tx) => {
    // Serialise concurrent bootstraps: the second one waits here, then sees the first one's admin.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('conekt:bootstrap'))`;
    const admins = await tx.membership.count({ where: { tenant: { kind: "platform" }, role: { in: ["owner", "admin"] } } });
    if (admins > 0) throw new ConflictError("A platform administrator already exists; ask them to invite you.", "already_bootstrapped");
    const tenantId = await ensurePlatformTenant(tx, actor);
    await upsertMember(tx, actor, { tenantId, email, name, role: "owner", password });
  }, { timeout: 30_000 });
  return { email: email.toLowerCase(), password };
}
