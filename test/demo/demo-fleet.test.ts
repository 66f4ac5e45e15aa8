import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import t from "tap";
import { PrismaClient } from "../../src/generated/prisma/client.js";
import { DEMO_RATE_PLAN, seedDemoFleet } from "../../src/modules/demo/demo-fleet.js";
import { generateDemoFleet, type DemoFleet } from "../../src/modules/demo/demo-fleet.data.js";
import {
  validateEid,
  validateIccid,
  validateImei,
  validateImsi,
  validateMsisdn,
  validateNetworkCode,
  type IdResult,
} from "../../src/platform/identifiers.js";

const NOW = new Date("2026-03-02T09:30:00.000Z");

/** The normalised value, or a marker no identifier equals, so `t.equal(valid(x), x)` fails on a rejection. */
const valid = (r: IdResult): string => (r.ok ? r.value : `<rejected: ${r.reason}>`);
const dupes = (xs: readonly (string | null)[]): string[] => {
  const seen = new Set<string>();
  return xs.filter((x): x is string => x !== null && (seen.has(x) || !seen.add(x)));
};
const digest = (f: DemoFleet): string =>
  createHash("sha256").update(JSON.stringify(f, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))).digest("hex");

t.test("pure generator", async (t) => {
  const fleet = generateDemoFleet({ slug: "acme", now: NOW });
  const { sims, usage, daily } = fleet;

  t.test("1,000 SIMs with valid, unique identifiers", async (t) => {
    t.equal(sims.length, 1000);
    const bad = {
      iccid: sims.filter((s) => valid(validateIccid(s.iccid)) !== s.iccid).map((s) => s.iccid),
      imsi: sims.filter((s) => valid(validateImsi(s.imsi)) !== s.imsi).map((s) => s.imsi),
      msisdn: sims.filter((s) => valid(validateMsisdn(s.msisdn)) !== s.msisdn).map((s) => s.msisdn),
      eid: sims.filter((s) => s.eid !== null && valid(validateEid(s.eid)) !== s.eid).map((s) => s.eid),
      imei: sims.flatMap((s) => [s.lastSeenImei, s.boundImei]).filter((i) => i !== null && valid(validateImei(i)) !== i),
      network: sims.filter((s) => s.lastNetwork !== null && valid(validateNetworkCode(s.lastNetwork)) !== s.lastNetwork),
    };
    t.same(bad, { iccid: [], imsi: [], msisdn: [], eid: [], imei: [], network: [] }, "every identifier validates as is");
    t.same(dupes(sims.map((s) => s.iccid)), [], "ICCIDs unique");
    t.same(dupes(sims.map((s) => s.imsi)), [], "IMSIs unique");
    t.same(dupes(sims.map((s) => s.msisdn)), [], "MSISDNs unique");
    t.same(dupes(sims.map((s) => s.eid)), [], "EIDs unique");
    t.same(dupes(sims.map((s) => s.id)), [], "ids unique");
    t.same(dupes(sims.map((s) => s.lastSeenImei)), [], "one device per SIM");
    t.ok(sims.every((s) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(s.id)), "UUIDv7 ids");
    t.same(
      usage.filter((u) => (u.imei !== null && valid(validateImei(u.imei)) !== u.imei) ||
        (u.network !== null && valid(validateNetworkCode(u.network)) !== u.network)),
      [],
      "usage IMEIs and networks valid",
    );
  });

  t.test("a realistic mix", async (t) => {
    const count = (pred: (s: (typeof sims)[number]) => boolean) => sims.filter(pred).length;
    const esims = count((s) => s.eid !== null);
    t.ok(esims >= 150 && esims <= 250, `about 20% eSIM-capable (${esims})`);
    t.ok(sims.filter((s) => s.eid !== null).every((s) => s.formFactor === "esim" || s.formFactor === "mff2"),
      "EIDs only on esim/mff2");
    t.ok(count((s) => s.formFactor === "esim" && s.eid === null) === 0, "every esim has an EID");
    t.ok(count((s) => s.status === "active") > 700, "mostly active");
    for (const status of ["ready", "suspended", "terminated"] as const) {
      const n = count((s) => s.status === status);
      t.ok(n > 0 && n < 150, `some ${status} (${n})`);
    }
    t.ok(count((s) => s.labels.includes("fleet:berlin")) > 0 && count((s) => s.labels.includes("model:tracker-v2")) > 0,
      "labels");
    t.ok(count((s) => s.lastSeenImei !== null) > 600, "most SIMs report an IMEI");
    t.ok(usage.some((u) => u.smsMo + u.smsMt > 0), "some SMS");
    t.ok(usage.length > 50_000 && usage.length < 250_000, `a few records a day per active SIM (${usage.length})`);
  });

  t.test("lifecycles and usage are consistent", async (t) => {
    const byId = new Map(sims.map((s) => [s.id, s]));
    const problems: string[] = [];
    for (const s of sims) {
      const at = (d: Date | null) => d?.getTime() ?? NaN;
      if (at(s.createdAt) > at(s.statusChangedAt) || at(s.statusChangedAt) > NOW.getTime()) problems.push(`${s.iccid} times`);
      if ((s.status === "ready") !== (s.activatedAt === null)) problems.push(`${s.iccid} activatedAt`);
      if (s.activatedAt && !(at(s.createdAt) < at(s.activatedAt) && at(s.activatedAt) <= at(s.statusChangedAt))) {
        problems.push(`${s.iccid} activation order`);
      }
      if ((s.status === "terminated") !== (s.terminatedAt !== null)) problems.push(`${s.iccid} terminatedAt`);
      if (s.terminatedAt && at(s.terminatedAt) !== at(s.statusChangedAt)) problems.push(`${s.iccid} terminatedAt`);
      if (s.boundImei !== null && s.boundImei !== s.lastSeenImei) problems.push(`${s.iccid} boundImei`);
      if (at(s.updatedAt) < at(s.statusChangedAt)) problems.push(`${s.iccid} updatedAt`);
    }
    const lastEnd = new Map<string, number>();
    for (const u of usage) {
      const s = byId.get(u.simId);
      const start = u.startedAt.getTime();
      const end = u.endedAt.getTime();
      const stop = s && s.status !== "active" ? s.statusChangedAt.getTime() : NOW.getTime();
      if (!s || !s.activatedAt) problems.push(`${u.sourceId} SIM never active`);
      else if (start < s.activatedAt.getTime() || end > stop) problems.push(`${u.sourceId} outside the SIM's active time`);
      if (start < fleet.windowStart.getTime() || !(start < end) || u.receivedAt < u.endedAt || u.receivedAt > NOW) {
        problems.push(`${u.sourceId} times`);
      }
      if (u.imei !== (s?.lastSeenImei ?? null)) problems.push(`${u.sourceId} imei`);
      lastEnd.set(u.simId, Math.max(lastEnd.get(u.simId) ?? 0, end));
    }
    for (const [simId, end] of lastEnd) {
      if (byId.get(simId)?.lastSeenAt?.getTime() !== end) problems.push(`${simId} lastSeenAt is not its last record`);
    }
    t.same(problems.slice(0, 20), [], "no inconsistencies");
    t.equal(fleet.windowStart.toISOString(), "2026-02-01T00:00:00.000Z", "30 UTC days ending today");
    t.same(dupes(usage.map((u) => u.sourceId)), [], "source ids unique");
    t.ok(usage.every((u) => u.sourceId.startsWith("demo:acme:")), "source ids demo:<slug>:<n>");
  });

  t.test("rollups equal the sums of the records", async (t) => {
    const sums = new Map<string, { bytesUp: number; bytesDown: number; smsMo: number; smsMt: number; records: number }>();
    for (const u of usage) {
      const key = `${u.simId} ${u.startedAt.toISOString().slice(0, 10)}`;
      const s = sums.get(key) ?? { bytesUp: 0, bytesDown: 0, smsMo: 0, smsMt: 0, records: 0 };
      s.bytesUp += u.bytesUp;
      s.bytesDown += u.bytesDown;
      s.smsMo += u.smsMo;
      s.smsMt += u.smsMt;
      s.records++;
      sums.set(key, s);
    }
    const rollups = new Map(daily.map(({ simId, day, ...rest }) => [`${simId} ${day}`, rest]));
    t.equal(rollups.size, daily.length, "one rollup per SIM and day");
    t.same(rollups, sums);
    t.ok(daily.every((d) => d.records > 0), "no empty rollups");
  });

  t.test("deterministic; identities independent of size and time", async (t) => {
    t.equal(digest(generateDemoFleet({ slug: "acme", now: NOW })), digest(fleet), "same inputs, same fleet");
    const small = generateDemoFleet({ slug: "acme", sims: 10, days: 2, now: new Date("2027-01-01T00:00:00Z") });
    const pickIds = (f: DemoFleet) => f.sims.slice(0, 10).map((s) => [s.iccid, s.imsi, s.msisdn, s.eid]);
    t.same(pickIds(small), pickIds(fleet));
    t.equal(generateDemoFleet({ slug: "acme", sims: 5, days: 0, now: NOW }).usage.length, 0, "days: 0 gives no usage");
    t.throws(() => generateDemoFleet({ slug: "acme", sims: 100_000 }), RangeError);
  });

  t.test("two slugs (or attempts) never share an identifier", async (t) => {
    const slugs = ["acme", "globex", "initech", "umbrella", "hooli", "acme-2", "demo", "demo-1"];
    const fleets = slugs.map((slug) => generateDemoFleet({ slug, sims: 1000, days: 0, now: NOW }));
    fleets.push(generateDemoFleet({ slug: "acme", sims: 1000, days: 0, now: NOW, attempt: 1 }));
    for (const kind of ["iccid", "imsi", "msisdn", "eid"] as const) {
      t.same(dupes(fleets.flatMap((f) => f.sims.map((s) => s[kind]))), [], `${kind}s unique across slugs`);
    }
  });
});

// ───────────────────────────── database writer ─────────────────────────────

const ADMIN_URL = process.env.CONEKT_TEST_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const migrationsDir = fileURLToPath(new URL("../../prisma/migrations/", import.meta.url));

t.test("database writer", async (t) => {
  const dbName = `conekt_demo_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();
  let prisma: PrismaClient | undefined;
  t.teardown(async () => {
    await prisma?.$disconnect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  const migrations = readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(migrationsDir, d.name, "migration.sql")))
    .map((d) => join(migrationsDir, d.name, "migration.sql"))
    .sort();
  t.ok(migrations.length > 0, "the project has migrations to apply");
  for (const file of migrations) execFileSync("psql", ["-v", "ON_ERROR_STOP=1", "-q", "-d", dbUrl, "-f", file]);

  const db = new PrismaClient({ adapter: new PrismaPg({ connectionString: dbUrl }) });
  prisma = db;
  const newTenant = (slug: string) =>
    db.tenant.create({
      data: {
        kind: "customer", slug, legalName: `${slug} GmbH`, country: "DE",
        billingAddress: { line1: "Hauptstr. 1", postalCode: "10115", city: "Berlin", country: "DE" },
      },
    });
  const counts = async (tenantId: string) => {
    const [row] = await db.$queryRawUnsafe<{ sims: number; usage: number; daily: number }[]>(
      `SELECT (SELECT count(*)::int FROM connectivity.sims WHERE tenant_id = $1::uuid) AS sims,
              (SELECT count(*)::int FROM connectivity.usage_records WHERE tenant_id = $1::uuid) AS usage,
              (SELECT count(*)::int FROM connectivity.usage_daily WHERE tenant_id = $1::uuid) AS daily`,
      tenantId,
    );
    return row;
  };

  const now = new Date();
  const acme = await newTenant("acme");
  const expected = generateDemoFleet({ slug: "acme", now });

  t.test("seeds 1,000 SIMs × 30 days", async (t) => {
    const started = performance.now();
    const result = await seedDemoFleet(db, { tenantId: acme.id, slug: "acme", now });
    const ms = Math.round(performance.now() - started);
    t.comment(`seeded ${result.sims} SIMs and ${result.usageRecords} usage records in ${ms} ms`);
    t.same(result, {
      sims: 1000,
      esims: expected.sims.filter((s) => s.eid !== null).length,
      usageRecords: expected.usage.length,
      created: true,
    });
    t.same(await counts(acme.id), { sims: 1000, usage: expected.usage.length, daily: expected.daily.length });
  });

  t.test("rows round-trip exactly", async (t) => {
    const want = expected.sims.find((s) => s.labels.length === 3 && s.lastSeenAt && s.dataLimitBytes !== null);
    t.ok(want, "a SIM with three labels, a sighting and a data limit");
    if (!want) return;
    const got = await db.sim.findUniqueOrThrow({ where: { iccid: want.iccid }, include: { ratePlan: true } });
    const { serial: _serial, profile: _profile, ...fields } = want;
    const { tenantId, ratePlanId: _planId, ratePlan, statusReason, pendingOperationId, pendingAction, pinEncrypted, pukEncrypted, imeiAllowList, imeiOnMismatch, imeiRepairUntil, dataLimitSuspend, ...rest } = got;
    t.equal(tenantId, acme.id);
    t.equal(ratePlan?.code, DEMO_RATE_PLAN.code, "on the demo rate plan");
    t.strictSame(
      { statusReason, pendingOperationId, pendingAction, pinEncrypted, pukEncrypted, imeiAllowList, imeiOnMismatch, imeiRepairUntil, dataLimitSuspend },
      { statusReason: null, pendingOperationId: null, pendingAction: null, pinEncrypted: null, pukEncrypted: null, imeiAllowList: [], imeiOnMismatch: "alert", imeiRepairUntil: null, dataLimitSuspend: false },
      "lifecycle, IMEI policy and data-limit columns at their defaults",
    );
    t.strictSame(rest, fields);
    const history = await db.simEvent.findMany({ where: { simId: got.id } });
    t.same(
      history.map((e) => ({ kind: e.kind, toStatus: e.toStatus, reasonCode: e.reasonCode, at: e.at })),
      [{ kind: "state_changed", toStatus: got.status, reasonCode: "demo_seed", at: got.statusChangedAt }],
      "one history row for the seeded state",
    );
  });

  t.test("usage_daily agrees with usage_records per SIM and UTC day", async (t) => {
    const [row] = await db.$queryRawUnsafe<{ mismatches: number; days: number }[]>(
      `WITH r AS (
         SELECT sim_id, (started_at AT TIME ZONE 'UTC')::date AS day, sum(bytes_up) AS bytes_up,
                sum(bytes_down) AS bytes_down, sum(sms_mo) AS sms_mo, sum(sms_mt) AS sms_mt, count(*) AS records
           FROM connectivity.usage_records WHERE tenant_id = $1::uuid GROUP BY 1, 2),
       d AS (SELECT sim_id, day, bytes_up, bytes_down, sms_mo, sms_mt, records
               FROM connectivity.usage_daily WHERE tenant_id = $1::uuid)
       SELECT (SELECT count(*)::int FROM r FULL JOIN d USING (sim_id, day)
                WHERE r.sim_id IS NULL OR d.sim_id IS NULL OR (r.bytes_up, r.bytes_down, r.sms_mo, r.sms_mt, r.records)
                  IS DISTINCT FROM (d.bytes_up, d.bytes_down, d.sms_mo, d.sms_mt, d.records)) AS mismatches,
              (SELECT count(*)::int FROM d) AS days`,
      acme.id,
    );
    t.same(row, { mismatches: 0, days: expected.daily.length });
  });

  t.test("usage_hourly agrees with usage_records per UTC hour and network", async (t) => {
    const [row] = await db.$queryRawUnsafe<{ mismatches: number; hours: number; networks: number }[]>(
      `WITH r AS (
         SELECT date_trunc('hour', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, coalesce(network, '') AS network,
                sum(bytes_up) AS bytes_up, sum(bytes_down) AS bytes_down, sum(sms_mo) AS sms_mo, sum(sms_mt) AS sms_mt, count(*) AS records
           FROM connectivity.usage_records WHERE tenant_id = $1::uuid GROUP BY 1, 2),
       h AS (SELECT hour, network, bytes_up, bytes_down, sms_mo, sms_mt, records FROM connectivity.usage_hourly WHERE tenant_id = $1::uuid)
       SELECT (SELECT count(*)::int FROM r FULL JOIN h USING (hour, network)
                WHERE r.hour IS NULL OR h.hour IS NULL OR (r.bytes_up, r.bytes_down, r.sms_mo, r.sms_mt, r.records)
                  IS DISTINCT FROM (h.bytes_up, h.bytes_down, h.sms_mo, h.sms_mt, h.records)) AS mismatches,
              (SELECT count(DISTINCT hour)::int FROM h) AS hours,
              (SELECT count(DISTINCT network)::int FROM h) AS networks`,
      acme.id,
    );
    t.equal(row?.mismatches, 0);
    t.ok((row?.hours ?? 0) > 24 * 25, `hours over the month (${row?.hours})`);
    t.ok((row?.networks ?? 0) > 1, `more than one network (${row?.networks})`);
  });

  t.test("usage lands in monthly partitions, not the default one", async (t) => {
    const [row] = await db.$queryRawUnsafe<{ fn: boolean; in_default: number; partitions: number }[]>(
      `SELECT to_regprocedure('connectivity.ensure_usage_partition_for(timestamptz)') IS NOT NULL AS fn,
              (SELECT count(*)::int FROM connectivity.usage_records r WHERE r.tableoid IN (
                 SELECT inhrelid FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                  WHERE i.inhparent = 'connectivity.usage_records'::regclass
                    AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT')) AS in_default,
              (SELECT count(DISTINCT tableoid)::int FROM connectivity.usage_records) AS partitions`,
    );
    t.same(row, { fn: true, in_default: 0, partitions: new Set(expected.usage.map((u) => u.startedAt.toISOString().slice(0, 7))).size });
  });

  t.test("running it again creates nothing", async (t) => {
    const again = await seedDemoFleet(db, { tenantId: acme.id, slug: "acme" });
    t.same(again, {
      sims: 1000,
      esims: expected.sims.filter((s) => s.eid !== null).length,
      usageRecords: expected.usage.length,
      created: false,
    });
    t.same(await counts(acme.id), { sims: 1000, usage: expected.usage.length, daily: expected.daily.length });
  });

  t.test("a second tenant gets its own number ranges", async (t) => {
    const globex = await newTenant("globex");
    const r = await seedDemoFleet(db, { tenantId: globex.id, slug: "globex", sims: 300, days: 3 });
    t.equal(r.created, true);
    const c = await counts(globex.id);
    t.equal(c?.sims, 300);
    t.equal(c?.usage, r.usageRecords);
    t.ok((c?.daily ?? 0) > 0, "with rollups");
    t.equal(await db.sim.count(), 1300);
  });

  t.test("number blocks held by another tenant are re-derived", async (t) => {
    const owner = await newTenant("owner-of-clash");
    const clashing = generateDemoFleet({ slug: "clashy", sims: 20, days: 1, now }).sims[7];
    t.ok(clashing);
    await db.sim.create({
      data: { tenantId: owner.id, iccid: clashing?.iccid ?? "", imsi: "262019999999999", formFactor: "ff4" },
    });
    const clashy = await newTenant("clashy");
    const r = await seedDemoFleet(db, { tenantId: clashy.id, slug: "clashy", sims: 20, days: 1, now });
    t.equal(r.sims, 20);
    const got = (await db.sim.findMany({ where: { tenantId: clashy.id }, orderBy: { iccid: "asc" } })).map((s) => s.iccid);
    const retry = generateDemoFleet({ slug: "clashy", sims: 20, days: 1, now, attempt: 1 }).sims.map((s) => s.iccid).sort();
    t.same(got, retry, "the SIMs come from attempt 1");
  });

  t.test("a failing seed leaves nothing behind", async (t) => {
    const broken = await newTenant("broken");
    const fleet = generateDemoFleet({ slug: "broken", sims: 200, days: 40, now });
    const lastRecord = fleet.usage.at(-1);
    t.ok(fleet.usage.length > 5000 && lastRecord, "more than one chunk of usage");
    if (!lastRecord) return;
    // A record with the same key as the seed's last one: its last usage chunk fails after everything else went in.
    await db.usageRecord.create({
      data: { tenantId: broken.id, sourceId: lastRecord.sourceId, startedAt: lastRecord.startedAt,
        endedAt: lastRecord.endedAt, simId: lastRecord.simId },
    });
    await t.rejects(seedDemoFleet(db, { tenantId: broken.id, slug: "broken", sims: 200, days: 40, now }));
    t.same(await counts(broken.id), { sims: 0, usage: 1, daily: 0 });
  });

  t.test("concurrent seeds of one tenant create it once", async (t) => {
    const twice = await newTenant("twice");
    const runs = await Promise.all([1, 2].map(() => seedDemoFleet(db, { tenantId: twice.id, slug: "twice", sims: 50, days: 2 })));
    t.same(runs.map((r) => r.created).sort(), [false, true]);
    t.equal(runs[0]?.usageRecords, runs[1]?.usageRecords);
    t.equal((await counts(twice.id))?.sims, 50);
  });
});
