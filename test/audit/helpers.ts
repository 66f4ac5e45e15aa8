import pg from "pg";
import type { Actor } from "../../src/modules/access/principal.js";
import { appendAudit, systemActor, type AuditInput, type SystemActor } from "../../src/modules/audit/audit.writer.js";
import type { PrismaClient } from "../../src/platform/db/database.js";

/**
 * Changes audit rows the way an intruder with database access would: on a raw connection of the test
 * database's superuser with `session_replication_role = replica`, which skips the append-only trigger.
 */
export async function tamper(databaseUrl: string, sql: string, params: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SET session_replication_role = replica");
    const res = await client.query(sql, params);
    return res.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** Appends `n` events to a tenant's chain through the real writer, one transaction per `perTransaction`. */
export async function seedEvents(
  prisma: PrismaClient,
  tenantId: string,
  n: number,
  make: (i: number) => Omit<AuditInput, "tenantId"> = (i) => ({ action: "test.event", targetType: "sim", targetId: `sim-${i}`, data: { i } }),
  opts: { perTransaction?: number; actor?: Actor | SystemActor } = {},
): Promise<void> {
  const per = opts.perTransaction ?? 250;
  const actor = opts.actor ?? { ...systemActor("test:seed"), ip: "192.0.2.10", userAgent: "seed/1.0", requestId: "seed" };
  for (let start = 0; start < n; start += per) {
    await prisma.$transaction(
      async (tx) => {
        for (let i = start; i < Math.min(n, start + per); i++) await appendAudit(tx, actor, { tenantId, ...make(i) });
      },
      { timeout: 60_000, maxWait: 60_000 },
    );
  }
}
