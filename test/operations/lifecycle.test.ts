import t from "tap";
import { makeIccid } from "../../src/platform/identifiers.js";
import { build } from "../helpers/build.js";
import { createTenant, createUser } from "../helpers/factories.js";
import { createSim, signedIn, waitForOperation } from "./helpers.js";

/**
 * Single-SIM lifecycle requests: 202 with an operation that completes asynchronously through the network
 * (the simulator), the SIM's history, and the refusals (illegal transition, operation in flight, roles,
 * other tenants, invalid ICCIDs). Real PostgreSQL, Redis and BullMQ workers.
 */
t.test("activate, suspend, resume, terminate: each completes asynchronously and lands in the history", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const tenant = await createTenant(ctx.prisma);
  const operator = await createUser(ctx.prisma, { tenantId: tenant.id, role: "operator" });
  const sim = await createSim(ctx.prisma, { tenantId: tenant.id, status: "ready" });
  const client = await signedIn(ctx.client(), operator);

  const steps = [
    { action: "activate", body: undefined, to: "active", reason: "customer_request", billing: "billable", statusReason: null },
    { action: "suspend", body: { reasonCode: "fraud_suspected" }, to: "suspended", reason: "fraud_suspected", billing: "reduced", statusReason: "fraud_suspected" },
    { action: "resume", body: {}, to: "active", reason: "customer_request", billing: "billable", statusReason: null },
    { action: "terminate", body: { reasonCode: "contract_ended" }, to: "terminated", reason: "contract_ended", billing: "none", statusReason: "contract_ended" },
  ] as const;
  const operationIds: string[] = [];
  for (const step of steps) {
    const res = await client.post(`/v1/sims/${sim.iccid}/${step.action}`, step.body);
    t.equal(res.status, 202, `${step.action}: 202`);
    t.equal(res.headers.location, `/v1/operations/${res.json.id}`, "Location names the operation");
    t.match(res.json, { action: step.action, status: "queued", total: 1, pending: 1, reasonCode: step.reason, selection: { kind: "sim", iccid: sim.iccid }, actor: { type: "user", id: operator.id } });
    const { final } = await waitForOperation(client, res.json.id);
    t.match(final, { status: "completed", total: 1, succeeded: 1, failed: 0, pending: 0, percent: 100, failures: [] }, `${step.action} completed`);
    t.ok(final.startedAt && final.completedAt, "started and completed times");
    const row = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
    t.equal(row.status, step.to, `the SIM is ${step.to}`);
    t.equal(row.statusReason, step.statusReason, "status reason");
    t.equal(row.pendingOperationId, null, "no operation in flight any more");
    operationIds.push(res.json.id);
  }
  const row = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
  t.ok(row.activatedAt && row.terminatedAt, "activation and termination times set");

  // The history, as the SIM API shows it (newest first): actor, reason code, billing effect, operation.
  const events = await client.get(`/v1/sims/${sim.iccid}/events?kind=state_changed`);
  t.equal(events.status, 200);
  const history = [...events.json.items].reverse();
  t.same(
    history.map((e: any) => [e.fromStatus, e.toStatus, e.reasonCode, e.billingEffect, e.actor.type, e.actor.id, e.operationId]),
    steps.map((s, i) => [i === 0 ? "ready" : steps[i - 1]!.to, s.to, s.reason, s.billing, "user", operator.id, operationIds[i]]),
  );

  // Each request is audited; the engine's completion too.
  const audit = await ctx.prisma.auditEvent.findMany({ where: { tenantId: tenant.id }, orderBy: { seq: "asc" }, select: { action: true, targetId: true, actorId: true } });
  t.same(
    audit.filter((a) => a.action.startsWith("sim.")).map((a) => [a.action, a.targetId, a.actorId]),
    steps.map((s) => [`sim.${s.action}_requested`, sim.iccid, operator.id]),
  );
  t.equal(audit.filter((a) => a.action === "operation.completed" && a.actorId === "operations.run").length, 4, "one operation.completed per operation");
});

t.test("an illegal transition is 409 naming the allowed actions, and nothing changes", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const admin = await createUser(ctx.prisma, { tenantId: tenant.id, role: "admin" });
  const client = await signedIn(ctx.client(), admin);
  const cases = [
    { status: "ready", action: "suspend", allowed: ["activate"] },
    { status: "active", action: "resume", allowed: ["suspend", "terminate"] },
    { status: "suspended", action: "suspend", allowed: ["resume", "terminate"] },
    { status: "terminated", action: "resume", allowed: [] },
    { status: "inventory", action: "activate", allowed: [] },
  ] as const;
  for (const c of cases) {
    const sim = await createSim(ctx.prisma, { tenantId: tenant.id, status: c.status });
    const res = await client.post(`/v1/sims/${sim.iccid}/${c.action}`);
    t.equal(res.status, 409, `${c.action} on ${c.status}`);
    t.match(res.json, { code: "illegal_transition", status: 409, simStatus: c.status, action: c.action });
    t.same(res.json.allowed, c.allowed, "allowed actions");
    t.match(res.json.detail, /allowed: /);
  }
  t.equal(await ctx.prisma.operation.count(), 0, "no operation");
  t.equal(await ctx.prisma.simEvent.count(), 0, "no history row");
  t.equal(await ctx.prisma.sim.count({ where: { tenantId: tenant.id, pendingOperationId: { not: null } } }), 0, "no SIM marked");
});

t.test("a second request while one is in flight is 409 operation_pending", async (t) => {
  // Without workers the first operation stays queued: the SIM carries it until it runs.
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const owner = await createUser(ctx.prisma, { tenantId: tenant.id, role: "owner" });
  const sim = await createSim(ctx.prisma, { tenantId: tenant.id, status: "active" });
  const client = await signedIn(ctx.client(), owner);
  const first = await client.post(`/v1/sims/${sim.iccid}/suspend`);
  t.equal(first.status, 202);
  const second = await client.post(`/v1/sims/${sim.iccid}/terminate`);
  t.equal(second.status, 409);
  t.match(second.json, { code: "operation_pending", operationId: first.json.id });
  t.equal(await ctx.prisma.operation.count(), 1, "one operation");
  const row = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
  t.match(row, { status: "active", pendingOperationId: first.json.id, pendingAction: "suspend" }, "the SIM shows the operation in flight");
});

t.test("the network's refusal: the operation completes with the SIM failed network_rejected", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const tenant = await createTenant(ctx.prisma);
  const operator = await createUser(ctx.prisma, { tenantId: tenant.id, role: "operator" });
  // The simulator refuses IMSIs ending in 9999.
  const sim = await createSim(ctx.prisma, { tenantId: tenant.id, status: "active", refusedByNetwork: true });
  const client = await signedIn(ctx.client(), operator);
  const res = await client.post(`/v1/sims/${sim.iccid}/suspend`);
  t.equal(res.status, 202);
  const { final } = await waitForOperation(client, res.json.id);
  t.match(final, { status: "completed", succeeded: 0, failed: 1, failures: [{ iccid: sim.iccid, reason: "network_rejected" }] });
  const row = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
  t.match(row, { status: "active", pendingOperationId: null, statusReason: null }, "the SIM keeps its state and is free again");
  t.equal(await ctx.prisma.simEvent.count({ where: { simId: sim.id } }), 0, "no history row for a change that did not happen");
  const items = await client.get(`/v1/operations/${res.json.id}/items`);
  t.match(items.json.items, [{ seq: 1, iccid: sim.iccid, state: "failed", reason: "network_rejected", fromStatus: "active", toStatus: null }]);
});

t.test("roles, other tenants and invalid ICCIDs are refused before anything is written", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const other = await createTenant(ctx.prisma);
  const sim = await createSim(ctx.prisma, { tenantId: tenant.id, status: "active" });
  const otherSim = await createSim(ctx.prisma, { tenantId: other.id, status: "active" });
  for (const role of ["billing", "viewer"] as const) {
    const client = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: tenant.id, role }));
    const res = await client.post(`/v1/sims/${sim.iccid}/suspend`);
    t.equal(res.status, 403, `${role}: 403`);
  }
  const operator = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: tenant.id, role: "operator" }));
  const cross = await operator.post(`/v1/sims/${otherSim.iccid}/suspend`);
  t.equal(cross.status, 404, "another tenant's SIM is 404");
  const unknown = await operator.post(`/v1/sims/${makeIccid("894977999999999999")}/suspend`);
  t.equal(unknown.status, 404, "an ICCID that is no SIM is 404");

  const badLuhn = `${sim.iccid.slice(0, -1)}${(Number(sim.iccid.at(-1)) + 1) % 10}`;
  const invalid = await operator.post(`/v1/sims/${badLuhn}/suspend`);
  t.equal(invalid.status, 400);
  t.match(invalid.json, { code: "validation_failed", errors: [{ field: "/params/iccid", reason: /Luhn/ }] });
  const short = await operator.post(`/v1/sims/894901/suspend`);
  t.equal(short.status, 400);
  t.match(short.json.errors, [{ field: "/params/iccid" }]);
  const badReason = await operator.post(`/v1/sims/${sim.iccid}/suspend`, { reasonCode: "Not Snake" });
  t.equal(badReason.status, 400);
  t.match(badReason.json.errors, [{ field: "/body/reasonCode" }]);
  const extra = await operator.post(`/v1/sims/${sim.iccid}/suspend`, { reasonCode: "x", force: true });
  t.equal(extra.status, 400);

  t.equal(await ctx.prisma.operation.count(), 0, "no operation written");
  t.match(await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } }), { status: "active", pendingOperationId: null });
  t.match(await ctx.prisma.sim.findUniqueOrThrow({ where: { id: otherSim.id } }), { status: "active", pendingOperationId: null });
});
