// The monthly billing run at volume (issue 6): 1,000 customer tenants, 1,000,000 SIMs, a 30-day month of daily
// rollups (30 M usage_daily rows; bench/billing-data.ts, generated once and cloned from a template database),
// billed the way production bills: a billing_runs row, the `billing.run` job (the planner: one `billing.tenant`
// job per tenant) and the `billing.tenant` jobs, run by a BullMQ worker on the local Redis (a prefix of the
// bench's own) with the worker concurrency and database pool of a production worker process. The worker takes
// only the billing queue: a full worker process would also start every recurring schedule (the scheduled billing
// run, test-threshold activation, limit sweeps), which would bill or change the same data.
// Timed from the run's creation to its last invoice issued. Printed: seconds, SIMs/s, invoices issued, per-tenant
// job p50/p99, where the time went (CPU of Node and PostgreSQL; the computation's statements on a sample of
// tenants), and checks: one invoice per tenant, numbers without gaps, lines summing to the totals. Then the time
// to render a 10,000-line invoice PDF (bench/billing-pdf.ts).
//
// Settings: BENCH_BILLING_CONCURRENCY (default 4, BullMQ workers' default in production),
// BENCH_BILLING_PROFILE=1 (sum the database time of every statement the run sends, through Prisma's query events:
// a little overhead, so not the figure of record), BENCH_BILLING_EXPLAIN=1 (log EXPLAIN ANALYZE of the
// computation's statements for one tenant), BENCH_BILLING_PG_SETTINGS=jit=off,max_parallel_workers_per_gather=0
// (defaults of the run's database, for a diagnosis), BENCH_BILLING_TENANTS / BENCH_BILLING_SIMS_PER_TENANT (a smaller
// world to try things out; its own cached template), BENCH_BILLING_PDF_LINES (default 10,000).
// Run: `npm run bench:billing`, or `npx tsx bench/billing.bench.ts`.

import { Worker } from "bullmq";
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import { createProcessors } from "../jobs/processors.js";
import { QUEUES, type JobName } from "../jobs/queues.js";
import { loadConfig } from "../src/config.js";
import { startRun } from "../src/modules/billing/billing-run-plan.js";
import { computeTenantBill } from "../src/modules/billing/charges.js";
import { parsePeriod } from "../src/modules/billing/period.js";
import { createKeyring } from "../src/platform/crypto.js";
import { txSql, type SqlRunner } from "../src/platform/db/database.js";
import type { Processors } from "../src/platform/jobs/job-runner.js";
import { openRuntime } from "../src/runtime.js";
import { productionServerEnv } from "../test/helpers/server-env.js";
import { BENCH_PERIOD, cloneBillingTemplate, dataSize, ensureBillingTemplate } from "./billing-data.js";
import { timePdf } from "./billing-pdf.js";
import { queryLog, timedSql, topStatements, type StatementStats } from "./billing-profile.js";
import { cpuBreakdown, cpuSnapshot, deleteRedisKeys, percentile, sleep, type BenchContext, type Benchmark } from "./harness.js";

const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const CONCURRENCY = Number(process.env.BENCH_BILLING_CONCURRENCY ?? 4);
const PROFILE = process.env.BENCH_BILLING_PROFILE === "1";
const EXPLAIN = process.env.BENCH_BILLING_EXPLAIN === "1";
/** "jit=off,max_parallel_workers_per_gather=0": defaults of the run's database, for a diagnosis. */
const PG_SETTINGS = Object.fromEntries(
  (process.env.BENCH_BILLING_PG_SETTINGS ?? "")
    .split(",")
    .filter(Boolean)
    .map((kv) => kv.split("=").map((x) => x.trim()) as [string, string]),
);
const PDF_LINES = Number(process.env.BENCH_BILLING_PDF_LINES ?? 10_000);
/** Tenants whose bill is computed again, alone, after the run (the computation's share of a tenant's time). */
const COMPUTE_SAMPLE = 40;
const TARGET = { runSeconds: 60, pdfSeconds: 2 };

export const billing: Benchmark = {
  name: "billing",
  description: "billing run for 1,000 tenants x 1,000 SIMs x 30 days of usage_daily (BullMQ billing.run/billing.tenant), and a 10,000-line invoice PDF",
  // The first run also generates the data (about 5 minutes); later runs clone it.
  timeLimitMs: 40 * 60_000,
  async run(ctx) {
    const size = dataSize();
    const template = await ensureBillingTemplate(size, ctx.log);
    if (template.built) {
      ctx.report("billing.load", template.built.seconds, "s (generating the data, once per generator version)");
      const rows = size.tenants * size.simsPerTenant * BENCH_PERIOD.days;
      ctx.report("billing.load.usage_daily_rows_per_s", rows / template.built.steps["usage_daily"]!, "rows/s (usage_daily, INSERT ... SELECT on two connections)");
    } else {
      ctx.log(`cached data: ${template.name}`);
    }
    ctx.report("billing.data", template.sizeMiB, "MiB (database size)");
    const db = await cloneBillingTemplate(template.name, PG_SETTINGS);
    ctx.defer(() => db.drop());
    if (Object.keys(PG_SETTINGS).length) ctx.log(`BENCH_BILLING_PG_SETTINGS: the run's database with ${JSON.stringify(PG_SETTINGS)} (a diagnosis, not the figure of record)`);
    ctx.report("billing.clone", db.seconds, "s (CREATE DATABASE ... TEMPLATE, file copy)");

    const workDir = mkdtempSync(join(tmpdir(), "conekt-bench-billing-"));
    ctx.defer(() => rmSync(workDir, { recursive: true, force: true }));
    const redisPrefix = `conekt-bench-${randomBytes(6).toString("hex")}`;
    ctx.defer(() => deleteRedisKeys(REDIS_URL, `{${redisPrefix}}*`));

    // A production worker's wiring (openRuntime: pool size, BullMQ on Redis), enqueue-only: the worker below
    // takes the billing queue alone.
    const config = loadConfig(productionServerEnv({ databaseUrl: db.url, redisUrl: REDIS_URL, redisPrefix, dataDir: workDir }));
    const runtime = await openRuntime(config, { work: false, log: () => undefined });
    ctx.defer(() => runtime.close());
    const profiled = PROFILE ? queryLog(db.url, config.database.poolMax) : undefined;
    if (profiled) ctx.defer(() => profiled.close());
    const processors = createProcessors({
      prisma: profiled?.prisma ?? runtime.db.prisma,
      sql: runtime.db.sql,
      config,
      keyring: createKeyring(runtime.secrets.encryptionKeys),
      connectors: runtime.connectors,
      jobs: () => runtime.jobs,
    });
    for (const name of ["billing.run", "billing.tenant"] as const) {
      if (typeof processors[name] !== "function") throw new Error(`jobs/processors.ts has no processor for ${name} yet`);
    }

    const run = await billingRun(ctx, { processors, runtime, redisPrefix, dbName: db.name });
    const sims = size.tenants * size.simsPerTenant;
    ctx.report("billing.run", run.seconds, `s (target <= ${TARGET.runSeconds})`);
    ctx.report("billing.run.sims_per_s", sims / run.seconds, "SIMs/s");
    ctx.report("billing.run.invoices", run.invoices, "invoices issued");
    ctx.report("billing.run.tenant_p50", percentile(run.tenantMs, 50), "ms per billing.tenant job");
    ctx.report("billing.run.tenant_p99", percentile(run.tenantMs, 99), "ms per billing.tenant job");
    ctx.report("billing.run.cpu_node", run.cpu.node!, "% of one core (this process: the jobs)");
    ctx.report("billing.run.cpu_postgres", run.cpu.postgres!, "% of one core (this database's backends)");
    ctx.report("billing.run.cpu_exited", run.cpu.exited!, "% of one core (processes that ended during the run: PostgreSQL parallel workers)");
    // CPU per tenant: one worker process runs its jobs on one core, so Node's share bounds the run from below.
    const perTenant = (pct: number) => (pct / 100) * run.wallMs / size.tenants;
    ctx.report("billing.run.node_cpu_per_tenant", perTenant(run.cpu.node!), "ms");
    ctx.report("billing.run.postgres_cpu_per_tenant", perTenant(run.cpu.postgres! + run.cpu.exited!), "ms (backends and parallel workers)");

    const check = await verify(runtime.db.sql, size.tenants);
    for (const line of check.notes) ctx.log(`  ${line}`);

    // The computation alone, tenant after tenant (no other work), as production calls it: inside a transaction
    // through txSql. Its share of a tenant's time is what the computation costs; the rest is issuing.
    const compute = await computeAlone(runtime.db.prisma, run.tenantIds);
    ctx.report("billing.compute_p50", percentile(compute.ms, 50), "ms per tenant (computeTenantBill alone, one at a time)");
    ctx.report("billing.compute_p99", percentile(compute.ms, 99), "ms per tenant");
    ctx.report("billing.compute_node_cpu", percentile(compute.cpuMs, 50), "ms per tenant (median Node CPU of computeTenantBill)");
    ctx.log(`the computation's statements over ${compute.ms.length} tenants (total, share, calls, mean):`);
    for (const line of topStatements(compute.stats)) ctx.log(`  ${line}`);
    for (const p of compute.plans) ctx.log(`EXPLAIN ANALYZE (one tenant):\n${p.statement}\n${p.plan}\n`);
    if (profiled) {
      ctx.log("the run's statements, database time as Prisma reports it (total, share, calls, mean):");
      for (const line of topStatements(profiled.stats, 20)) ctx.log(`  ${line}`);
    }

    const pdf = await timePdf(PDF_LINES);
    ctx.report("billing.pdf", pdf.warmMs, `ms for ${PDF_LINES} lines (a worker that has rendered before; target <= ${TARGET.pdfSeconds * 1000})`);
    ctx.report("billing.pdf.cold", pdf.coldMs, "ms (the first render in a process: fonts loaded, code not optimised)");
    ctx.report("billing.pdf.size", pdf.bytes / 1024, `KiB, ${pdf.pages} pages`);

    const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
    ctx.log(`targets: run ${verdict(run.seconds <= TARGET.runSeconds)} (${run.seconds.toFixed(1)} s), PDF ${verdict(pdf.warmMs <= TARGET.pdfSeconds * 1000)} (${pdf.warmMs.toFixed(0)} ms)`);
    console.log(`billing.checks: ${check.ok ? "OK" : "FAILED"} (${check.summary})`);
    if (!check.ok) throw new Error(`billing run checks failed: ${check.failures.join("; ")}`);
  },
};

interface RunResult {
  seconds: number;
  /** The window the CPU split covers: from the run's creation until the poll saw it finished. */
  wallMs: number;
  invoices: number;
  tenantMs: number[];
  tenantIds: string[];
  cpu: Record<string, number>;
}

/** Creates the run, enqueues `billing.run`, works the billing queue until the run is finished. */
async function billingRun(
  ctx: BenchContext,
  env: { processors: Processors; runtime: Awaited<ReturnType<typeof openRuntime>>; redisPrefix: string; dbName: string },
): Promise<RunResult> {
  const { runtime } = env;
  const sql = runtime.db.sql;
  const tenantMs: number[] = [];
  const failures: string[] = [];
  // As bullmq-runner.ts builds its workers: same processors, same connection settings, same concurrency.
  const connection = runtime.redis!.duplicate();
  ctx.defer(() => connection.quit().catch(() => undefined));
  const worker = new Worker(
    QUEUES.billing,
    async (job) => {
      const processor = env.processors[job.name as JobName] as Processors[JobName];
      const t0 = performance.now();
      try {
        return await processor(job.data, { attempt: job.attemptsMade + 1, progress: (p) => job.updateProgress(p), log: ctx.log });
      } finally {
        if (job.name === "billing.tenant") tenantMs.push(performance.now() - t0);
      }
    },
    { connection, prefix: `{${env.redisPrefix}}`, concurrency: CONCURRENCY, autorun: false },
  );
  worker.on("failed", (job, err) => {
    if (failures.length < 5) failures.push(`${job?.name} ${job?.id}: ${err.message}`);
  });
  ctx.defer(() => worker.close());
  void worker.run();
  await worker.waitUntilReady();

  const cpu0 = cpuSnapshot();
  const began = performance.now();
  // As POST /v1/billing/runs does it (billing-runs.service.ts, less the authorization and audit): the row, then
  // the planner's job.
  const created = await runtime.db.prisma.billingRun.create({
    data: { periodStart: parsePeriod(BENCH_PERIOD.key)!.start, tenantId: null, trigger: "manual", actorType: "system", actorId: "bench" },
  });
  const runId = created.id;
  await startRun(runtime.jobs, runId);
  ctx.log(`run ${runId} for ${BENCH_PERIOD.key} enqueued; ${CONCURRENCY} concurrent jobs`);

  let lastLog = began;
  let state: { status: string; done: number; total: number; invoices: number; failed: number } | undefined;
  for (;;) {
    if (ctx.signal.aborted) throw new Error("aborted");
    const [row] = await sql.query<{ status: string; done: number; total: number; invoices: number; failed: number }>(
      `SELECT status::text, tenants_done AS done, tenants_total AS total, invoices_created AS invoices, tenants_failed AS failed FROM enterprise.billing_runs WHERE id = $1::uuid`,
      [runId],
    );
    state = row!;
    if (state.status === "completed" || state.status === "failed") break;
    if (performance.now() - lastLog > 5000) {
      lastLog = performance.now();
      ctx.log(`  ${((lastLog - began) / 1000).toFixed(0)} s: ${state.status}, ${state.done}/${state.total} tenants, ${state.invoices} invoices${failures.length ? `; job failures: ${failures.join(" | ")}` : ""}`);
    }
    await sleep(50);
  }
  const polledSeconds = (performance.now() - began) / 1000;
  const cpu = cpuBreakdown(cpu0, cpuSnapshot(), [
    ["node", (pid) => pid === String(process.pid)],
    // A parallel worker's title names its leader's pid, not the database: any parallel worker counts as ours.
    ["postgres", (_, cmd) => cmd.startsWith("postgres:") && (cmd.includes(` ${env.dbName} `) || cmd.startsWith("postgres: parallel worker"))],
    ["redis", (_, cmd) => cmd.startsWith("redis-server") || cmd.includes("/redis-server")],
  ]);
  // CPU of processes that started and ended between the two snapshots is in the machine's total only: during
  // the run that is mostly PostgreSQL's parallel workers (a few per parallel plan, each living one statement).
  cpu.exited = Math.max(0, cpu.machine! - cpu.node! - cpu.postgres! - cpu.redis! - cpu.rest!);
  // The run's figure ends here: the invoices' PDF and mail jobs queued behind the tenants are left unworked,
  // so they do not run under the measurements that follow.
  await worker.close();
  // From the run's creation to the last invoice issued, on the database's clock (the poll adds up to 50 ms).
  const [span] = await sql.query<{ seconds: string }>(
    `SELECT extract(epoch FROM (SELECT max(issued_at) FROM enterprise.invoices WHERE billing_run_id = r.id) - r.created_at)::text AS seconds
     FROM enterprise.billing_runs r WHERE r.id = $1::uuid`,
    [runId],
  );
  const tenants = await sql.query<{ id: string }>(`SELECT tenant_id::text AS id FROM enterprise.billing_run_tenants WHERE run_id = $1::uuid ORDER BY tenant_id`, [runId]);
  const f = (n: number | undefined) => (n ?? Number.NaN).toFixed(0);
  ctx.log(
    `run ${state.status} after ${polledSeconds.toFixed(1)} s: ${state.done}/${state.total} tenants, ${state.invoices} invoices, ${state.failed} failed. ` +
      `CPU, % of one core: this process (jobs) ${f(cpu.node)}, PostgreSQL (this database) ${f(cpu.postgres)}, processes that exited during the run ` +
      `(PostgreSQL parallel workers) ${f(cpu.exited)}, Redis ${f(cpu.redis)}, everything else ${f(cpu.rest)}; ` +
      `machine busy ${f(cpu.machine)} of ${os.cpus().length * 100}, steal ${f(cpu.steal)}`,
  );
  if (cpu.rest! > 25 || cpu.steal! > 10) ctx.log("WARNING: other work took CPU during the run; its figures are low. Re-run on a quiet machine.");
  if (failures.length) ctx.log(`job failures: ${failures.join(" | ")}`);
  if (state.status !== "completed") {
    const errors = await sql.query<{ error: string }>(`SELECT DISTINCT error FROM enterprise.billing_run_tenants WHERE run_id = $1::uuid AND state = 'failed' LIMIT 5`, [runId]);
    throw new Error(`the run ended ${state.status}: ${state.failed} tenant(s) failed, e.g. ${errors.map((e) => e.error).join(" | ")}`);
  }
  return { seconds: Number(span?.seconds ?? polledSeconds), wallMs: polledSeconds * 1000, invoices: state.invoices, tenantMs: tenantMs.sort((a, b) => a - b), tenantIds: tenants.map((t) => t.id), cpu };
}

interface Verification {
  ok: boolean;
  summary: string;
  failures: string[];
  notes: string[];
}

/** One invoice per tenant, issued; numbers without gaps per series; lines, VAT breakdown and totals agree. */
async function verify(sql: SqlRunner, tenants: number): Promise<Verification> {
  const failures: string[] = [];
  const notes: string[] = [];
  const period = BENCH_PERIOD.start;
  const [counts] = await sql.query<{ invoices: number; tenants: number; issued: number; numbered: number; max_per_tenant: number }>(
    `SELECT count(*)::int AS invoices, count(DISTINCT tenant_id)::int AS tenants, count(*) FILTER (WHERE status = 'issued')::int AS issued,
       count(DISTINCT number)::int AS numbered,
       coalesce((SELECT max(n) FROM (SELECT count(*)::int AS n FROM enterprise.invoices WHERE period_start = $1::date AND kind = 'invoice' GROUP BY tenant_id) x), 0) AS max_per_tenant
     FROM enterprise.invoices WHERE period_start = $1::date AND kind = 'invoice'`,
    [period],
  );
  if (counts!.tenants !== tenants) failures.push(`${counts!.tenants} of ${tenants} tenants invoiced`);
  if (counts!.max_per_tenant > 1) failures.push(`a tenant has ${counts!.max_per_tenant} invoices for the period (the bench's tenants bill in one currency each)`);
  if (counts!.issued !== counts!.invoices) failures.push(`${counts!.invoices - counts!.issued} invoice(s) not issued`);
  if (counts!.numbered !== counts!.invoices) failures.push(`${counts!.invoices} invoices but ${counts!.numbered} distinct numbers`);

  const series = await sql.query<{ series: string; n: number; first: number; last: number }>(
    `SELECT series, count(*)::int AS n, min(substring(number FROM '([0-9]+)$')::int) AS first, max(substring(number FROM '([0-9]+)$')::int) AS last
     FROM enterprise.invoices WHERE number IS NOT NULL GROUP BY series ORDER BY series`,
  );
  for (const s of series) {
    if (s.first !== 1 || s.last !== s.n) failures.push(`series ${s.series}: ${s.n} numbers from ${s.first} to ${s.last} (gaps or a wrong start)`);
    notes.push(`series ${s.series}: ${s.n} numbers, ${s.first} to ${s.last}`);
  }

  const [sums] = await sql.query<{ bad: number; lines: string; charges: string }>(
    `SELECT count(*) FILTER (WHERE l.net IS DISTINCT FROM i.net_minor OR i.net_minor + i.vat_minor <> i.total_minor
                               OR b.net IS DISTINCT FROM i.net_minor OR b.vat IS DISTINCT FROM i.vat_minor)::int AS bad,
       (SELECT count(*) FROM enterprise.invoice_lines)::text AS lines, (SELECT count(*) FROM enterprise.invoice_sim_charges)::text AS charges
     FROM enterprise.invoices i
     LEFT JOIN (SELECT invoice_id, sum(net_minor) AS net FROM enterprise.invoice_lines GROUP BY invoice_id) l ON l.invoice_id = i.id
     LEFT JOIN LATERAL (SELECT sum((e->>'netMinor')::bigint) AS net, sum((e->>'vatMinor')::bigint) AS vat FROM jsonb_array_elements(i.vat_breakdown) e) b ON true
     WHERE i.period_start = $1::date AND i.kind = 'invoice'`,
    [period],
  );
  if (sums!.bad > 0) failures.push(`${sums!.bad} invoice(s) whose lines, VAT breakdown and totals disagree`);

  const mix = await sql.query<{ currency: string; treatment: string; n: number; net: string; vat: string; total: string }>(
    `SELECT currency, vat_treatment::text AS treatment, count(*)::int AS n, sum(net_minor)::text AS net, sum(vat_minor)::text AS vat, sum(total_minor)::text AS total
     FROM enterprise.invoices WHERE period_start = $1::date AND kind = 'invoice' GROUP BY 1, 2 ORDER BY 1, 2`,
    [period],
  );
  for (const m of mix) notes.push(`${m.currency} ${m.treatment}: ${m.n} invoices, net ${m.net}, VAT ${m.vat}, total ${m.total} (minor units)`);
  notes.push(`${sums!.lines} invoice lines, ${sums!.charges} per-SIM charge rows`);
  const summary = `${counts!.invoices} invoices for ${counts!.tenants} tenants, ${series.map((s) => `${s.series} 1..${s.last}`).join(", ")}, ${sums!.bad} with lines not summing to totals`;
  return { ok: failures.length === 0, summary, failures, notes };
}

/** computeTenantBill for a sample of tenants, one at a time, each in a transaction set up as issuing's; statements timed. */
async function computeAlone(
  prisma: Awaited<ReturnType<typeof openRuntime>>["db"]["prisma"],
  tenantIds: string[],
): Promise<{ ms: number[]; cpuMs: number[]; stats: Map<string, StatementStats>; plans: Array<{ statement: string; plan: string }> }> {
  const period = parsePeriod(BENCH_PERIOD.key)!;
  const step = Math.max(1, Math.floor(tenantIds.length / COMPUTE_SAMPLE));
  const sample = tenantIds.filter((_, i) => i % step === 0).slice(0, COMPUTE_SAMPLE);
  const ms: number[] = [];
  const cpuMs: number[] = [];
  const stats = new Map<string, StatementStats>();
  for (const tenantId of sample) {
    await prisma.$transaction(async (tx) => {
      // The transaction's settings as billTenant (issuing.ts) sets them: no JIT, no parallel workers.
      await tx.$executeRaw`SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`;
      const timed = timedSql(txSql(tx));
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await computeTenantBill(timed, tenantId, period);
      ms.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpuMs.push((c.user + c.system) / 1000);
      for (const [k, s] of timed.stats) {
        const acc = stats.get(k) ?? { calls: 0, ms: 0, rows: 0 };
        stats.set(k, { calls: acc.calls + s.calls, ms: acc.ms + s.ms, rows: acc.rows + s.rows });
      }
    }, { timeout: 120_000 });
  }
  let plans: Array<{ statement: string; plan: string }> = [];
  if (EXPLAIN && sample[0]) {
    await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`;
      const explained = timedSql(txSql(tx), { explain: true });
      await computeTenantBill(explained, sample[0]!, period);
      plans = explained.plans;
    }, { timeout: 120_000 });
  }
  return { ms: ms.sort((a, b) => a - b), cpuMs: cpuMs.sort((a, b) => a - b), stats, plans };
}

// `npx tsx bench/billing.bench.ts`: runs on its own, printing figures like `npm run bench`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const cleanups: Array<() => unknown> = [];
  const ctx = {
    report: (name: string, value: number, unit: string) => console.log(`${name}: ${Number.isInteger(value) || Math.abs(value) >= 100 ? Math.round(value) : value.toFixed(2)} ${unit}`),
    log: (msg: string) => console.error(msg),
    defer: (fn: () => unknown) => void cleanups.push(fn),
    signal: new AbortController().signal,
  } as unknown as BenchContext;
  try {
    await billing.run(ctx);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}
