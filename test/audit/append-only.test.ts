// The database itself refuses to change or delete audit events through the application's connection.

import t from "tap";
import { verifyChain } from "../../src/modules/audit/audit.verify.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { seedEvents } from "./helpers.js";

const { prisma } = await build(t);
const tenant = await createTenant(prisma);
await seedEvents(prisma, tenant.id, 5);
const snapshot = async () => prisma.auditEvent.findMany({ where: { tenantId: tenant.id }, orderBy: { seq: "asc" } });
const before = await snapshot();

t.test("UPDATE and DELETE are refused, through the ORM and raw SQL alike", async (t) => {
  const where = { tenantId_seq: { tenantId: tenant.id, seq: 3n } };
  await t.rejects(prisma.auditEvent.update({ where, data: { action: "tenant.deleted" } }), "ORM update");
  await t.rejects(prisma.auditEvent.updateMany({ where: { tenantId: tenant.id }, data: { ip: "203.0.113.1" } }), "ORM updateMany");
  await t.rejects(prisma.auditEvent.delete({ where }), "ORM delete");
  await t.rejects(prisma.auditEvent.deleteMany({ where: { tenantId: tenant.id } }), "ORM deleteMany");
  await t.rejects(prisma.$executeRaw`UPDATE enterprise.audit_events SET action = 'x' WHERE tenant_id = ${tenant.id}::uuid`, /append-only \(UPDATE refused\)/, "raw UPDATE");
  await t.rejects(prisma.$executeRaw`DELETE FROM enterprise.audit_events WHERE tenant_id = ${tenant.id}::uuid`, /append-only \(DELETE refused\)/, "raw DELETE");
  t.same(await snapshot(), before, "every event unchanged");
  t.same(await verifyChain(prisma, tenant.id), { ok: true, checked: 5, tenantId: tenant.id });
});

t.test("the retention switch allows deleting, never editing", async (t) => {
  await t.rejects(
    prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT set_config('conekt.audit_retention', 'on', true)`;
      await tx.$executeRaw`UPDATE enterprise.audit_events SET action = 'x' WHERE tenant_id = ${tenant.id}::uuid`;
    }),
    /append-only \(UPDATE refused\)/,
  );
  t.same(await snapshot(), before, "nothing edited");

  const deleted = await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT set_config('conekt.audit_retention', 'on', true)`;
    return tx.$executeRaw`DELETE FROM enterprise.audit_events WHERE tenant_id = ${tenant.id}::uuid AND seq = 5`;
  });
  t.equal(deleted, 1, "a retention sweep deletes");
  // The switch is local to that transaction: the next statement is refused again.
  await t.rejects(prisma.$executeRaw`DELETE FROM enterprise.audit_events WHERE tenant_id = ${tenant.id}::uuid`, /append-only/);
  t.equal(await prisma.auditEvent.count({ where: { tenantId: tenant.id } }), 4);
});
