// Usage ingestion at volume (issue 5): concurrent clients post batches of 1,000-10,000 usage records through
// POST /v1/usage/records on a real server process (PostgreSQL + Redis; the rollup runs in the API process, as
// deployed by default), for 100,000 SIMs across 10 tenants, authenticated with a platform API key (the mediation
// feed) and, for one client, a tenant key; about 10 % of the requests re-send an earlier batch (deduplication).
// Measured: accepted records/s, request latency, rollup lag (age of the oldest journal row, every 500 ms) and the
// drain time after the load, API process RSS over the run, the CPU split. In the same run, on the same
// usage_records table, a bare `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING` loop through a
// 4-connection pool gives the database's own ceiling; the ratio between the two is the API's cost.
// At the end the rollups are checked against the raw records (usage_daily and usage_hourly totals per tenant).
//
// Order: seed, bare loop on the empty table, TRUNCATE + CHECKPOINT, then the API load on the empty table again:
// both start from the same state (the API run then grows the table further than the 20 s bare loop, which only
// makes the comparison harder for the API).

import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import http from "node:http";
import os from "node:os";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { issueApiKey } from "../src/modules/api-keys/api-keys.repository.js";
import { systemActor } from "../src/modules/audit/audit.writer.js";
import { openDatabase } from "../src/platform/db/database.js";
import { makeImei } from "../src/platform/identifiers.js";
import { createTenant } from "../test/helpers/factories.js";
import { seedSims } from "../test/operations/helpers.js";
import { cleanEnv, cpuBreakdown, cpuSnapshot, percentile, rssMiB, sleep, startServer, ROOT, type BenchContext, type Benchmark, type CpuSnapshot, benchWorkspace } from "./harness.js";
import { productionServerEnv } from "../test/helpers/server-env.js";
import { mulberry32 as random } from "../src/modules/demo/demo-fleet.data.js";

const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const envNumber = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
/** The measured window; the issue's RSS figure is for BENCH_INGEST_SECONDS=600. */
const SECONDS = envNumber("BENCH_INGEST_SECONDS", 60);
/** Load before the window opens (JIT, pools, caches); not counted. */
const WARMUP_SECONDS = envNumber("BENCH_INGEST_WARMUP_SECONDS", 5);
const BARE_SECONDS = envNumber("BENCH_INGEST_BARE_SECONDS", 20);
const CLIENTS = envNumber("BENCH_INGEST_CLIENTS", 8);
const SIMS = envNumber("BENCH_INGEST_SIMS", 100_000);
/**
 * `seen` (default): the fleet has been seen before (each SIM's IMEI and network already recorded, last seen an hour
 * ago), the steady state. `new`: no SIM was ever seen, so the rollup first runs every SIM's first IMEI through the
 * IMEI check: a one-time cost per SIM, measured apart.
 */
const FLEET = process.env.BENCH_INGEST_FLEET ?? "seen";
if (FLEET !== "seen" && FLEET !== "new") throw new Error(`BENCH_INGEST_FLEET must be seen or new, not "${FLEET}"`);
/**
 * Where the rollup runs. `api` (default, as deployed by default): in the API process. `separate`: the API runs
 * with RUN_JOBS=false and a worker process (jobs/worker.ts) runs the jobs. `after` (a diagnosis, not the figure
 * of record): nothing rolls up during the load, so it measures ingestion alone; the worker starts when the load
 * stops, and the drain time is then the rollup alone working off the whole journal.
 */
const WORKER = process.env.BENCH_INGEST_WORKER ?? "api";
if (!["api", "separate", "after"].includes(WORKER)) throw new Error(`BENCH_INGEST_WORKER must be api, separate or after, not "${WORKER}"`);
const TENANTS = 10;
const BATCH_SIZES = [1_000, 2_000, 4_000, 6_000, 8_000, 10_000];
const RESEND_SHARE = 0.1;
const BARE_BATCH = 10_000;
const BARE_CONNECTIONS = 4;
const SAMPLE_MS = 500;
const TARGET = { recordsPerSecond: 50_000, ratio: 0.6, lagSeconds: 5, rssGrowthPercent: 20 };

export const ingest: Benchmark = {
  name: "ingest",
  description: `POST /v1/usage/records: ${CLIENTS} clients, batches of 1,000-10,000 records for ${SIMS} SIMs, ${SECONDS} s (+${WARMUP_SECONDS} s warm-up); rollup lag, RSS; bare unnest INSERT loop for ${BARE_SECONDS} s and the ratio`,
  timeLimitMs: (SECONDS + WARMUP_SECONDS + BARE_SECONDS + 300 + SECONDS / 2) * 1000,
  async run(ctx) {
    const { workDir, database, redisPrefix } = await benchWorkspace(ctx, "ingest", REDIS_URL);
    ctx.log(`fresh database ${database.name}, Redis prefix {${redisPrefix}}`);

    const seeded = await seed(ctx, database.url, workDir);
    ctx.report("ingest.seed", seeded.seconds, "s");
    const bare = await bareLoop(ctx, database.url, seeded.sims, database.name);
    ctx.report("ingest.bare.rows_per_s", bare.rowsPerSecond, "rows/s");
    ctx.report("ingest.bare.postgres_cpu", bare.cpu.postgres!, "%");

    // The API starts on the same, again empty, table; a checkpoint now keeps the bare loop's WAL out of its window.
    const admin = new pg.Client({ connectionString: database.url, application_name: "bench-ingest-probe" });
    await admin.connect();
    ctx.defer(() => admin.end());
    await admin.query("TRUNCATE connectivity.usage_records");
    await admin.query("CHECKPOINT");

    const env = productionServerEnv({ databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix, dataDir: workDir });
    const server = await startServer(ctx, WORKER === "api" ? env : { ...env, RUN_JOBS: "false" });
    const workerPid = WORKER === "separate" ? startWorker(ctx, env) : undefined;
    ctx.log(
      `server pid ${server.pid} up in ${server.startMs.toFixed(0)} ms` +
        { api: " (runs the rollup jobs itself)", separate: `, worker pid ${workerPid}`, after: "; no rollup during the load (BENCH_INGEST_WORKER=after): the worker starts when it ends" }[WORKER],
    );

    const load = await apiLoad(ctx, server.port, server.pid, workerPid, seeded, admin, database.name);
    const ratio = load.acceptedPerSecond / bare.rowsPerSecond;
    // RSS swings by ~100 MiB with the request bodies in flight and garbage collection, so single samples make
    // a noisy verdict: growth compares the mean of the samples of the window's first and last tenth.
    const rssGrowth = ((load.rss.lastTenth - load.rss.firstTenth) / load.rss.firstTenth) * 100;
    ctx.report("ingest.api.records_per_s", load.acceptedPerSecond, `records/s (target >= ${TARGET.recordsPerSecond})`);
    ctx.report("ingest.api.processed_per_s", load.processedPerSecond, "records/s (accepted + duplicates)");
    ctx.report("ingest.api.requests", load.requests, "requests");
    ctx.report("ingest.api.p50", load.p50, "ms");
    ctx.report("ingest.api.p99", load.p99, "ms");
    ctx.report("ingest.api.errors", load.errors, "errors");
    ctx.report("ingest.ratio", ratio, `api/bare (target >= ${TARGET.ratio})`);
    ctx.report("ingest.rollup.lag_max", load.lagMax, `s (target <= ${TARGET.lagSeconds})`);
    ctx.report("ingest.rollup.lag_p99", load.lagP99, "s");
    ctx.report("ingest.rss.idle", load.rss.idle, "MiB");
    ctx.report("ingest.rss.start", load.rss.start, "MiB");
    ctx.report("ingest.rss.end", load.rss.end, "MiB");
    ctx.report("ingest.rss.peak", load.rss.peak, "MiB");
    ctx.report("ingest.rss.first_tenth", load.rss.firstTenth, "MiB (mean over the window's first tenth)");
    ctx.report("ingest.rss.last_tenth", load.rss.lastTenth, "MiB (mean over the window's last tenth)");
    ctx.report("ingest.rss.growth", rssGrowth, `% last vs first tenth (target <= ${TARGET.rssGrowthPercent})`);
    ctx.report("ingest.cpu.server", load.cpu.server!, "%");
    if (workerPid) ctx.report("ingest.cpu.worker", load.cpu.worker!, "%");
    ctx.report("ingest.cpu.postgres", load.cpu.postgres!, "%");
    ctx.report("ingest.cpu.generator", load.cpu.generator!, "%");

    if (WORKER === "after") ctx.log(`worker started (pid ${startWorker(ctx, env)}): the rollup works off the whole journal`);
    const drained = await load.drain();
    ctx.report("ingest.rollup.drain", drained.seconds, "s");
    ctx.log("checking the rollups against the raw records");
    const check = await verifyTotals(admin, load.acceptedTotal);
    ctx.report("ingest.records_stored", check.stored, "records");

    const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
    ctx.log(
      `targets: records/s ${verdict(load.acceptedPerSecond >= TARGET.recordsPerSecond)}, ratio ${verdict(ratio >= TARGET.ratio)}, ` +
        `rollup lag ${verdict(load.lagMax <= TARGET.lagSeconds)}, RSS ${verdict(rssGrowth <= TARGET.rssGrowthPercent)}` +
        (SECONDS < 600 ? " (the RSS target is for a 10-minute run: BENCH_INGEST_SECONDS=600)" : ""),
    );
    console.log(`ingest.totals: ${check.totalsOk ? "OK" : "MISMATCH"} (${check.totalsNote})`);
    if (!check.totalsOk) throw new Error(`rollup totals do not match the raw records: ${check.totalsNote}`);
    if (load.errors > 0) throw new Error(`${load.errors} requests failed, e.g. ${load.errorSamples.join(" | ")}`);
    await server.stop();
  },
};

// ---------------------------------------------------------------------------------------------------------
// Seed: tenants, SIMs (set-based), API keys.

interface SimRef {
  id: string;
  tenantId: string;
  iccid: string;
  imsi: string;
  imei: string;
  /** Where the SIM is (MCC-MNC) and its radio: fixed per SIM, as for a stationary device. */
  network: string;
  radio: string;
}

const NETWORKS = ["262-01", "262-01", "262-01", "262-02", "262-02", "262-03", "232-01", "208-01"];
const RADIOS = ["4g", "4g", "4g", "5g", "lte-m", "nb-iot"];

interface Seeded {
  seconds: number;
  tenantIds: string[];
  sims: SimRef[];
  platformKey: string;
  /** A key of the first customer tenant: one client sends only that tenant's records with it. */
  tenantKey: string;
  tenantSims: SimRef[];
}

async function seed(ctx: BenchContext, url: string, workDir: string): Promise<Seeded> {
  const started = performance.now();
  const db = await openDatabase({ url, poolMax: 2, dataDir: workDir, migrateOnStart: false, log: () => undefined });
  try {
    const platform = await createTenant(db.prisma, { kind: "platform", slug: "bench-platform" });
    const tenantIds: string[] = [];
    const sims: SimRef[] = [];
    ctx.log(`seeding ${SIMS} active SIMs across ${TENANTS} tenants (${FLEET === "seen" ? "seen before: IMEI and network known" : "never seen"})`);
    for (let t = 0; t < TENANTS; t++) {
      const tenant = await createTenant(db.prisma, { slug: `bench-usage-${t}` });
      tenantIds.push(tenant.id);
      const count = Math.floor(SIMS / TENANTS) + (t < SIMS % TENANTS ? 1 : 0);
      for (const sim of await seedSims(db.prisma, { tenantId: tenant.id, count, status: "active" })) {
        // One device per SIM, always the same: the IMEI checks see no change, as in a steady fleet.
        const n = sims.length;
        sims.push({ ...sim, tenantId: tenant.id, imei: makeImei(`35${String(n).padStart(12, "0")}`), network: NETWORKS[n % NETWORKS.length]!, radio: RADIOS[(n >> 3) % RADIOS.length]! });
      }
    }
    if (FLEET === "seen") {
      await db.sql.query(
        `UPDATE connectivity.sims s SET last_seen_imei = u.imei, last_network = u.network, last_seen_at = now() - interval '1 hour'
         FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(id, imei, network) WHERE s.id = u.id`,
        [sims.map((x) => x.id), sims.map((x) => x.imei), sims.map((x) => x.network)],
      );
    }
    await db.sql.query("VACUUM ANALYZE connectivity.sims");
    // Partitions for the records' months (the last day may reach into the previous month).
    await db.sql.query("SELECT connectivity.ensure_usage_partition_for(now() - interval '2 days'), connectivity.ensure_usage_partitions(1)");
    const actor = systemActor("bench");
    const platformKey = (await db.prisma.$transaction((tx) => issueApiKey(tx, actor, { tenantId: platform.id, name: "bench mediation feed", scopes: ["usage:write"], expiresAt: null, createdById: null }))).key;
    const tenantKey = (await db.prisma.$transaction((tx) => issueApiKey(tx, actor, { tenantId: tenantIds[0]!, name: "bench tenant feed", scopes: ["usage:write"], expiresAt: null, createdById: null }))).key;
    return { seconds: (performance.now() - started) / 1000, tenantIds, sims, platformKey, tenantKey, tenantSims: sims.filter((s) => s.tenantId === tenantIds[0]) };
  } finally {
    await db.close();
  }
}


interface UsageRow {
  sim: SimRef;
  startedAt: string;
  endedAt: string;
  bytesUp: number;
  bytesDown: number;
  smsMo: number;
  smsMt: number;
  network: string;
  radio: string;
}

/** `count` plausible sessions of the last day on random SIMs of `sims`; all ended at least a minute ago. */
function sessions(sims: SimRef[], count: number, rnd: () => number, now: number): UsageRow[] {
  return Array.from({ length: count }, () => {
    const sim = sims[Math.floor(rnd() * sims.length)]!;
    const start = now - 86_400_000 + Math.floor(rnd() * (86_400_000 - 3_660_000));
    const sms = rnd() < 0.2;
    return {
      sim,
      startedAt: new Date(start).toISOString(),
      endedAt: new Date(start + 1_000 + Math.floor(rnd() * 3_599_000)).toISOString(),
      bytesUp: Math.floor(rnd() * 2_000_000),
      bytesDown: Math.floor(rnd() * 20_000_000),
      smsMo: sms ? Math.floor(rnd() * 3) : 0,
      smsMt: sms ? Math.floor(rnd() * 3) : 0,
      network: sim.network,
      radio: sim.radio,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Request bodies. Generating and serialising millions of records during the run would take CPU from the server
// on this 2-core machine, so the bodies are built before it: a few JSON templates whose sourceIds carry a
// fixed-width request number. Each request copies a template and writes its own number into those slots
// (a memcpy and 12 bytes per record), which makes every sourceId unique at almost no cost.

const REQUEST_DIGITS = 12;

interface Template {
  records: number;
  body: Buffer;
  /** Byte offsets of the request-number slots. */
  slots: Uint32Array;
}

function buildTemplate(runId: string, rows: UsageRow[], rnd: () => number): Template {
  const parts: string[] = [];
  const slots = new Uint32Array(rows.length);
  let offset = 1; // "["
  rows.forEach((r, i) => {
    const head = `${i ? "," : ""}{"sourceId":"${runId}-`;
    slots[i] = offset + head.length;
    // Most feeds name the SIM by ICCID; some by IMSI.
    const sim = rnd() < 0.9 ? `"iccid":"${r.sim.iccid}"` : `"imsi":"${r.sim.imsi}"`;
    const record =
      `${head}${"0".repeat(REQUEST_DIGITS)}-${String(i).padStart(5, "0")}",${sim},"startedAt":"${r.startedAt}","endedAt":"${r.endedAt}",` +
      `"bytesUp":${r.bytesUp},"bytesDown":${r.bytesDown},"smsMo":${r.smsMo},"smsMt":${r.smsMt},"imei":"${r.sim.imei}","network":"${r.network}","radio":"${r.radio}"}`;
    parts.push(record);
    offset += record.length; // ASCII only: characters are bytes
  });
  return { records: rows.length, body: Buffer.from(`[${parts.join("")}]`, "latin1"), slots };
}

function stamp(template: Template, requestNumber: number): Buffer {
  const body = Buffer.allocUnsafe(template.body.length);
  template.body.copy(body);
  const digits = String(requestNumber).padStart(REQUEST_DIGITS, "0");
  for (const slot of template.slots) body.write(digits, slot, "latin1");
  return body;
}

function post(agent: http.Agent, port: number, key: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/usage/records",
        agent,
        timeout: 120_000,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "content-length": String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out after 120 s")));
    req.on("error", reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------------------
// The API load.

interface LoadFigures {
  acceptedPerSecond: number;
  processedPerSecond: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  errorSamples: string[];
  lagMax: number;
  lagP99: number;
  /** idle: before the load; start/end: single samples at the window's edges; first/lastTenth: means. */
  rss: { idle: number; start: number; end: number; peak: number; firstTenth: number; lastTenth: number };
  cpu: Record<string, number>;
  /** Accepted over the whole run (warm-up and the first request included): what usage_records must hold. */
  acceptedTotal: number;
  /** Waits until the rollup journal is empty; the seconds from the last answer. Stops the samplers. */
  drain(): Promise<{ seconds: number }>;
}

async function apiLoad(ctx: BenchContext, port: number, serverPid: number, workerPid: number | undefined, seeded: Seeded, probe: pg.Client, dbName: string): Promise<LoadFigures> {
  const runId = randomBytes(4).toString("hex");
  const now = Date.now();
  const rnd = random(5);
  const sizes = (n: number) => Array.from({ length: n }, (_, i) => BATCH_SIZES[i % BATCH_SIZES.length]!);
  const platformTemplates = sizes(BATCH_SIZES.length * 2).map((n) => buildTemplate(runId, sessions(seeded.sims, n, rnd, now), rnd));
  const tenantTemplates = sizes(BATCH_SIZES.length).map((n) => buildTemplate(runId, sessions(seeded.tenantSims, n, rnd, now), rnd));
  const templateBytes = [...platformTemplates, ...tenantTemplates].reduce((s, t) => s + t.body.length, 0);
  ctx.log(`${platformTemplates.length + tenantTemplates.length} body templates built (${(templateBytes / 2 ** 20).toFixed(1)} MiB, ${(templateBytes / [...platformTemplates, ...tenantTemplates].reduce((s, t) => s + t.records, 0)).toFixed(0)} bytes a record)`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  ctx.defer(() => agent.destroy());
  // One request before the clock starts: the route answers what it should.
  const first = await post(agent, port, seeded.platformKey, stamp(platformTemplates[0]!, 0));
  if (first.status !== 200) throw new Error(`POST /v1/usage/records answered ${first.status}: ${first.body.slice(0, 500)}`);
  const firstAnswer = JSON.parse(first.body) as { accepted: number; duplicates: number; rejected: number; rejections: unknown[] };
  if (firstAnswer.accepted !== platformTemplates[0]!.records) throw new Error(`the first batch was not accepted whole: ${first.body.slice(0, 500)}`);

  const rss = { idle: rssMiB(serverPid), start: Number.NaN, end: Number.NaN, peak: rssMiB(serverPid), firstTenth: Number.NaN, lastTenth: Number.NaN };
  const rssSamples: Array<[number, number]> = [];
  const begin = performance.now();
  const measureFrom = begin + WARMUP_SECONDS * 1000;
  const measureTo = measureFrom + SECONDS * 1000;
  let requestNumber = 1;
  const totals = { accepted: firstAnswer.accepted, duplicates: 0 };
  const window = { accepted: 0, processed: 0, requests: 0, resends: 0 };
  const latencies: number[] = [];
  const errorSamples = new Set<string>();
  let errors = 0;

  // Samplers: journal age and RSS every 500 ms until stopped.
  const lagSamples: number[] = [];
  const rssTrend: Array<[number, number]> = [];
  let sampling = true;
  let cpuStart: CpuSnapshot | undefined;
  let cpuEnd: CpuSnapshot | undefined;
  const journalState = async () => {
    const { rows } = await probe.query<{ rows: number; age: number | null }>(
      "SELECT count(*)::int AS rows, extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS age FROM connectivity.usage_rollup_journal",
    );
    return { rows: rows[0]!.rows, age: Math.max(0, rows[0]!.age ?? 0) };
  };
  const sampler = (async () => {
    let nextTrend = measureFrom;
    while (sampling && !ctx.signal.aborted) {
      const t = performance.now();
      const mem = rssMiB(serverPid);
      rss.peak = Math.max(rss.peak, mem);
      if (!cpuStart && t >= measureFrom) {
        cpuStart = cpuSnapshot();
        rss.start = mem;
      }
      if (t >= measureFrom && t <= measureTo) {
        rssSamples.push([t - measureFrom, mem]);
        lagSamples.push((await journalState()).age);
        if (t >= nextTrend) {
          rssTrend.push([Math.round((t - measureFrom) / 1000), Math.round(mem)]);
          nextTrend += (SECONDS * 1000) / 10;
        }
      }
      if (t > measureTo && !cpuEnd) {
        cpuEnd = cpuSnapshot();
        rss.end = mem;
      }
      await sleep(Math.max(0, SAMPLE_MS - (performance.now() - t)));
    }
  })();

  const client = async (index: number) => {
    const asTenant = index === 0 && CLIENTS > 1;
    const templates = asTenant ? tenantTemplates : platformTemplates;
    const key = asTenant ? seeded.tenantKey : seeded.platformKey;
    const crnd = random(1000 + index);
    const sent: Array<{ body: Buffer; records: number }> = [];
    let next = index;
    while (!ctx.signal.aborted && performance.now() < measureTo) {
      const resend = sent.length > 0 && crnd() < RESEND_SHARE;
      let body: Buffer;
      let records: number;
      if (resend) {
        ({ body, records } = sent[Math.floor(crnd() * sent.length)]!);
      } else {
        const template = templates[next++ % templates.length]!;
        body = stamp(template, requestNumber++);
        records = template.records;
      }
      const t0 = performance.now();
      let failure: string | null = null;
      let answer: { accepted: number; duplicates: number; rejected: number; rejections?: unknown[] } | undefined;
      try {
        const res = await post(agent, port, key, body);
        if (res.status !== 200) failure = `HTTP ${res.status}: ${res.body.slice(0, 300)}`;
        else {
          answer = JSON.parse(res.body) as typeof answer;
          if (answer!.accepted + answer!.duplicates + answer!.rejected !== records || answer!.rejected !== 0 || (resend && answer!.accepted !== 0)) {
            failure = `${resend ? "re-sent " : ""}batch of ${records}: ${res.body.slice(0, 300)}`;
          }
        }
      } catch (err) {
        failure = (err as Error).message;
      }
      const t1 = performance.now();
      if (answer) {
        totals.accepted += answer.accepted;
        totals.duplicates += answer.duplicates;
      }
      if (failure) {
        errors++;
        if (errorSamples.size < 5) errorSamples.add(failure);
      } else if (!resend) {
        // Kept for re-sending: a handful per client, replaced at random.
        if (sent.length < 4) sent.push({ body, records });
        else sent[Math.floor(crnd() * sent.length)] = { body, records };
      }
      if (t1 >= measureFrom && t1 <= measureTo && answer) {
        latencies.push(t1 - t0);
        window.accepted += answer.accepted;
        window.processed += answer.accepted + answer.duplicates;
        window.requests++;
        if (resend) window.resends++;
      }
    }
  };

  ctx.log(`load: ${CLIENTS} clients (${CLIENTS > 1 ? "one with a tenant key, the others with the platform key" : "platform key"}), ${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured`);
  const progress = setInterval(() => {
    const t = (performance.now() - measureFrom) / 1000;
    if (t > 0) ctx.log(`  ${t.toFixed(0)} s: ${window.accepted} accepted in the window (${(window.accepted / t).toFixed(0)}/s), ${window.requests} requests, journal age ${(lagSamples.at(-1) ?? 0).toFixed(1)} s, RSS ${rssMiB(serverPid).toFixed(0)} MiB${errors ? `, ${errors} errors` : ""}`);
  }, 10_000);
  try {
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
  } finally {
    clearInterval(progress);
  }
  const loadEnd = performance.now();
  if (ctx.signal.aborted) throw new Error("aborted");
  if (!cpuEnd) {
    cpuEnd = cpuSnapshot();
    rss.end = rssMiB(serverPid);
  }
  const cpu = cpuBreakdown(cpuStart ?? cpuEnd, cpuEnd, [
    ["server", (pid) => pid === String(serverPid)],
    ["worker", (pid) => pid === String(workerPid)],
    ["generator", (pid) => pid === String(process.pid)],
    ["postgres", (_, cmd) => cmd.startsWith("postgres:") && cmd.includes(` ${dbName} `)],
    ["redis", (_, cmd) => cmd.startsWith("redis-server") || cmd.includes("/redis-server")],
  ]);
  const f = (n: number | undefined) => (n ?? Number.NaN).toFixed(0);
  ctx.log(
    `  CPU during the window, % of one core: server ${f(cpu.server)}${workerPid ? `, worker ${f(cpu.worker)}` : ""}, PostgreSQL (this database) ${f(cpu.postgres)}, ` +
      `load generator ${f(cpu.generator)}, Redis ${f(cpu.redis)}, everything else ${f(cpu.rest)}; machine busy ${f(cpu.machine)} of ${os.cpus().length * 100}, hypervisor steal ${f(cpu.steal)}`,
  );
  if (cpu.rest! > 25 || cpu.steal! > 10) ctx.log("  WARNING: other work took CPU during this measurement; its figures are low. Re-run on a quiet machine.");
  const tenth = (from: number) => {
    const picked = rssSamples.filter(([at]) => at >= from && at <= from + SECONDS * 100).map(([, m]) => m);
    return picked.reduce((a, b) => a + b, 0) / picked.length;
  };
  rss.firstTenth = tenth(0);
  rss.lastTenth = tenth(SECONDS * 900);
  ctx.log(`  RSS over the window (s: MiB): ${rssTrend.map(([s, m]) => `${s}: ${m}`).join(", ")}; end ${rss.end.toFixed(0)}`);
  ctx.log(`  ${window.requests} requests in the window, ${window.resends} of them re-sends; totals over the run: ${totals.accepted} accepted, ${totals.duplicates} duplicates`);
  if (errorSamples.size) ctx.log(`  errors, e.g.: ${[...errorSamples].join(" | ")}`);

  // Drain: the time from the last answer until the journal is empty.
  const drain = async () => {
    try {
      while (!ctx.signal.aborted) {
        const state = await journalState();
        const waited = (performance.now() - loadEnd) / 1000;
        if (state.rows === 0) return { seconds: waited };
        const limit = Math.max(120, SECONDS * 2);
        if (waited > limit) throw new Error(`the rollup journal still holds ${state.rows} rows ${limit} s after the load`);
        await sleep(100);
      }
      throw new Error("aborted");
    } finally {
      sampling = false;
      await sampler;
    }
  };

  const sorted = Float64Array.from(latencies).sort();
  const lags = Float64Array.from(lagSamples).sort();
  return {
    acceptedPerSecond: window.accepted / SECONDS,
    processedPerSecond: window.processed / SECONDS,
    requests: window.requests,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors,
    errorSamples: [...errorSamples],
    lagMax: lags.length ? lags[lags.length - 1]! : Number.NaN,
    lagP99: percentile(lags, 99),
    rss,
    cpu,
    acceptedTotal: totals.accepted,
    drain,
  };
}

/** Per tenant: records, bytes and SMS in usage_records, usage_daily and usage_hourly must agree. */
async function verifyTotals(probe: pg.Client, acceptedByApi: number): Promise<{ stored: number; totalsOk: boolean; totalsNote: string }> {
  const sums = "sum(bytes_up)::text AS up, sum(bytes_down)::text AS down, sum(sms_mo)::text AS mo, sum(sms_mt)::text AS mt";
  const { rows } = await probe.query<{ source: string; tenant: string; n: string; up: string; down: string; mo: string; mt: string }>(
    `SELECT 'records' AS source, tenant_id::text AS tenant, count(*)::text AS n, ${sums} FROM connectivity.usage_records GROUP BY tenant_id
     UNION ALL SELECT 'daily', tenant_id::text, sum(records)::text, ${sums} FROM connectivity.usage_daily GROUP BY tenant_id
     UNION ALL SELECT 'hourly', tenant_id::text, sum(records)::text, ${sums} FROM connectivity.usage_hourly GROUP BY tenant_id`,
  );
  const by = (source: string) => new Map(rows.filter((r) => r.source === source).map((r) => [r.tenant, `${r.n} records, ${r.up}/${r.down} bytes, ${r.mo}/${r.mt} SMS`]));
  const records = by("records");
  const problems: string[] = [];
  for (const source of ["daily", "hourly"]) {
    const rolled = by(source);
    for (const tenant of new Set([...records.keys(), ...rolled.keys()])) {
      if (records.get(tenant) !== rolled.get(tenant)) problems.push(`tenant ${tenant}: records ${records.get(tenant) ?? "none"}, ${source} ${rolled.get(tenant) ?? "none"}`);
    }
  }
  const stored = rows.filter((r) => r.source === "records").reduce((s, r) => s + Number(r.n), 0);
  if (stored !== acceptedByApi) problems.push(`${stored} records stored, but the API answered accepted for ${acceptedByApi}`);
  const totalsOk = problems.length === 0;
  return {
    stored,
    totalsOk,
    totalsNote: totalsOk ? `${records.size} tenants, ${stored} records: usage_daily and usage_hourly equal usage_records; stored = accepted` : problems.slice(0, 5).join("; "),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The bare loop: the same table, the database's own ceiling for deduplicating batch inserts.

const BARE_SQL = `INSERT INTO connectivity.usage_records (tenant_id, source_id, started_at, ended_at, sim_id, bytes_up, bytes_down, sms_mo, sms_mt, imei, network, radio)
SELECT * FROM unnest($1::uuid[], $2::varchar(128)[], $3::timestamptz[], $4::timestamptz[], $5::uuid[], $6::bigint[], $7::bigint[], $8::int[], $9::int[], $10::char(15)[], $11::varchar(7)[], $12::varchar(8)[])
ON CONFLICT DO NOTHING`;

async function bareLoop(ctx: BenchContext, url: string, sims: SimRef[], dbName: string): Promise<{ rowsPerSecond: number; cpu: Record<string, number> }> {
  const rnd = random(7);
  const now = Date.now();
  // Array literals built once per batch template (pg passes strings through); only the source ids vary.
  const literal = (values: Array<string | number>) => `{${values.join(",")}}`;
  const batches = Array.from({ length: 8 }, () => {
    const rows = sessions(sims, BARE_BATCH, rnd, now);
    return [
      literal(rows.map((r) => r.sim.tenantId)),
      literal(rows.map((r) => r.startedAt)),
      literal(rows.map((r) => r.endedAt)),
      literal(rows.map((r) => r.sim.id)),
      literal(rows.map((r) => r.bytesUp)),
      literal(rows.map((r) => r.bytesDown)),
      literal(rows.map((r) => r.smsMo)),
      literal(rows.map((r) => r.smsMt)),
      literal(rows.map((r) => r.sim.imei)),
      literal(rows.map((r) => r.network)),
      literal(rows.map((r) => r.radio)),
    ];
  });
  const pool = new pg.Pool({ connectionString: url, max: BARE_CONNECTIONS, application_name: "bench-bare" });
  ctx.defer(() => pool.end());
  ctx.log(`bare loop: INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, batches of ${BARE_BATCH}, ${BARE_CONNECTIONS} connections, ${BARE_SECONDS} s`);
  let batchNumber = 0;
  let rows = 0;
  const cpu0 = cpuSnapshot();
  const started = performance.now();
  const deadline = started + BARE_SECONDS * 1000;
  let last = started;
  await Promise.all(
    Array.from({ length: BARE_CONNECTIONS }, async () => {
      while (!ctx.signal.aborted && performance.now() < deadline) {
        const n = batchNumber++;
        const [tenants, startedAt, ...rest] = batches[n % batches.length]!;
        let ids = "{";
        for (let i = 0; i < BARE_BATCH; i++) ids += `${i ? "," : ""}bare-${n}-${i}`;
        const res = await pool.query(BARE_SQL, [tenants, `${ids}}`, startedAt, ...rest]);
        rows += res.rowCount ?? 0;
        last = performance.now();
      }
    }),
  );
  const cpu = cpuBreakdown(cpu0, cpuSnapshot(), [
    ["generator", (pid) => pid === String(process.pid)],
    ["postgres", (_, cmd) => cmd.startsWith("postgres:") && cmd.includes(` ${dbName} `)],
  ]);
  const rowsPerSecond = rows / ((last - started) / 1000);
  const f = (n: number | undefined) => (n ?? Number.NaN).toFixed(0);
  ctx.log(`  ${rows} rows in ${((last - started) / 1000).toFixed(1)} s; CPU, % of one core: PostgreSQL ${f(cpu.postgres)}, bench process ${f(cpu.generator)}, everything else ${f(cpu.rest)}; machine busy ${f(cpu.machine)} of ${os.cpus().length * 100}`);
  if (rows !== batchNumber * BARE_BATCH) throw new Error(`the bare loop inserted ${rows} rows for ${batchNumber} batches of ${BARE_BATCH} unique records`);
  return { rowsPerSecond, cpu };
}

// ---------------------------------------------------------------------------------------------------------

/** The worker process (jobs/worker.ts, built as the server is), stopped with SIGTERM at the end. */
function startWorker(ctx: BenchContext, env: Record<string, string>): number {
  const args = ctx.command.args("server").map((a) => a.replace(/src[/\\]server\.(js|ts)$/, "jobs/worker.$1"));
  const child = spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(env), stdio: "ignore" });
  ctx.defer(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  });
  return child.pid!;
}
