// The usage API against a large tenant: 100,000 SIMs x 30 days of usage_daily (3,000,000 rows) plus the fleet's
// hourly rollup, in a fresh PostgreSQL database of its own (dropped at the end). Times each query through the
// whole app (authentication, validation, SQL, serialisation) with `inject`.
//
//   npx tsx bench/usage-query-perf.ts [--runs 7] [--csv] [--monthly]
//
// `--csv` also streams the 3,000,000-row export grouped by SIM and reports rows/s and the process's peak RSS.
// `--monthly` times the same top-10 ranking in SQL over usage_daily and over a scratch per-SIM monthly table
// built in this throwaway database (a prototype of a rollup the lead may add; nothing in the app reads it).
// Run on demand (seeding alone takes about half a minute); not part of `npm run bench`.

import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import pino from "pino";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { issueApiKey } from "../src/modules/api-keys/api-keys.repository.js";
import { systemActor } from "../src/modules/audit/audit.writer.js";
import { openRuntime } from "../src/runtime.js";
import { createTestDatabase } from "../test/helpers/database.js";

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf("--runs") + 1]) || 7;
const CSV = args.includes("--csv");
const MONTHLY = args.includes("--monthly");
const SIMS = 100_000;
const DAYS = 30;

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

const database = await createTestDatabase();
const config = loadConfig({
  NODE_ENV: "test",
  DATABASE_URL: database.url,
  DATABASE_POOL_MAX: "4",
  JWT_SECRET: randomBytes(32).toString("base64url"),
  ENCRYPTION_KEYS: `t1:${randomBytes(32).toString("base64")}`,
  LOG_LEVEL: "silent",
});
const runtime = await openRuntime(config, { work: false, log: () => undefined });
const app = await buildApp({ config, db: runtime.db, jobs: runtime.jobs, secrets: runtime.secrets, connectors: runtime.connectors, logger: pino({ level: "silent" }) });
await app.ready();

try {
  const sql = runtime.db.sql;
  const tenant = await runtime.db.prisma.tenant.create({
    data: { kind: "customer", slug: `perf-${randomBytes(3).toString("hex")}`, legalName: "Perf GmbH", country: "DE", billingAddress: {}, settings: {} },
  });
  const other = await runtime.db.prisma.tenant.create({
    data: { kind: "customer", slug: `perf-${randomBytes(3).toString("hex")}`, legalName: "Other GmbH", country: "DE", billingAddress: {}, settings: {} },
  });
  const t0 = performance.now();
  log(`seeding ${SIMS} SIMs x ${DAYS} days of usage_daily (load ${load()})...`);
  await sql.query(
    `INSERT INTO enterprise.rate_plans (id, code, name, currency, updated_at)
     SELECT gen_random_uuid(), 'PERF-' || $1 || '-' || g, 'Perf plan ' || g, 'EUR', now() FROM generate_series(1, 5) g`,
    [tenant.slug],
  );
  for (const [t, n, prefix] of [[tenant.id, SIMS, "89491"], [other.id, SIMS / 10, "89492"]] as const) {
    await sql.query(
      `INSERT INTO connectivity.sims (id, tenant_id, iccid, imsi, form_factor, status, rate_plan_id, labels, updated_at)
       SELECT gen_random_uuid(), $1, $3 || lpad(g::text, 14, '0'), $4 || lpad(g::text, 10, '0'), 'ff4', 'active',
              (SELECT id FROM enterprise.rate_plans WHERE code = 'PERF-' || $5 || '-' || (1 + g % 5)),
              CASE WHEN g % 10 = 0 THEN ARRAY[]::varchar[] WHEN g % 3 = 0 THEN ARRAY['fleet-' || (g % 7), 'region-' || (g % 4)]::varchar[] ELSE ARRAY['fleet-' || (g % 7)]::varchar[] END,
              now()
       FROM generate_series(1, $2::int) g`,
      [t, n, prefix, prefix === "89491" ? "26291" : "26292", tenant.slug],
    );
  }
  // Day by day, as the rollup writes it: the table's physical order is time, not SIM.
  await sql.query(
    `INSERT INTO connectivity.usage_daily (tenant_id, sim_id, day, bytes_up, bytes_down, sms_mo, sms_mt, records)
     SELECT s.tenant_id, s.id, d::date, (random() * 1e7)::int8, (random() * 1e8)::int8, (random() * 5)::int, (random() * 5)::int, 1 + (random() * 50)::int
     FROM generate_series('2026-11-01'::date, '2026-11-30'::date, interval '1 day') d, connectivity.sims s
     WHERE s.tenant_id IN ($1, $2) ORDER BY d, s.id`,
    [tenant.id, other.id],
  );
  await sql.query(
    `INSERT INTO connectivity.usage_hourly (tenant_id, hour, network, bytes_up, bytes_down, sms_mo, sms_mt, records)
     SELECT t, h, n, (random() * 1e10)::int8, (random() * 1e11)::int8, 10, 10, 1000
     FROM unnest($1::uuid[]) t, generate_series('2026-11-01T00:00Z'::timestamptz, '2026-11-30T23:00Z', interval '1 hour') h,
          unnest(ARRAY['', '262-01', '262-02', '262-03', '208-01']) n`,
    [[tenant.id, other.id]],
  );
  // What autovacuum does after a bulk load: statistics for the planner, the visibility map for index-only scans.
  for (const table of ["usage_daily", "usage_hourly", "sims"]) await sql.query(`VACUUM ANALYZE connectivity.${table}`);
  const [count] = await sql.query<{ n: string }>("SELECT count(*)::text AS n FROM connectivity.usage_daily WHERE tenant_id = $1", [tenant.id]);
  log(`seeded ${count!.n} usage_daily rows for the tenant in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const { key } = await issueApiKey(runtime.db.prisma, systemActor("perf"), { tenantId: tenant.id, name: "perf", scopes: ["usage:read"], expiresAt: null, createdById: null });
  const headers = { authorization: `Bearer ${key}` };
  const month = "from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z";

  const cases: Array<[string, string]> = [
    ["groupBy=sim&top=10 (the month)", `/v1/usage?${month}&groupBy=sim&top=10`],
    ["groupBy=sim&top=10&granularity=month", `/v1/usage?${month}&groupBy=sim&top=10&granularity=month`],
    ["groupBy=sim, first page of 50 by ICCID", `/v1/usage?${month}&groupBy=sim&limit=50`],
    ["groupBy=none (hourly rollup), days", `/v1/usage?${month}`],
    ["groupBy=network, days", `/v1/usage?${month}&groupBy=network`],
    ["groupBy=label, days", `/v1/usage?${month}&groupBy=label`],
    ["groupBy=ratePlan, days", `/v1/usage?${month}&groupBy=ratePlan`],
    ["label filter, no grouping", `/v1/usage?${month}&label=region-1`],
    ["one SIM, days", `/v1/sims/89491${"12345".padStart(14, "0")}/usage?${month}`],
  ];
  console.log(`usage API, tenant of ${SIMS} SIMs x ${DAYS} days (${count!.n} usage_daily rows); ${RUNS} runs after a warm-up; load average at start ${load()}`);
  for (const [name, url] of cases) {
    const first = await app.inject({ method: "GET", url, headers });
    if (first.statusCode !== 200) throw new Error(`${name}: ${first.statusCode} ${first.body.slice(0, 300)}`);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      const res = await app.inject({ method: "GET", url, headers });
      times.push(performance.now() - start);
      if (res.statusCode !== 200) throw new Error(`${name}: ${res.statusCode}`);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(`${name.padEnd(44)} median ${median.toFixed(0).padStart(5)} ms   min ${times[0]!.toFixed(0).padStart(5)} ms   max ${times.at(-1)!.toFixed(0).padStart(5)} ms`);
  }

  if (CSV) {
    const rssStart = process.memoryUsage().rss;
    const heapStart = process.memoryUsage().heapUsed;
    let peak = rssStart;
    let heapPeak = heapStart;
    const timer = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.rss);
      heapPeak = Math.max(heapPeak, m.heapUsed);
    }, 50);
    const start = performance.now();
    const res = await app.inject({ method: "GET", url: `/v1/usage?${month}&groupBy=sim&format=csv`, headers, payloadAsStream: true });
    let rows = -1;
    let bytes = 0;
    for await (const chunk of res.stream() as Readable) {
      bytes += (chunk as Buffer).length;
      for (const c of chunk as Buffer) if (c === 10) rows++;
    }
    clearInterval(timer);
    const seconds = (performance.now() - start) / 1000;
    console.log(`CSV export by SIM: ${rows} rows, ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s); RSS ${(rssStart / 2 ** 20).toFixed(0)} MiB at start, peak ${(peak / 2 ** 20).toFixed(0)} MiB; JS heap ${(heapStart / 2 ** 20).toFixed(0)} MiB at start, peak ${(heapPeak / 2 ** 20).toFixed(0)} MiB`);
  }
  if (MONTHLY) {
    await sql.query(`CREATE TABLE scratch_usage_monthly (tenant_id uuid, month date, sim_id uuid, bytes_up int8, bytes_down int8, sms_mo int, sms_mt int, records int, PRIMARY KEY (tenant_id, month, sim_id))`);
    await sql.query(`INSERT INTO scratch_usage_monthly SELECT tenant_id, date_trunc('month', day)::date, sim_id, sum(bytes_up), sum(bytes_down), sum(sms_mo), sum(sms_mt), sum(records) FROM connectivity.usage_daily GROUP BY 1, 2, 3`);
    await sql.query("VACUUM ANALYZE scratch_usage_monthly");
    const daily = `SELECT u.sim_id FROM connectivity.usage_daily u WHERE u.tenant_id = $1 AND u.day >= '2026-11-01' AND u.day < '2026-12-01' GROUP BY u.sim_id ORDER BY sum(u.bytes_up) + sum(u.bytes_down) DESC, u.sim_id LIMIT 10`;
    const monthly = `SELECT sim_id FROM scratch_usage_monthly WHERE tenant_id = $1 AND month = '2026-11-01' ORDER BY bytes_up + bytes_down DESC, sim_id LIMIT 10`;
    for (const [name, text] of [["top-10 SQL over usage_daily (3,000,000 rows)", daily], ["top-10 SQL over a per-SIM monthly rollup", monthly]] as const) {
      await sql.query(text, [tenant.id]);
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const start = performance.now();
        await sql.query(text, [tenant.id]);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      console.log(`${name.padEnd(44)} median ${times[Math.floor(times.length / 2)]!.toFixed(0).padStart(5)} ms   min ${times[0]!.toFixed(0).padStart(5)} ms   max ${times.at(-1)!.toFixed(0).padStart(5)} ms`);
    }
  }
  console.log(`load average at end ${load()}`);
} finally {
  await app.close();
  await runtime.close();
  await database.drop();
}
