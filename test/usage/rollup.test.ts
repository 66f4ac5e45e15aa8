import { PrismaPg } from "@prisma/adapter-pg";
import t from "tap";
import { PrismaClient } from "../../src/generated/prisma/client.js";
import { requestRollup } from "../../src/modules/usage/rollup-trigger.js";
import { rollUpJournal, type RollupResult } from "../../src/modules/usage/rollup.js";
import type { JobRunner } from "../../src/platform/jobs/job-runner.js";
import { createSimUnique, imeiEvents, imeiOf } from "../devices/helpers.js";
import { build, type TestApp } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { dailyMismatches, hourlyMismatches, journalRows, sourceId, store, type TestRecord } from "./journal.js";

/** Jobs the rollup asks for, kept instead of run (the tests that need them running use startJobs). */
function recordingJobs(): JobRunner & { asked: Array<{ name: string; data: unknown; jobId?: string }> } {
  const asked: Array<{ name: string; data: unknown; jobId?: string }> = [];
  return {
    kind: "in-process",
    asked,
    async enqueue(name, data, opts) {
      asked.push({ name, data, jobId: opts?.jobId });
    },
    async start() {},
    async close() {},
    async ping() {},
  };
}

const rollUp = (ctx: TestApp, opts: { maxRecords?: number; jobs?: JobRunner } = {}) =>
  rollUpJournal({ prisma: ctx.prisma, jobs: opts.jobs ?? recordingJobs() }, { maxRecords: opts.maxRecords });

const day = (iso: string) => new Date(`${iso}T00:00:00.000Z`);
const at = (iso: string) => new Date(iso);

t.test("after a rollup the totals equal the sums of the records, per day, hour and network; re-sent records change nothing", async (t) => {
  const ctx = await build(t);
  const sql = ctx.runtime.db.sql;
  const a = await createTenant(ctx.prisma);
  const b = await createTenant(ctx.prisma);
  const sims = [...(await Promise.all([0, 1, 2].map(() => createSimUnique(ctx.prisma, { tenantId: a.id })))), ...(await Promise.all([0, 1].map(() => createSimUnique(ctx.prisma, { tenantId: b.id }))))];
  const networks = ["262-01", "262-02", "228-01", null];
  const now = Date.now();
  const batches: TestRecord[][] = [];
  let n = 0;
  for (let req = 0; req < 12; req++) {
    const batch: TestRecord[] = [];
    for (let i = 0; i < 250; i++, n++) {
      const sim = sims[n % sims.length]!;
      // Spread over the last 9 days (late records among them), odd sizes, some SMS, some with no network.
      const startedAt = new Date(now - ((n * 7_919_113) % (9 * 86_400_000)));
      batch.push({
        sourceId: sourceId(),
        tenantId: sim.tenantId,
        simId: sim.id,
        startedAt,
        endedAt: new Date(startedAt.getTime() + 30_000),
        bytesUp: BigInt((n * 104_729) % 5_000_000),
        bytesDown: BigInt((n * 1_299_709) % 50_000_000),
        smsMo: n % 3,
        smsMt: n % 5 === 0 ? 1 : 0,
        network: networks[n % networks.length]!,
      });
    }
    batches.push(batch);
    t.equal(await store(sql, batch), batch.length);
  }
  // One record above 2^53 bytes: sums stay exact.
  const big = { tenantId: a.id, simId: sims[0]!.id, startedAt: new Date(now - 3_600_000), bytesDown: 2n ** 60n };
  await store(sql, [big]);
  t.equal(await journalRows(ctx.prisma), 12 * 2 + 1, "one journal row per tenant per request");

  // Small slices: many transactions, every slice a few journal rows.
  const result = await rollUp(ctx, { maxRecords: 700 });
  t.match(result, { outcome: "drained", records: 3001, rows: 25 });
  t.ok(result.slices >= 5, `folded in ${result.slices} slices`);
  t.equal(await journalRows(ctx.prisma), 0, "the journal is empty");
  t.equal(await dailyMismatches(ctx.prisma, [a.id, b.id]), 0, "usage_daily = sums of usage_records");
  t.equal(await hourlyMismatches(ctx.prisma, [a.id, b.id]), 0, "usage_hourly = sums of usage_records");
  const total = await ctx.prisma.usageDaily.aggregate({ where: { tenantId: a.id }, _sum: { bytesDown: true, records: true } });
  t.ok((total._sum.bytesDown ?? 0n) > 2n ** 60n, "a bigint total past 2^53");
  t.ok((await ctx.prisma.usageHourly.count({ where: { tenantId: a.id, network: "" } })) > 0, "records without a network count under ''");

  // The feed re-sends everything: nothing is new, nothing is journalled, the totals stay.
  for (const batch of batches) t.equal(await store(sql, batch), 0);
  t.equal(await journalRows(ctx.prisma), 0);
  t.match(await rollUp(ctx), { records: 0 });
  t.equal(await dailyMismatches(ctx.prisma, [a.id, b.id]), 0);
  t.equal(await hourlyMismatches(ctx.prisma, [a.id, b.id]), 0);
});

t.test("records land on their UTC day and hour, whatever the session time zone; late records on their own day", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: tenant.id });
  const rec = (startedAt: Date, bytesUp: number, network: string | null = "262-01"): TestRecord => ({ tenantId: tenant.id, simId: sim.id, startedAt, endedAt: new Date(startedAt.getTime() + 1000), bytesUp, network });
  await store(ctx.runtime.db.sql, [
    rec(at("2026-11-30T23:59:59.999Z"), 1),
    rec(at("2026-12-01T00:00:00.000Z"), 10),
    rec(at("2026-12-01T10:59:59.999Z"), 100),
    rec(at("2026-12-01T11:00:00.000Z"), 1000),
    rec(at("2026-12-01T11:30:00.000Z"), 10000, "262-02"),
  ]);
  // A session in India (UTC+05:30), where local midnight and local hours are not UTC ones.
  const url = new URL(ctx.databaseUrl);
  url.searchParams.set("options", "-c TimeZone=Asia/Kolkata");
  const kolkata = new PrismaClient({ adapter: new PrismaPg({ connectionString: url.toString() }) });
  t.teardown(() => kolkata.$disconnect());
  t.same(await kolkata.$queryRaw`SELECT current_setting('TimeZone') AS tz`, [{ tz: "Asia/Kolkata" }]);
  await rollUpJournal({ prisma: kolkata, jobs: recordingJobs() });

  const daily = await ctx.prisma.usageDaily.findMany({ where: { simId: sim.id }, orderBy: { day: "asc" } });
  t.same(daily.map((d) => [d.day.toISOString().slice(0, 10), d.bytesUp, d.records]), [
    ["2026-11-30", 1n, 1],
    ["2026-12-01", 11110n, 4],
  ]);
  const hourly = await ctx.prisma.usageHourly.findMany({ where: { tenantId: tenant.id }, orderBy: [{ hour: "asc" }, { network: "asc" }] });
  t.same(hourly.map((h) => [h.hour.toISOString(), h.network, h.bytesUp]), [
    ["2026-11-30T23:00:00.000Z", "262-01", 1n],
    ["2026-12-01T00:00:00.000Z", "262-01", 10n],
    ["2026-12-01T10:00:00.000Z", "262-01", 100n],
    ["2026-12-01T11:00:00.000Z", "262-01", 1000n],
    ["2026-12-01T11:00:00.000Z", "262-02", 10000n],
  ]);

  // Days later, a record of 30 November arrives: it is added to that day, the others stay.
  await store(ctx.runtime.db.sql, [rec(at("2026-11-30T12:00:00.000Z"), 5, null)]);
  await rollUp(ctx);
  const after = await ctx.prisma.usageDaily.findMany({ where: { simId: sim.id }, orderBy: { day: "asc" } });
  t.same(after.map((d) => [d.day.toISOString().slice(0, 10), d.bytesUp, d.records]), [
    ["2026-11-30", 6n, 2],
    ["2026-12-01", 11110n, 4],
  ]);
  t.match(await ctx.prisma.usageHourly.findUnique({ where: { tenantId_hour_network: { tenantId: tenant.id, hour: at("2026-11-30T12:00:00.000Z"), network: "" } } }), { bytesUp: 5n, records: 1 });
  t.same(await ctx.prisma.usageDaily.findUnique({ where: { tenantId_simId_day: { tenantId: tenant.id, simId: sim.id, day: day("2026-12-02") } } }), null);
});

t.test("rollups running at once, while ingestion goes on, count every record once", async (t) => {
  const ctx = await build(t);
  const sql = ctx.runtime.db.sql;
  const tenant = await createTenant(ctx.prisma);
  const sims = await Promise.all([0, 1, 2, 3].map(() => createSimUnique(ctx.prisma, { tenantId: tenant.id })));
  const batch = (k: number): TestRecord[] =>
    Array.from({ length: 200 }, (_, i) => ({ tenantId: tenant.id, simId: sims[i % 4]!.id, startedAt: new Date(Date.now() - ((k * 200 + i) % 72) * 3_600_000), bytesUp: 1000 + i, bytesDown: k, network: i % 2 ? "262-01" : "262-03" }));

  let ingesting = true;
  const ingestion = (async () => {
    let stored = 0;
    for (let k = 0; k < 40; k++) stored += await store(sql, batch(k));
    ingesting = false;
    return stored;
  })();
  const results: RollupResult[] = [];
  const roller = async () => {
    while (ingesting) results.push(await rollUp(ctx, { maxRecords: 500 }));
  };
  const [stored] = await Promise.all([ingestion, roller(), roller(), roller()]);
  results.push(await rollUp(ctx));

  t.equal(stored, 8000);
  t.equal(await journalRows(ctx.prisma), 0);
  t.equal(results.reduce((n, r) => n + r.records, 0), 8000, "the runs together folded each record once");
  t.ok(results.some((r) => r.outcome === "busy"), "a run finding another at work returned at once");
  const sum = await ctx.prisma.usageDaily.aggregate({ where: { tenantId: tenant.id }, _sum: { records: true, bytesUp: true } });
  t.equal(sum._sum.records, 8000);
  t.equal(await dailyMismatches(ctx.prisma, [tenant.id]), 0);
  t.equal(await hourlyMismatches(ctx.prisma, [tenant.id]), 0);
});

t.test("a failure inside the slice's transaction loses nothing and counts nothing twice", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: tenant.id });
  const imei = imeiOf();
  const records: TestRecord[] = Array.from({ length: 50 }, (_, i) => ({ tenantId: tenant.id, simId: sim.id, startedAt: new Date(Date.now() - i * 60_000), bytesUp: 7, imei }));
  await store(ctx.runtime.db.sql, records);

  // The IMEI check's device upsert, after the fold statement in the same transaction, fails (a crash stand-in).
  await ctx.prisma.$executeRawUnsafe(`CREATE FUNCTION connectivity.fail_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$`);
  await ctx.prisma.$executeRawUnsafe(`CREATE TRIGGER fail_rollup BEFORE INSERT ON connectivity.devices FOR EACH ROW EXECUTE FUNCTION connectivity.fail_rollup()`);
  await t.rejects(rollUp(ctx), /simulated crash/);
  t.equal(await journalRows(ctx.prisma), 1, "the journal row is still there");
  t.equal(await ctx.prisma.usageDaily.count({ where: { tenantId: tenant.id } }), 0, "no totals");
  t.equal(await ctx.prisma.usageHourly.count({ where: { tenantId: tenant.id } }), 0);
  t.match(await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } }), { lastSeenAt: null, lastSeenImei: null });

  await ctx.prisma.$executeRawUnsafe(`DROP TRIGGER fail_rollup ON connectivity.devices`);
  t.match(await rollUp(ctx), { records: 50 });
  t.match(await rollUp(ctx), { records: 0 }, "a second run finds nothing left");
  t.equal(await dailyMismatches(ctx.prisma, [tenant.id]), 0);
  t.equal((await ctx.prisma.usageDaily.aggregate({ where: { tenantId: tenant.id }, _sum: { bytesUp: true } }))._sum.bytesUp, 350n);
  t.match(await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } }), { lastSeenImei: imei });
});

t.test("last-seen fields move with newer records: at most once a minute on the same network, at once on another", async (t) => {
  const ctx = await build(t);
  const sql = ctx.runtime.db.sql;
  const tenant = await createTenant(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: tenant.id });
  const t0 = Date.UTC(2026, 11, 1, 10, 0, 0);
  const rec = (startSec: number, endSec: number, network: string | null): TestRecord => ({ tenantId: tenant.id, simId: sim.id, startedAt: new Date(t0 + startSec * 1000), endedAt: new Date(t0 + endSec * 1000), bytesUp: 1, network });
  const state = async () => {
    const s = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
    return [s.lastSeenAt?.toISOString() ?? null, s.lastNetwork];
  };
  const iso = (sec: number) => new Date(t0 + sec * 1000).toISOString();

  // Newest sighting is the greatest end; the network is the newest record's that names one.
  await store(sql, [rec(0, 50, "262-01"), rec(10, 120, "262-02"), rec(130, 140, null)]);
  await rollUp(ctx);
  t.same(await state(), [iso(140), "262-02"]);

  // 30 s later, same network: not worth a row update yet.
  await store(sql, [rec(150, 170, "262-02")]);
  await rollUp(ctx);
  t.same(await state(), [iso(140), "262-02"], "within a minute on the same network: unchanged");
  // 30 s later on another network: moves at once.
  await store(sql, [rec(160, 171, "228-01")]);
  await rollUp(ctx);
  t.same(await state(), [iso(171), "228-01"]);
  // A minute later on the same network: moves.
  await store(sql, [rec(200, 231, null)]);
  await rollUp(ctx);
  t.same(await state(), [iso(231), "228-01"], "a record naming no network keeps the last one");
  // A late record (older than the last sighting), on another network: changes nothing.
  await store(sql, [rec(5, 6, "310-260")]);
  const late = await rollUp(ctx);
  t.equal(late.simsMoved, 0);
  t.same(await state(), [iso(231), "228-01"]);
});

t.test("an IMEI change in usage runs the IMEI check: a locked SIM in another device raises the mismatch", async (t) => {
  const ctx = await build(t);
  const sql = ctx.runtime.db.sql;
  const tenant = await createTenant(ctx.prisma);
  const bound = imeiOf();
  const intruder = imeiOf("86000001");
  const locked = await ctx.prisma.sim.update({
    where: { id: (await createSimUnique(ctx.prisma, { tenantId: tenant.id })).id },
    data: { imeiLockMode: "lock", boundImei: bound, lastSeenImei: bound, lastSeenAt: new Date(Date.now() - 3_600_000), lastNetwork: "262-01" },
  });
  const fresh = await createSimUnique(ctx.prisma, { tenantId: tenant.id });
  const steady = await ctx.prisma.sim.update({
    where: { id: (await createSimUnique(ctx.prisma, { tenantId: tenant.id })).id },
    data: { lastSeenImei: bound, lastSeenAt: new Date(Date.now() - 3_600_000) },
  });
  const m = (k: number) => new Date(Date.now() - 60 * 60_000 + k * 60_000);

  // The steady SIM keeps its device: nothing for the check. The same IMEI in many records: seen once.
  await store(sql, Array.from({ length: 20 }, (_, k) => ({ tenantId: tenant.id, simId: steady.id, startedAt: m(k + 1), imei: bound })));
  const quiet = await rollUp(ctx);
  t.equal(quiet.imeiObservations, 0, "no observations leave the database when no IMEI changed");
  t.equal((await imeiEvents(ctx.prisma, steady.id)).length, 0);

  const jobs = recordingJobs();
  await store(sql, [
    { tenantId: tenant.id, simId: locked.id, startedAt: m(10), imei: bound, network: "262-01" },
    { tenantId: tenant.id, simId: locked.id, startedAt: m(20), imei: intruder, network: "262-02" },
    { tenantId: tenant.id, simId: locked.id, startedAt: m(21), imei: intruder, network: "262-02" },
    { tenantId: tenant.id, simId: fresh.id, startedAt: m(30), imei: bound, network: "262-01" },
  ]);
  const result = await rollUp(ctx, { jobs });
  t.equal(result.imeiObservations, 3, "the locked SIM's two records with its bound IMEI and the intruder, and the new SIM's first");

  t.match(await imeiEvents(ctx.prisma, locked.id), [{ kind: "mismatch", imei: intruder, previousImei: bound, source: "usage", actionTaken: "alert", network: "262-02", at: new Date(m(20).getTime() + 60_000) }]);
  t.match(await ctx.prisma.alert.findMany({ where: { simId: locked.id } }), [{ kind: "imei_mismatch", severity: "warning" }]);
  t.match(await ctx.prisma.sim.findUniqueOrThrow({ where: { id: locked.id } }), { lastSeenImei: intruder, lastSeenAt: new Date(m(21).getTime() + 60_000), lastNetwork: "262-02", boundImei: bound });
  t.match(await imeiEvents(ctx.prisma, fresh.id), [{ kind: "first_seen", imei: bound, previousImei: null, source: "usage" }]);
  t.match(await ctx.prisma.sim.findUniqueOrThrow({ where: { id: fresh.id } }), { lastSeenImei: bound, lastNetwork: "262-01" });
  t.equal(await ctx.prisma.device.count({ where: { tenantId: tenant.id, imei: intruder } }), 1, "the intruding device is in the inventory");
  t.ok(jobs.asked.some((j) => j.name === "usage.limits" && (j.data as { tenantIds?: string[] }).tenantIds?.includes(tenant.id)), "the tenant's limits are checked");

  // The intruder keeps sending: it is the SIM's last seen IMEI now, so nothing new is raised.
  await store(sql, [{ tenantId: tenant.id, simId: locked.id, startedAt: m(40), imei: intruder, network: "262-02" }]);
  t.equal((await rollUp(ctx)).imeiObservations, 0);
  t.equal((await imeiEvents(ctx.prisma, locked.id)).length, 1);
});

t.test("a ready SIM past its test threshold through usage turns active within seconds", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const tenant = await createTenant(ctx.prisma); // default threshold: 1 MiB
  const ready = await createSimUnique(ctx.prisma, { tenantId: tenant.id, status: "ready" });
  const below = await createSimUnique(ctx.prisma, { tenantId: tenant.id, status: "ready" });
  // Let the schedules' first runs (at start) pass, so only the rollup's trigger can activate within seconds.
  await new Promise((r) => setTimeout(r, 1500));

  const now = Date.now();
  await store(ctx.runtime.db.sql, [
    { tenantId: tenant.id, simId: ready.id, startedAt: new Date(now - 120_000), bytesUp: 600_000, bytesDown: 600_000 },
    { tenantId: tenant.id, simId: below.id, startedAt: new Date(now - 120_000), bytesUp: 1000 },
  ]);
  await requestRollup(ctx.runtime.jobs);
  const began = Date.now();
  for (;;) {
    const sim = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: ready.id } });
    if (sim.status === "active") break;
    if (Date.now() - began > 20_000) throw new Error(`still ${sim.status} after 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.comment(`ready -> active ${Date.now() - began} ms after the records were stored`);
  t.ok(Date.now() - began < 15_000, "within seconds, not at the minute's sweep");
  t.match(await ctx.prisma.simEvent.findFirst({ where: { simId: ready.id, toStatus: "active" } }), { fromStatus: "ready", reasonCode: "test_threshold_reached" });
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: below.id } })).status, "ready", "below the threshold: still in test");
  t.equal(await journalRows(ctx.prisma), 0);
});
