// SIM inventory at scale (issue 4): import 100,000 SIMs from a CSV file and 100,000 from JSON through
// POST /v1/inventory/sims/import, then allocate 100,000 of them by count to a customer tenant, each over HTTP to
// a real server process on PostgreSQL + Redis. Every row carries a PIN and a PUK (sealed one by one) and a tenth
// are eSIMs with an EID: the worst case of the row checks.

import http from "node:http";
import { performance } from "node:perf_hooks";
import { makeEid, makeIccid } from "../src/platform/identifiers.js";
import { request, rssMiB, runCli, startServer, type BenchContext, type Benchmark, type HttpReply, type RequestSpec, benchWorkspace, expectStatus, signIn } from "./harness.js";
import { productionServerEnv } from "../test/helpers/server-env.js";

const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
/** BENCH_IMPORT_ROWS shrinks the files for a quick try; the documented figures use 100,000. */
const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const ADMIN_EMAIL = "bench-inventory@example.com";
const LONG = 300_000;

export const simImport: Benchmark = {
  name: "sim-import",
  description: `POST /v1/inventory/sims/import of ${ROWS} SIMs as CSV and ${ROWS} as JSON, then POST /v1/inventory/sims/allocate of ${ROWS} by count`,
  timeLimitMs: 600_000,
  async run(ctx) {
    const { workDir, database, redisPrefix } = await benchWorkspace(ctx, "import", REDIS_URL);
    const env = productionServerEnv({ databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix, dataDir: workDir });
    const bootstrap = await runCli(ctx, ["bootstrap", "--email", ADMIN_EMAIL, "--json"], env);
    const admin = JSON.parse(bootstrap.trim().split("\n").pop() ?? "") as { email: string; password: string };
    const server = await startServer(ctx, env);
    const agent = new http.Agent({ keepAlive: true });
    ctx.defer(() => agent.destroy());
    const call = (spec: RequestSpec) => request(agent, server.port, spec, LONG);
    const session = await signIn(call, { method: "POST", path: "/v1/auth/login", body: JSON.stringify({ email: admin.email, password: admin.password }) });
    const headers = { cookie: session.cookie, "x-csrf-token": session.csrfToken };

    const csvBody = ["iccid,imsi,msisdn,eid,formFactor,pin,puk", ...rows(1).map((r) => [r.iccid, r.imsi, r.msisdn, r.eid ?? "", r.formFactor, r.pin, r.puk].join(","))].join("\r\n");
    ctx.log(`import: ${ROWS} rows as CSV (${(csvBody.length / 2 ** 20).toFixed(1)} MiB)`);
    await timedImport(ctx, "csv", () => call({ method: "POST", path: "/v1/inventory/sims/import", headers: { ...headers, "content-type": "text/csv" }, body: csvBody }));
    const jsonBody = JSON.stringify({ sims: rows(2) });
    ctx.log(`import: ${ROWS} rows as JSON (${(jsonBody.length / 2 ** 20).toFixed(1)} MiB)`);
    await timedImport(ctx, "json", () => call({ method: "POST", path: "/v1/inventory/sims/import", headers, body: jsonBody }));
    ctx.report("sim_import.server_rss_after", rssMiB(server.pid), "MiB");

    const tenant = JSON.parse(
      expectStatus(
        await call({ method: "POST", path: "/v1/tenants", headers, body: JSON.stringify({ slug: "bench-fleet", legalName: "Bench Fleet GmbH", country: "DE", billingAddress: { line1: "A 1", postalCode: "10115", city: "Berlin", country: "DE" } }) }),
        201,
        "POST /v1/tenants",
      ).body,
    ) as { id: string };
    const plan = JSON.parse(expectStatus(await call({ method: "POST", path: "/v1/rate-plans", headers, body: JSON.stringify({ code: "BENCH-1GB", name: "Bench 1 GB", currency: "EUR" }) }), 201, "POST /v1/rate-plans").body) as { id: string };
    ctx.log(`allocate: ${ROWS} SIMs by count`);
    const t0 = performance.now();
    const allocated = JSON.parse(
      expectStatus(await call({ method: "POST", path: "/v1/inventory/sims/allocate", headers, body: JSON.stringify({ tenantId: tenant.id, ratePlanId: plan.id, count: ROWS }) }), 200, "allocate").body,
    ) as { allocated: number };
    const ms = performance.now() - t0;
    if (allocated.allocated !== ROWS) throw new Error(`allocated ${allocated.allocated}, expected ${ROWS}`);
    ctx.report("sim_allocate.count_time", ms / 1000, "s");
    ctx.report("sim_allocate.rate", ROWS / (ms / 1000), "SIMs/s");
    await server.stop();
  },
};

async function timedImport(ctx: BenchContext, format: "csv" | "json", send: () => Promise<HttpReply>): Promise<void> {
  const t0 = performance.now();
  const res = expectStatus(await send(), 200, `import ${format}`);
  const ms = performance.now() - t0;
  const answer = JSON.parse(res.body) as { imported: number; rejected: number };
  if (answer.imported !== ROWS || answer.rejected !== 0) throw new Error(`import ${format}: ${res.body.slice(0, 500)}`);
  ctx.report(`sim_import.${format}_time`, ms / 1000, "s");
  ctx.report(`sim_import.${format}_rate`, ROWS / (ms / 1000), "rows/s");
}

/** `ROWS` valid SIMs in a number block of their own; every tenth an eSIM with an EID. */
function rows(block: number) {
  return Array.from({ length: ROWS }, (_, i) => {
    const n = String(i).padStart(8, "0");
    const esim = i % 10 === 0;
    return {
      iccid: makeIccid(`8944${block}90000${n}`),
      imsi: `23415${block}9${n}`,
      msisdn: `4477${block}9${n}`,
      eid: esim ? makeEid(`89049032${block}9000000000000${n}`) : null,
      formFactor: esim ? "esim" : "mff2",
      pin: String(1000 + (i % 9000)),
      puk: String(10_000_000 + i),
    };
  });
}



