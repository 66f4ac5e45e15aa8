// Bulk operations (issue 4 acceptance): a bulk suspend of 100,000 SIMs through the real HTTP API, run by the
// real BullMQ worker, with its progress polled while it runs, then checked SIM by SIM in the database.
//
// The server is a child process started as in production (`RUN_JOBS=true`, the default: the API process also
// runs the job workers), so the figure includes the HTTP API, BullMQ on Redis, the network simulator and
// PostgreSQL exactly as deployed on one machine. A separate worker process (`npm run worker`) would take the
// engine off the API's thread; on this 2-core machine it would only move the same work to the other core,
// which PostgreSQL needs.

import http from "node:http";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { openDatabase } from "../src/platform/db/database.js";
import { createTenant, createUser } from "../test/helpers/factories.js";
import { seedSims } from "../test/operations/helpers.js";
import { cpuBreakdown, cpuSnapshot, request, rssMiB, sleep, startServer, type Benchmark, type RequestSpec, benchWorkspace, expectStatus } from "./harness.js";
import { productionServerEnv } from "../test/helpers/server-env.js";

const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
/** BENCH_BULK_SIMS shrinks the fleet for a quick try; the documented figures use 100,000 (the product's maximum). */
const SIMS = Number(process.env.BENCH_BULK_SIMS ?? 100_000);
const POLL_MS = 500;

export const bulk: Benchmark = {
  name: "bulk",
  description: `bulk suspend of ${SIMS} SIMs through POST /v1/operations, progress polled, every SIM and history row checked`,
  timeLimitMs: 300_000,
  async run(ctx) {
    const { workDir, database, redisPrefix } = await benchWorkspace(ctx, "bulk", REDIS_URL);
    ctx.log(`fresh database ${database.name}, Redis prefix {${redisPrefix}}`);

    // Seed directly in the database, set-based: the fleet is the starting point, not what is measured.
    const db = await openDatabase({ url: database.url, poolMax: 2, dataDir: workDir, migrateOnStart: false, log: () => undefined });
    ctx.defer(() => db.close());
    const tenant = await createTenant(db.prisma);
    const owner = await createUser(db.prisma, { tenantId: tenant.id, role: "owner" });
    ctx.log(`seeding ${SIMS} active SIMs in tenant ${tenant.slug}`);
    const seedStarted = performance.now();
    await seedSims(db.prisma, { tenantId: tenant.id, count: SIMS, status: "active" });
    await db.prisma.$executeRawUnsafe("ANALYZE connectivity.sims");
    ctx.report("bulk.seed", (performance.now() - seedStarted) / 1000, "s");

    const server = await startServer(ctx, productionServerEnv({ databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix, dataDir: workDir }));
    const agent = new http.Agent({ keepAlive: true });
    ctx.defer(() => agent.destroy());
    const call = (spec: RequestSpec) => request(agent, server.port, spec, 120_000);

    const login = expectStatus(await call({ method: "POST", path: "/v1/auth/login", body: JSON.stringify({ email: owner.email, password: owner.password }) }), 200, "login");
    const cookie = String([login.headers["set-cookie"]].flat().find((c) => c?.startsWith("conekt_session="))).split(";")[0]!;
    const csrf = (JSON.parse(login.body) as { csrfToken: string }).csrfToken;
    const authed = { cookie };

    ctx.log(`POST /v1/operations {action: suspend, filter: {status: active}} for ${SIMS} SIMs`);
    const cpu0 = cpuSnapshot();
    const started = performance.now();
    const created = expectStatus(
      await call({ method: "POST", path: "/v1/operations", headers: { ...authed, "x-csrf-token": csrf }, body: JSON.stringify({ action: "suspend", filter: { status: "active" }, reasonCode: "bench_bulk" }) }),
      202,
      "POST /v1/operations",
    );
    const accepted = performance.now() - started;
    const op = JSON.parse(created.body) as { id: string; total: number };
    if (op.total !== SIMS) throw new Error(`the operation holds ${op.total} SIMs, not ${SIMS}`);
    ctx.report("bulk.accept", accepted, "ms");

    let last: { status: string; percent: number; succeeded: number; failed: number; skipped: number } | undefined;
    let polls = 0;
    let runningPolls = 0;
    let rssPeak = rssMiB(server.pid);
    while (!ctx.signal.aborted) {
      last = JSON.parse(expectStatus(await call({ path: `/v1/operations/${op.id}`, headers: authed }), 200, "GET /v1/operations/{id}").body) as typeof last;
      polls++;
      rssPeak = Math.max(rssPeak, rssMiB(server.pid));
      if (last!.status === "running" && last!.percent > 0 && last!.percent < 100) runningPolls++;
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      ctx.log(`  ${elapsed} s: ${last!.status} ${last!.percent} % (succeeded ${last!.succeeded}, failed ${last!.failed}, skipped ${last!.skipped})`);
      if (last!.status === "completed" || last!.status === "failed") break;
      await sleep(POLL_MS);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuBreakdown(cpu0, cpuSnapshot(), [
      ["server", (pid) => pid === String(server.pid)],
      ["postgres", (_, cmd) => cmd.startsWith("postgres:") && cmd.includes(` ${database.name} `)],
      ["redis", (_, cmd) => cmd.startsWith("redis-server") || cmd.includes("/redis-server")],
    ]);
    if (last?.status !== "completed") throw new Error(`the operation ended ${last?.status}`);
    ctx.report("bulk.total", seconds, "s");
    ctx.report("bulk.rate", SIMS / seconds, "SIMs/s");
    ctx.report("bulk.progress_polls", runningPolls, "polls");
    ctx.report("bulk.server_cpu", cpu.server!, "%");
    ctx.report("bulk.postgres_cpu", cpu.postgres!, "%");
    ctx.report("bulk.server_rss_peak", rssPeak, "MiB");
    const f = (n: number | undefined) => (n ?? Number.NaN).toFixed(0);
    ctx.log(`  CPU, % of one core: server ${f(cpu.server)}, PostgreSQL ${f(cpu.postgres)}, Redis ${f(cpu.redis)}, everything else ${f(cpu.rest)}; machine busy ${f(cpu.machine)} of ${os.cpus().length * 100}`);
    if (runningPolls === 0) throw new Error("no poll saw the operation running part-way: progress was not visible");

    // Every SIM suspended, with exactly one history row for this operation, and nothing left marked.
    const [check] = await db.prisma.$queryRaw<Array<{ suspended: number; marked: number; withOneRow: number; rows: number }>>`
      SELECT
        (SELECT count(*)::int FROM connectivity.sims WHERE tenant_id = ${tenant.id}::uuid AND status = 'suspended' AND status_reason = 'bench_bulk') AS suspended,
        (SELECT count(*)::int FROM connectivity.sims WHERE tenant_id = ${tenant.id}::uuid AND pending_operation_id IS NOT NULL) AS marked,
        (SELECT count(*)::int FROM (
           SELECT e.sim_id FROM connectivity.sim_events e
           WHERE e.tenant_id = ${tenant.id}::uuid AND e.operation_id = ${op.id}::uuid AND e.kind = 'state_changed'
             AND e.from_status = 'active' AND e.to_status = 'suspended' AND e.billing_effect = 'reduced'
           GROUP BY e.sim_id HAVING count(*) = 1) one) AS "withOneRow",
        (SELECT count(*)::int FROM connectivity.sim_events WHERE tenant_id = ${tenant.id}::uuid AND operation_id = ${op.id}::uuid) AS rows`;
    ctx.log(`  check: ${check!.suspended} suspended, ${check!.withOneRow} with exactly one state_changed row, ${check!.rows} rows, ${check!.marked} still marked`);
    if (check!.suspended !== SIMS || check!.withOneRow !== SIMS || check!.rows !== SIMS || check!.marked !== 0) {
      throw new Error(`after the operation: ${JSON.stringify(check)}; expected ${SIMS} suspended SIMs with one history row each`);
    }
    ctx.report("bulk.verified", check!.withOneRow, "SIMs");
    await server.stop();
  },
};


