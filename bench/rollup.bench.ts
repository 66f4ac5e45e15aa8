// Rollup throughput (issue 5): how fast usage.rollup folds the ingestion journal into usage_daily, usage_hourly
// and the SIMs' last-seen fields, on local PostgreSQL. A journal of 500,000 records (100 rows of 5,000, as
// ingestion requests write them) over 100,000 SIMs of 10 tenants is folded three times:
//   cold   - empty rollups, SIMs never seen: every rollup row is an insert, every SIM's row is updated;
//   moved  - the same SIMs 2 minutes later: every rollup row an update, every SIM's last-seen moves;
//   steady - 20 s later: rollup rows updated, no SIM row rewritten (under the 1-minute step), as in a busy
//            fleet where each SIM reports every few seconds.
// One record in 1,000 carries another IMEI than its SIM's last seen one (the IMEI check runs for those).
// Printed: records/s per run, slices, and ms per slice. Run: `npx tsx bench/rollup.bench.ts`
// (BENCH_ROLLUP_RECORDS, BENCH_ROLLUP_SIMS to change the size).

import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { rollUpJournal } from "../src/modules/usage/rollup.js";
import { openDatabase } from "../src/platform/db/database.js";
import type { JobRunner } from "../src/platform/jobs/job-runner.js";
import { createTestDatabase } from "../test/helpers/database.js";
import { cpuSnapshot, type BenchContext, type Benchmark } from "./harness.js";

const RECORDS = Number(process.env.BENCH_ROLLUP_RECORDS ?? 500_000);
const SIMS = Number(process.env.BENCH_ROLLUP_SIMS ?? 100_000);
const TENANTS = 10;
const PER_REQUEST = 5_000;

/** Follow-up jobs are not the subject here: counted, not run. */
function countingJobs(): JobRunner & { count: number } {
  const runner = { kind: "in-process" as const, count: 0, enqueue: async () => void runner.count++, start: async () => undefined, close: async () => undefined, ping: async () => undefined };
  return runner;
}

export const rollup: Benchmark = {
  name: "rollup",
  description: `usage.rollup folding ${RECORDS} journalled records over ${SIMS} SIMs (cold, moved, steady)`,
  timeLimitMs: 15 * 60_000,
  async run(ctx) {
    const database = await createTestDatabase();
    ctx.defer(() => database.drop());
    const db = await openDatabase({ url: database.url, poolMax: 4, dataDir: "", migrateOnStart: false, log: () => undefined });
    ctx.defer(() => db.close());
    const { sql } = db;
    ctx.log(`fresh database ${database.name}: seeding ${SIMS} SIMs of ${TENANTS} tenants`);

    await sql.query(
      `INSERT INTO enterprise.tenants (id, kind, slug, legal_name, country, billing_address, status, settings, updated_at)
       SELECT gen_random_uuid(), 'customer', 'bench-rollup-' || g, 'Bench ' || g, 'DE', '{"line1":"A 1","postalCode":"10115","city":"Berlin","country":"DE"}', 'active', '{}', now()
       FROM generate_series(1, ${TENANTS}) g`,
    );
    // SIMs numbered 0..SIMS-1 (by ICCID), each in a device (a fake but stable 15-digit IMEI), never seen yet.
    // Ids ascending in insertion order, as the UUIDv7 ids of imported SIMs are.
    await sql.query(
      `INSERT INTO connectivity.sims (id, tenant_id, iccid, imsi, form_factor, status, last_seen_imei, updated_at)
       SELECT id, tenant_id, iccid, imsi, 'ff4', 'active', imei, now() FROM (
         SELECT gen_random_uuid() AS id, t.id AS tenant_id, '8949' || lpad(g::text, 15, '0') || '0' AS iccid, '26299' || lpad(g::text, 10, '0') AS imsi,
                '35' || lpad(g::text, 13, '0') AS imei
         FROM generate_series(0, $1::int - 1) g
         JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM enterprise.tenants WHERE slug LIKE 'bench-rollup-%') t ON t.k = g % ${TENANTS}
       ) s ORDER BY id`,
      [SIMS],
    );
    await sql.query(`CREATE TABLE bench_sims AS SELECT row_number() OVER (ORDER BY iccid) - 1 AS n, id, tenant_id, last_seen_imei FROM connectivity.sims`);
    await sql.query(`CREATE UNIQUE INDEX ON bench_sims (n)`);
    await sql.query(`VACUUM ANALYZE`);

    const base = Date.now() - 10 * 60_000;
    const runs: Array<{ label: string; offsetMs: number }> = [
      { label: "cold", offsetMs: 0 },
      { label: "moved", offsetMs: 2 * 60_000 },
      { label: "steady", offsetMs: 2 * 60_000 + 20_000 },
    ];
    const stats = async () => {
      // Backends flush their table statistics within a second of going idle.
      await new Promise((r) => setTimeout(r, 1500));
      const rows = await sql.query<{ relname: string; upd: string; hot: string; mib: number }>(
        `SELECT relname, n_tup_upd::text AS upd, n_tup_hot_upd::text AS hot, round(pg_total_relation_size(relid) / 1048576.0, 1)::float AS mib
         FROM pg_stat_user_tables WHERE schemaname = 'connectivity' AND relname IN ('sims', 'usage_daily')`,
      );
      return Object.fromEntries(rows.map((r) => [r.relname, { upd: Number(r.upd), hot: Number(r.hot), mib: r.mib }]));
    };
    for (const run of runs) {
      const before = await stats();
      const began = performance.now();
      await journal(sql, base + run.offsetMs);
      ctx.log(`${run.label}: journalled ${RECORDS} records in ${Math.round(performance.now() - began)} ms; folding`);
      await sql.query(`CHECKPOINT`);
      const jobs = countingJobs();
      // CPU actually spent, whatever else runs on the machine: this database's backends and this process.
      const cpuBefore = cpuSnapshot();
      const nodeBefore = process.cpuUsage();
      const result = await rollUpJournal({ prisma: db.prisma, jobs }, { budgetMs: 600_000 });
      const cpuAfter = cpuSnapshot();
      const nodeCpu = process.cpuUsage(nodeBefore);
      let backendMs = 0;
      for (const [pid, p] of cpuAfter.processes) {
        if (!p.cmd.includes(` ${database.name} `)) continue;
        backendMs += p.ms - (cpuBefore.processes.get(pid)?.ms ?? 0);
      }
      const nodeMs = (nodeCpu.user + nodeCpu.system) / 1000;
      if (result.records !== RECORDS) throw new Error(`${run.label}: folded ${result.records} of ${RECORDS}`);
      const [check] = await sql.query<{ records: string; journal: number }>(
        `SELECT (SELECT sum(records) FROM connectivity.usage_daily)::text AS records, (SELECT count(*)::int FROM connectivity.usage_rollup_journal) AS journal`,
      );
      const perSec = result.records / (result.ms / 1000);
      ctx.log(`${run.label}: ${result.slices} slices, ${result.simsMoved} SIM rows moved, ${result.imeiObservations} IMEI observations, ${jobs.count} jobs asked; usage_daily counts ${check!.records} records, journal ${check!.journal} rows`);
      ctx.report(`rollup ${run.label} records/s`, perSec, "records/s");
      ctx.report(`rollup ${run.label} ms per slice`, result.ms / result.slices, "ms");
      ctx.report(`rollup ${run.label} records per CPU second`, result.records / ((backendMs + nodeMs) / 1000), "records/s");
      ctx.log(`${run.label}: CPU ${Math.round(backendMs)} ms in PostgreSQL backends, ${Math.round(nodeMs)} ms in Node, over ${result.ms} ms of wall time`);
      const after = await stats();
      for (const table of ["usage_daily", "sims"]) {
        const upd = after[table]!.upd - before[table]!.upd;
        const hot = after[table]!.hot - before[table]!.hot;
        ctx.log(`${run.label}: ${table}: ${upd} updates, ${upd ? Math.round((100 * hot) / upd) : 0} % HOT, ${after[table]!.mib} MiB with indexes`);
      }
    }
  },
};

/**
 * One journal row per tenant per request of 5,000 records, in request order, as ingestion writes them: record i is
 * SIM i mod SIMS, a minute long. So a slice of 100,000 records touches 100,000 SIMs once each: the worst case,
 * and the real one at 50,000 records/s over 100,000 SIMs (a SIM reports about every 2 s; a slice is ~1 s).
 */
async function journal(sql: { query: (text: string, params?: unknown[]) => Promise<unknown[]> }, startMs: number): Promise<void> {
  await sql.query(
    `INSERT INTO connectivity.usage_rollup_journal (tenant_id, sim_ids, started_ats, ended_ats, bytes_up, bytes_down, sms_mo, sms_mt, imeis, networks, radios)
     SELECT tenant_id, array_agg(id ORDER BY g), array_agg(started_at ORDER BY g), array_agg(started_at + interval '1 minute' ORDER BY g),
            array_agg((g % 10000)::bigint ORDER BY g), array_agg((g % 100000)::bigint * 10 ORDER BY g), array_agg((g % 3)::int ORDER BY g),
            array_agg(0 ORDER BY g), array_agg(imei ORDER BY g), array_agg(network ORDER BY g), array_agg('4g'::varchar ORDER BY g)
     FROM (
       SELECT g, s.id, s.tenant_id, to_timestamp(($2::bigint + (g % 60) * 1000) / 1000.0) AS started_at,
              CASE WHEN g % 1000 = 999 THEN '86' || lpad(g::text, 13, '0') ELSE s.last_seen_imei END AS imei,
              (ARRAY['262-01', '262-02', '262-03', '228-01'])[1 + g % 4] AS network, g / $3::int AS chunk
       FROM generate_series(0, $1::int - 1) g
       JOIN bench_sims s ON s.n = g % $4::int
     ) r
     GROUP BY chunk, tenant_id
     ORDER BY chunk, tenant_id`,
    [RECORDS, startMs, PER_REQUEST, SIMS],
  );
}

// `npx tsx bench/rollup.bench.ts`: runs on its own, printing figures like `npm run bench`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const cleanups: Array<() => unknown> = [];
  const ctx = {
    report: (name: string, value: number, unit: string) => console.log(`${name}: ${Math.round(value)} ${unit}`),
    log: (msg: string) => console.error(msg),
    defer: (fn: () => unknown) => void cleanups.push(fn),
    signal: new AbortController().signal,
  } as unknown as BenchContext;
  try {
    await rollup.run(ctx);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}
