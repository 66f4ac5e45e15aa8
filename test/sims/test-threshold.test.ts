import t from "tap";
import { selectOverThreshold, simsTestThresholdJob } from "../../jobs/sims-test-threshold.job.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import type { JobContext } from "../../src/platform/jobs/job-runner.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { addDailyUsage, numbers } from "./helpers.js";

const MiB = 1_048_576n;
const jobContext: JobContext = { progress: async () => undefined, attempt: 1, log: () => undefined };

async function readySim(prisma: PrismaClient, tenantId: string, i: number, status: "ready" | "active" = "ready") {
  const n = numbers(7, i);
  return prisma.sim.create({ data: { tenantId, iccid: n.iccid, imsi: n.imsi, msisdn: n.msisdn, formFactor: "ff4", status } });
}

async function withThreshold(prisma: PrismaClient, value: number | null | "absent", status: "active" | "suspended" = "active") {
  const tenant = await createTenant(prisma, { status });
  const settings = { ...(tenant.settings as Record<string, unknown>) };
  if (value === "absent") delete settings.testUsageThresholdBytes;
  else settings.testUsageThresholdBytes = value;
  return prisma.tenant.update({ where: { id: tenant.id }, data: { settings: settings as object } });
}

t.test("the job picks ready SIMs past their tenant's threshold, and asks each only once", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const byDefault = await withThreshold(prisma, "absent"); // settings from before the setting: 1 MiB
  const strict = await withThreshold(prisma, 0);
  const never = await withThreshold(prisma, null);
  const suspended = await withThreshold(prisma, 0, "suspended");

  const over = await readySim(prisma, byDefault.id, 1);
  await addDailyUsage(prisma, over, "2026-11-01", MiB / 2n, 0n);
  await addDailyUsage(prisma, over, "2026-11-02", 0n, MiB / 2n + 1n); // summed over days: 1 MiB + 1
  const exactly = await readySim(prisma, byDefault.id, 2);
  await addDailyUsage(prisma, exactly, "2026-11-01", MiB, 0n); // not past it
  const alreadyActive = await readySim(prisma, byDefault.id, 3, "active");
  await addDailyUsage(prisma, alreadyActive, "2026-11-01", 10n * MiB, 0n);
  const busy = await readySim(prisma, byDefault.id, 4);
  await addDailyUsage(prisma, busy, "2026-11-01", 10n * MiB, 0n);
  await prisma.sim.update({ where: { id: busy.id }, data: { pendingOperationId: "01900000-0000-7000-8000-000000000001", pendingAction: "suspend" } });
  const firstByte = await readySim(prisma, strict.id, 5);
  await addDailyUsage(prisma, firstByte, "2026-11-01", 1n, 0n);
  await readySim(prisma, strict.id, 6); // no usage at all: stays in test even at 0
  const neverSim = await readySim(prisma, never.id, 7);
  await addDailyUsage(prisma, neverSim, "2026-11-01", 100n * MiB, 0n);
  const suspendedSim = await readySim(prisma, suspended.id, 8);
  await addDailyUsage(prisma, suspendedSim, "2026-11-01", 100n * MiB, 0n);

  const picked = await selectOverThreshold(prisma);
  const asMap = Object.fromEntries(picked.map((g) => [g.tenantId, g.simIds]));
  t.same(asMap, { [byDefault.id]: [over.id], [strict.id]: [firstByte.id] }, "over the default, over 0, nothing else");

  // Running the job records one activate operation per tenant; a second run asks nothing new meanwhile.
  const job = simsTestThresholdJob({ prisma, jobs: () => ctx.runtime.jobs });
  t.match(await job({}, jobContext), { sims: 2, operations: 2 });
  const ops = await prisma.operation.findMany({ orderBy: { tenantId: "asc" } });
  t.equal(ops.length, 2);
  t.ok(ops.every((o) => o.action === "activate" && o.reasonCode === "test_threshold_reached" && o.actorType === "system" && o.actorId === "test-threshold"));
  t.same((await prisma.operationItem.findMany({ orderBy: { simId: "asc" } })).map((i) => i.simId), [over.id, firstByte.id].sort());
  t.match(await job({}, jobContext), { sims: 0, operations: 0 }, "SIMs with an activation queued are not asked again");
  t.equal(await prisma.auditEvent.count({ where: { action: "operation.created", tenantId: { in: [byDefault.id, strict.id] } } }), 2);
});

t.test("end to end: a ready SIM past the threshold becomes active with reason test_threshold_reached", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const { prisma } = ctx;
  const tenant = await withThreshold(prisma, 1000);
  const sim = await readySim(prisma, tenant.id, 20);
  const below = await readySim(prisma, tenant.id, 21);
  await addDailyUsage(prisma, sim, "2026-11-03", 600n, 600n);
  await addDailyUsage(prisma, below, "2026-11-03", 500n, 0n);

  await ctx.runtime.jobs.enqueue("sims.test-threshold", {}, { jobId: `threshold-now-${Date.now()}` });
  const deadline = Date.now() + 30_000;
  let status = "ready";
  while (Date.now() < deadline) {
    status = (await prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).status;
    if (status === "active") break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.equal(status, "active", "activated by itself");
  const change = await prisma.simEvent.findFirst({ where: { simId: sim.id, kind: "state_changed" } });
  t.match(change, { fromStatus: "ready", toStatus: "active", reasonCode: "test_threshold_reached", billingEffect: "billable" });
  t.equal((await prisma.sim.findUniqueOrThrow({ where: { id: below.id } })).status, "ready", "the SIM under the threshold stays in test");
});
