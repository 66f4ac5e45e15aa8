import { performance } from "node:perf_hooks";
import t from "tap";
import type { NetworkConnector } from "../../src/connectors/network/network-connector.js";
import { createNetworkSimulator } from "../../src/connectors/network/network-simulator.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { createOperationEngine } from "../../src/modules/operations/operation-engine.js";
import { OPERATION_ATTEMPTS, createOperation } from "../../src/modules/operations/operation-requests.js";
import type { JobContext } from "../../src/platform/jobs/job-runner.js";
import { build, type TestApp } from "../helpers/build.js";
import { createTenant, createUser } from "../helpers/factories.js";
import { seedSims, signedIn, waitForOperation } from "./helpers.js";

/**
 * The lifecycle engine itself: resuming after a crash without writing anything twice, giving up after the last
 * attempt, progress, webhooks, and a 10,000-SIM bulk suspend end to end through the API.
 */

/** A network with small batches that can be told to fail: after applying a call (a crash before we record it), or before. */
function flakyNetwork(opts: { maxBatch: number; crashAfterCall?: number; alwaysThrow?: boolean }) {
  const inner = createNetworkSimulator();
  let calls = 0;
  const applied: string[] = [];
  const network: NetworkConnector = {
    kind: "simulator",
    maxBatch: opts.maxBatch,
    async apply(changes) {
      calls++;
      if (opts.alwaysThrow) throw new Error("operator API: 503 Service Unavailable");
      const results = await inner.apply(changes);
      applied.push(...changes.map((c) => c.iccid));
      if (calls === opts.crashAfterCall) throw new Error("connection reset after the operator applied the changes");
      return results;
    },
  };
  return { network, applied, calls: () => calls };
}

function jobContext(attempt = 1) {
  const progress: number[] = [];
  const ctx: JobContext = { attempt, progress: async (p) => void progress.push(p), log: () => undefined };
  return { ctx, progress };
}

async function suspendOperation(app: TestApp, tenantId: string, simIds: string[]): Promise<string> {
  const { operationId } = await app.prisma.$transaction((tx) => createOperation(tx, { tenantId, action: "suspend", simIds, reasonCode: "imei_mismatch", actor: systemActor("imei-policy") }));
  return operationId;
}

/** A webhook endpoint subscribed to the lifecycle events (its deliveries are only recorded: no worker runs here). */
async function subscribe(app: TestApp, tenantId: string): Promise<void> {
  await app.prisma.$executeRaw`
    INSERT INTO enterprise.webhook_endpoints (id, tenant_id, url, events, secret_encrypted, updated_at)
    VALUES (gen_random_uuid(), ${tenantId}::uuid, 'https://hooks.example.com/conekt', ARRAY['sim.state_changed', 'operation.completed']::varchar(64)[], 'not-used', now())`;
}

t.test("a crash after the network applied a chunk: the next run finishes it without writing anything twice", async (t) => {
  const app = await build(t);
  const tenant = await createTenant(app.prisma);
  await subscribe(app, tenant.id);
  const sims = await seedSims(app.prisma, { tenantId: tenant.id, count: 30, status: "active" });
  const operationId = await suspendOperation(app, tenant.id, sims.map((s) => s.id));

  // First run: the second network call "crashes" after the operator applied it.
  const first = flakyNetwork({ maxBatch: 10, crashAfterCall: 2 });
  const run1 = jobContext(1);
  await t.rejects(createOperationEngine({ prisma: app.prisma, network: first.network, jobs: () => app.runtime.jobs }).run(operationId, run1.ctx), /connection reset/);
  const mid = await app.prisma.operation.findUniqueOrThrow({ where: { id: operationId } });
  // Two chunks run at once: the chunk beside the crashed one may or may not have been recorded before the crash
  // stopped the run (timing), so the run recorded 10 or 20 SIMs. Either way the crashed chunk is not recorded.
  t.ok(mid.succeeded === 10 || mid.succeeded === 20, `one or two chunks recorded (${mid.succeeded}), the operation still running`);
  t.match(mid, { status: "running", failed: 0 });
  t.ok(mid.startedAt);
  t.equal(await app.prisma.sim.count({ where: { pendingOperationId: operationId } }), 10, "the crashed chunk's SIMs still carry the operation");
  const unrecorded = await app.prisma.operationItem.count({ where: { operationId, state: "pending" } });
  t.equal(unrecorded, 30 - mid.succeeded);
  // Progress is floored (never 100 before the end): 10 of 30 is 33, 20 of 30 is 66.
  t.same(run1.progress, mid.succeeded === 10 ? [33] : [33, 66], "progress reported for the recorded chunks");

  // Second run (the job's retry): re-sends the marked SIMs (idempotent on the network), then the rest.
  const second = flakyNetwork({ maxBatch: 10 });
  const run2 = jobContext(2);
  const result = await createOperationEngine({ prisma: app.prisma, network: second.network, jobs: () => app.runtime.jobs }).run(operationId, run2.ctx);
  t.match(result, { status: "completed", counters: { total: 30, succeeded: 30, failed: 0 } });
  t.equal(second.applied.length, unrecorded, "only the unrecorded SIMs go to the network again");
  t.same(run2.progress.at(-1), 100);
  t.ok(run2.progress.every((p, i) => i === 0 || p > run2.progress[i - 1]!), "progress only grows");

  const perSim = await app.prisma.$queryRaw<Array<{ n: number }>>`
    SELECT count(e.id)::int AS n FROM connectivity.sims s
    LEFT JOIN connectivity.sim_events e ON e.sim_id = s.id AND e.operation_id = ${operationId}::uuid AND e.kind = 'state_changed'
    WHERE s.tenant_id = ${tenant.id}::uuid GROUP BY s.id`;
  t.same([...new Set(perSim.map((r) => r.n))], [1], "every SIM has exactly one history row for the operation");
  const event = await app.prisma.simEvent.findFirstOrThrow({ where: { operationId } });
  t.match(event, { fromStatus: "active", toStatus: "suspended", reasonCode: "imei_mismatch", billingEffect: "reduced", actorType: "system", actorId: "imei-policy" });
  t.equal(await app.prisma.sim.count({ where: { tenantId: tenant.id, status: "suspended", statusReason: "imei_mismatch", pendingOperationId: null } }), 30);
  const deliveries = await app.prisma.$queryRaw<Array<{ type: string; n: number }>>`
    SELECT event_type AS type, count(*)::int AS n FROM connectivity.webhook_deliveries WHERE tenant_id = ${tenant.id}::uuid GROUP BY 1 ORDER BY 1`;
  t.same(deliveries, [{ type: "operation.completed", n: 1 }, { type: "sim.state_changed", n: 30 }], "one webhook per changed SIM and one for the completion");
  const payload = await app.prisma.$queryRaw<Array<{ payload: any }>>`SELECT payload FROM connectivity.webhook_deliveries WHERE event_type = 'sim.state_changed' LIMIT 1`;
  t.match(payload[0]!.payload, { type: "sim.state_changed", data: { from: "active", to: "suspended", reasonCode: "imei_mismatch", operationId } });

  // A third run (a duplicate delivery of the job) finds nothing to do and writes nothing.
  t.match(await createOperationEngine({ prisma: app.prisma, network: second.network, jobs: () => app.runtime.jobs }).run(operationId, jobContext(1).ctx), { status: "not_runnable" });
  t.equal(await app.prisma.auditEvent.count({ where: { tenantId: tenant.id, action: "operation.completed" } }), 1, "completed once");
});

t.test("after the last attempt the engine gives up: pending SIMs fail operation_abandoned and are released", async (t) => {
  const app = await build(t);
  const tenant = await createTenant(app.prisma);
  const sims = await seedSims(app.prisma, { tenantId: tenant.id, count: 5, status: "active" });
  const operationId = await suspendOperation(app, tenant.id, sims.map((s) => s.id));
  const down = flakyNetwork({ maxBatch: 10, alwaysThrow: true });
  const engine = createOperationEngine({ prisma: app.prisma, network: down.network, jobs: () => app.runtime.jobs });

  await t.rejects(engine.run(operationId, jobContext(1).ctx), /503/, "an early attempt fails the job (it is retried)");
  t.equal(await app.prisma.sim.count({ where: { pendingOperationId: operationId } }), 5, "meanwhile the SIMs stay held");
  const result = await engine.run(operationId, jobContext(OPERATION_ATTEMPTS).ctx);
  t.match(result, { status: "failed", counters: { total: 5, failed: 5, succeeded: 0 } });
  const op = await app.prisma.operation.findUniqueOrThrow({ where: { id: operationId } });
  t.match(op, { status: "failed", failed: 5, error: /Stopped after/ });
  t.ok(op.completedAt);
  t.equal(await app.prisma.operationItem.count({ where: { operationId, state: "failed", reason: "operation_abandoned" } }), 5);
  t.equal(await app.prisma.sim.count({ where: { tenantId: tenant.id, status: "active", pendingOperationId: null } }), 5, "unchanged and free again");
  t.equal(await app.prisma.auditEvent.count({ where: { tenantId: tenant.id, action: "operation.failed" } }), 1);
});

t.test("createOperation leaves out SIMs of other tenants and duplicates", async (t) => {
  const app = await build(t);
  const [a, b] = [await createTenant(app.prisma), await createTenant(app.prisma)];
  const mine = await seedSims(app.prisma, { tenantId: a.id, count: 3 });
  const theirs = await seedSims(app.prisma, { tenantId: b.id, count: 2 });
  const operationId = await suspendOperation(app, a.id, [mine[0]!.id, ...theirs.map((s) => s.id), mine[1]!.id, mine[0]!.id, mine[2]!.id]);
  const op = await app.prisma.operation.findUniqueOrThrow({ where: { id: operationId }, include: { items: { orderBy: { seq: "asc" } } } });
  t.match(op, { tenantId: a.id, action: "suspend", status: "queued", total: 3, reasonCode: "imei_mismatch", actorType: "system", actorId: "imei-policy" });
  t.same(op.items.map((i) => i.iccid), [mine[0]!.iccid, mine[1]!.iccid, mine[2]!.iccid]);
});

t.test("10,000 SIMs suspended in bulk through the API, progress visible while it runs", async (t) => {
  const app = await build(t, {}, { startJobs: true });
  const tenant = await createTenant(app.prisma);
  const client = await signedIn(app.client(), await createUser(app.prisma, { tenantId: tenant.id, role: "operator" }));
  await seedSims(app.prisma, { tenantId: tenant.id, count: 10_000, status: "active", rejectedEvery: 1000 });
  const started = performance.now();
  const res = await client.post("/v1/operations", { action: "suspend", filter: { status: "active" }, reasonCode: "bulk_test" });
  t.equal(res.status, 202);
  const { final, seen } = await waitForOperation(client, res.json.id, 60_000);
  const seconds = (performance.now() - started) / 1000;
  t.match(final, { status: "completed", total: 10_000, succeeded: 9_990, failed: 10, percent: 100 });
  t.equal(final.failures.length, 10);
  t.ok(seen.some((s) => s.status === "running" && s.percent > 0 && s.percent < 100), `progress seen while running: ${[...new Set(seen.map((s) => s.percent))].join(" ")}`);
  const [check] = await app.prisma.$queryRaw<Array<{ suspended: number; events: number }>>`
    SELECT (SELECT count(*)::int FROM connectivity.sims WHERE tenant_id = ${tenant.id}::uuid AND status = 'suspended') AS suspended,
      (SELECT count(*)::int FROM connectivity.sim_events WHERE operation_id = ${res.json.id}::uuid AND kind = 'state_changed') AS events`;
  t.same(check, { suspended: 9_990, events: 9_990 });
  t.comment(`10,000 SIMs in ${seconds.toFixed(1)} s (${Math.round(10_000 / seconds)} SIMs/s)`);
});
