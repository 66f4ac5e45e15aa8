import t from "tap";
import { createProcessors } from "../../jobs/processors.js";
import { createKeyring } from "../../src/platform/crypto.js";
import { createInProcessRunner } from "../../src/platform/jobs/in-process-runner.js";
import { build } from "../helpers/build.js";

/** Name of the partition holding the month `monthsAhead` from now (UTC), as the migration names them. */
function partitionName(monthsAhead: number): string {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + monthsAhead, 1));
  return `usage_records_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

async function partitionExists(prisma: Awaited<ReturnType<typeof build>>["prisma"], name: string): Promise<boolean> {
  const rows = await prisma.$queryRaw<Array<{ n: bigint }>>`
    SELECT count(*) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'connectivity.usage_records'::regclass AND c.relname = ${name}`;
  return rows[0]!.n === 1n;
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

t.test("the partition job runs on BullMQ and creates upcoming months", async (t) => {
  const { runtime, prisma } = await build(t);
  t.equal(runtime.jobs.kind, "bullmq");
  const target = partitionName(8);
  t.notOk(await partitionExists(prisma, target), "not there before the job");
  await runtime.jobs.start();
  await runtime.jobs.enqueue("usage-partitions.ensure", { monthsAhead: 8 }, { jobId: "test-partitions-8" });
  t.ok(await waitFor(() => partitionExists(prisma, target), 15_000), `${target} created by the worker`);

  // Records for that month now land in it, not in the default partition.
  const tenant = await prisma.tenant.create({ data: { kind: "customer", slug: "p-test", legalName: "P", country: "DE", billingAddress: {} } });
  const d = new Date();
  const startedAt = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 8, 15));
  await prisma.usageRecord.create({ data: { tenantId: tenant.id, sourceId: "r1", startedAt, endedAt: startedAt, simId: tenant.id } });
  const [row] = await prisma.$queryRaw<Array<{ part: string }>>`SELECT tableoid::regclass::text AS part FROM connectivity.usage_records WHERE source_id = 'r1'`;
  t.equal(row!.part, `connectivity.${target}`);
});

t.test("without Redis the same processor runs in-process, and re-running is harmless", async (t) => {
  const { prisma, config, runtime } = await build(t);
  const logs: string[] = [];
  const keyring = createKeyring(runtime.secrets.encryptionKeys);
  const runner = createInProcessRunner(createProcessors({ prisma, sql: runtime.db.sql, config, keyring, connectors: runtime.connectors, jobs: () => runner }), (m) => logs.push(m));
  t.teardown(() => runner.close());
  const target = partitionName(10);
  await runner.enqueue("usage-partitions.ensure", { monthsAhead: 10 });
  t.ok(await waitFor(() => partitionExists(prisma, target), 10_000), `${target} created in-process`);
  await runner.enqueue("usage-partitions.ensure", { monthsAhead: 10 });
  await runner.close();
  t.ok(await partitionExists(prisma, target), "still exactly one partition after a second run");
  t.notOk(logs.some((l) => /failed/.test(l)), "no failed attempts");
});
