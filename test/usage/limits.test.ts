import t from "tap";
import { usageLimitsJob } from "../../jobs/usage-limits.job.js";
import { resumeAfterPeriod } from "../../jobs/usage-period-reset.job.js";
import { build } from "../helpers/build.js";
import { createTenant, createWorld } from "../helpers/factories.js";
import { createSimUnique, keyClient } from "../devices/helpers.js";
import { addDaily, addHourly, check, isoDay, monthDay, putLimit, putPolicy, waitFor } from "./limits-helpers.js";

// A month of its own, far from the clock, for the tests that pass `now` (the check counts that month only).
const MARCH = new Date("2031-03-15T12:00:00Z");
const APRIL = new Date("2031-04-02T08:00:00Z");

t.test("SIM thresholds: 80 % and 100 % each alert once per period, with a webhook; the next month alerts again", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const quiet = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const operator = ctx.client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: w.tenantA.id, url: "https://hooks.example.com/usage", events: ["usage.threshold_crossed"], secretEncrypted: "unused-here" } });

  const set = await putLimit(operator, sim.iccid, { limitBytes: 1000 });
  t.equal(set.status, 200);
  t.match(set.json, { iccid: sim.iccid, limitBytes: 1000, suspendAtLimit: false, usedBytes: 0, percentUsed: 0, resumeOperationId: null });
  await putLimit(operator, quiet.iccid, { limitBytes: 1000 });
  const simView = (await operator.get(`/v1/sims/${sim.iccid}`)).json;
  t.match(simView, { dataLimitBytes: 1000, dataLimitSuspend: false }, "the SIM view shows the limit");

  await addDaily(ctx.prisma, sim, "2031-03-01", 300n, 500n); // 800: exactly 80 %
  await addDaily(ctx.prisma, sim, "2031-02-28", 5000n); // last month: not this period's
  await addDaily(ctx.prisma, quiet, "2031-03-02", 799n); // 79.9 %
  t.match(await check(ctx, MARCH, [w.tenantA.id]), { tenants: 1, alerts: 1, suspensions: 0 });
  const first = await ctx.prisma.alert.findMany({ where: { tenantId: w.tenantA.id } });
  t.equal(first.length, 1);
  t.match(first[0], { simId: sim.id, kind: "usage_threshold", severity: "warning", dedupeKey: `usage_threshold:${sim.id}:2031-03:80:1000` });
  t.match(first[0]!.data, { scope: "sim", iccid: sim.iccid, thresholdPercent: 80, limitBytes: 1000, usedBytes: 800, period: "2031-03" });
  t.match(first[0]!.message, new RegExp(`SIM ${sim.iccid} has used 80 % of its data limit for 2031-03`));

  const deliveries = await ctx.prisma.webhookDelivery.findMany({ where: { tenantId: w.tenantA.id } });
  t.equal(deliveries.length, 1, "one webhook delivery");
  t.equal(deliveries[0]!.eventType, "usage.threshold_crossed");
  t.match(deliveries[0]!.payload, {
    type: "usage.threshold_crossed",
    data: { alertId: first[0]!.id, scope: "sim", iccid: sim.iccid, thresholdPercent: 80, limitBytes: 1000, usedBytes: 800, period: "2031-03", periodStart: "2031-03-01T00:00:00.000Z", periodEnd: "2031-04-01T00:00:00.000Z", action: "none" },
  });

  t.match(await check(ctx, MARCH, [w.tenantA.id]), { alerts: 0 }, "re-running raises nothing new");
  await addDaily(ctx.prisma, sim, "2031-03-03", 250n);
  t.match(await check(ctx, MARCH), { alerts: 1, suspensions: 0 }, "the sweep (no ids) finds the tenant and the limit reached");
  const limit = await ctx.prisma.alert.findFirstOrThrow({ where: { tenantId: w.tenantA.id, kind: "data_limit" } });
  t.match(limit, { severity: "critical", dedupeKey: `data_limit:${sim.id}:2031-03:100:1000` });
  t.match(limit.data, { thresholdPercent: 100, usedBytes: 1050, action: "none" }, "no suspension asked: suspendAtLimit is off");
  t.equal(await ctx.prisma.operation.count({ where: { tenantId: w.tenantA.id } }), 0);
  t.match(await check(ctx, MARCH), { alerts: 0 });
  t.equal(await ctx.prisma.webhookDelivery.count({ where: { tenantId: w.tenantA.id } }), 2);

  // The next period starts from nothing: March's bytes do not count in April.
  t.match(await check(ctx, APRIL, [w.tenantA.id]), { alerts: 0 });
  await addDaily(ctx.prisma, sim, "2031-04-01", 900n);
  t.match(await check(ctx, APRIL, [w.tenantA.id]), { alerts: 1 });
  t.ok(await ctx.prisma.alert.findFirst({ where: { dedupeKey: `usage_threshold:${sim.id}:2031-04:80:1000` } }), "April's 80 % alert");

  // A new limit alerts afresh in the same period; a limit not crossed raises nothing; a removed one is not checked.
  await putLimit(operator, sim.iccid, { limitBytes: 1100 });
  t.match(await check(ctx, APRIL, [w.tenantA.id]), { alerts: 1 }, "900 of 1100: 81 %");
  await putLimit(operator, sim.iccid, { limitBytes: null });
  await addDaily(ctx.prisma, sim, "2031-04-02", 100_000n);
  t.match(await check(ctx, APRIL, [w.tenantA.id]), { alerts: 0 });
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).dataLimitBytes, null);
});

t.test("two checks at once raise each alert once and suspend once", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sims = await Promise.all([0, 1, 2].map(() => createSimUnique(ctx.prisma, { tenantId: w.tenantA.id })));
  for (const s of sims) {
    await ctx.prisma.sim.update({ where: { id: s.id }, data: { dataLimitBytes: 1000n, dataLimitSuspend: true } });
    await addDaily(ctx.prisma, s, "2031-03-10", 2000n);
  }
  const results = await Promise.all([0, 1, 2, 3].map(() => check(ctx, MARCH, [w.tenantA.id])));
  t.equal(results.reduce((n, r) => n + r.alerts, 0), 6, "80 % and 100 % of three SIMs, raised once in all");
  t.equal(results.reduce((n, r) => n + r.suspensions, 0), 3, "three suspensions in all");
  t.equal(await ctx.prisma.alert.count({ where: { tenantId: w.tenantA.id } }), 6);
  const items = await ctx.prisma.operationItem.findMany({ where: { tenantId: w.tenantA.id } });
  t.same(items.map((i) => i.simId).sort(), sims.map((s) => s.id).sort(), "each SIM in one suspend operation");
  const ops = await ctx.prisma.operation.findMany({ where: { tenantId: w.tenantA.id } });
  t.ok(ops.every((o) => o.action === "suspend" && o.reasonCode === "data_limit" && o.actorType === "system" && o.actorId === "usage-limits"));
  t.match(await check(ctx, MARCH, [w.tenantA.id]), { alerts: 0, suspensions: 0 });
});

t.test("at 100 % with suspendAtLimit the SIM is suspended (reason data_limit), and resumed in the next period", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const manual = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const owner = ctx.client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  const now = new Date();
  for (const s of [sim, manual]) {
    t.equal((await putLimit(owner, s.iccid, { limitBytes: "1000", suspendAtLimit: true })).status, 200);
    await addDaily(ctx.prisma, s, isoDay(now), 600n, 600n);
  }

  // The change itself queued a check for the tenant; this one runs beside it: still one suspension each.
  await check(ctx, now, [w.tenantA.id]);
  const read = (id: string) => () => ctx.prisma.sim.findUniqueOrThrow({ where: { id } });
  for (const s of [sim, manual]) {
    const suspended = await waitFor(read(s.id), (x) => x.status === "suspended" && x.pendingOperationId === null);
    t.match(suspended, { status: "suspended", statusReason: "data_limit" }, "suspended through the simulator connector");
  }
  const history = await ctx.prisma.simEvent.findMany({ where: { simId: sim.id, kind: "state_changed" } });
  t.match(history, [{ fromStatus: "active", toStatus: "suspended", reasonCode: "data_limit", actorType: "system", actorId: "usage-limits" }]);
  const alert = await ctx.prisma.alert.findFirstOrThrow({ where: { simId: sim.id, kind: "data_limit" } });
  t.match(alert.data, { action: "suspend" });
  t.match(alert.message, /being suspended until the next billing period/);
  const suspendItems = () => ctx.prisma.operationItem.findMany({ where: { tenantId: w.tenantA.id, operation: { action: "suspend" } } });
  t.same((await suspendItems()).map((i) => i.simId).sort(), [sim.id, manual.id].sort(), "each SIM asked once");

  // Resumed by hand within the period: the limit does not suspend it again this period.
  const resumed = await owner.post(`/v1/sims/${manual.iccid}/resume`, {});
  t.equal(resumed.status, 202, JSON.stringify(resumed.json));
  await waitFor(read(manual.id), (x) => x.status === "active" && x.pendingOperationId === null);
  await check(ctx, now, [w.tenantA.id]);
  t.equal((await suspendItems()).length, 2, "no new suspension");

  // The period reset: nothing to do this month; in the next month the SIM gets its data back.
  t.match(await resumeAfterPeriod({ prisma: ctx.prisma, jobs: ctx.runtime.jobs }, now), { sims: 0 });
  const next = monthDay(now, 1, 1);
  const reset = await resumeAfterPeriod({ prisma: ctx.prisma, jobs: ctx.runtime.jobs }, next);
  t.equal(reset.sims, 1, "the SIM suspended at its limit, not the one resumed by hand");
  t.match(await resumeAfterPeriod({ prisma: ctx.prisma, jobs: ctx.runtime.jobs }, next), { sims: 0 }, "an operation queued or running: not asked twice");
  const active = await waitFor(read(sim.id), (x) => x.status === "active" && x.pendingOperationId === null);
  t.match(active, { status: "active", statusReason: null });
  const resumeEvent = await ctx.prisma.simEvent.findFirstOrThrow({ where: { simId: sim.id, toStatus: "active" } });
  t.match(resumeEvent, { reasonCode: "period_reset", actorId: "usage-period-reset" });
  t.match(await resumeAfterPeriod({ prisma: ctx.prisma, jobs: ctx.runtime.jobs }, next), { sims: 0 }, "idempotent");
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: w.tenantA.id, action: "operation.created", actorId: "usage-period-reset" } }), 1);
});

t.test("lifting a limit resumes a SIM it suspended; a raise still under the usage does not", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const other = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const operator = ctx.client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);
  const now = new Date();
  const read = (id: string) => () => ctx.prisma.sim.findUniqueOrThrow({ where: { id } });

  await putLimit(operator, sim.iccid, { limitBytes: 1000, suspendAtLimit: true });
  await addDaily(ctx.prisma, sim, isoDay(now), 1500n);
  await check(ctx, now, [w.tenantA.id]);
  await waitFor(read(sim.id), (x) => x.status === "suspended" && x.pendingOperationId === null);

  const stillOver = await putLimit(operator, sim.iccid, { limitBytes: 1200, suspendAtLimit: true });
  t.match(stillOver.json, { limitBytes: 1200, usedBytes: 1500, percentUsed: 125, resumeOperationId: null }, "1500 of 1200: still held");
  const lifted = await putLimit(operator, sim.iccid, { limitBytes: 2000, suspendAtLimit: true });
  t.equal(lifted.status, 200);
  t.match(lifted.json, { limitBytes: 2000, usedBytes: 1500, percentUsed: 75 });
  t.ok(lifted.json.resumeOperationId, "a resume operation was asked");
  t.match(await waitFor(read(sim.id), (x) => x.status === "active" && x.pendingOperationId === null), { status: "active", statusReason: null });
  const resumeEvent = await ctx.prisma.simEvent.findFirstOrThrow({ where: { simId: sim.id, toStatus: "active" } });
  t.match(resumeEvent, { reasonCode: "data_limit_lifted", operationId: lifted.json.resumeOperationId, actorType: "user", actorId: w.usersA.operator.id });
  const audits = await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: "sim.data_limit_set" }, orderBy: { seq: "asc" } });
  t.equal(audits.length, 3);
  t.match(audits[2]!.data, { iccid: sim.iccid, before: { limitBytes: 1200, suspendAtLimit: true }, after: { limitBytes: 2000, suspendAtLimit: true }, resumeOperationId: lifted.json.resumeOperationId });

  // The new limit is a limit like the first: reached, it alerts and suspends again in the same period.
  await addDaily(ctx.prisma, sim, isoDay(now), 600n);
  await check(ctx, now, [w.tenantA.id]);
  t.match(await waitFor(read(sim.id), (x) => x.status === "suspended" && x.pendingOperationId === null), { status: "suspended", statusReason: "data_limit" });
  t.ok(await ctx.prisma.alert.findFirst({ where: { simId: sim.id, dedupeKey: { endsWith: ":100:2000" } } }));

  // Removing the limit resumes it too; a SIM suspended for another reason is not touched.
  const removed = await putLimit(operator, sim.iccid, { limitBytes: null });
  t.match(removed.json, { limitBytes: null, suspendAtLimit: false, percentUsed: null });
  t.ok(removed.json.resumeOperationId);
  await waitFor(read(sim.id), (x) => x.status === "active" && x.pendingOperationId === null);
  await ctx.prisma.sim.update({ where: { id: other.id }, data: { status: "suspended", statusReason: "customer_request" } });
  t.equal((await putLimit(operator, other.iccid, { limitBytes: null })).json.resumeOperationId, null);
});

t.test("the SIM data-limit API: validation, roles, isolation, terminated SIMs, byte counts past 2^53", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const foreign = await createSimUnique(ctx.prisma, { tenantId: w.tenantB.id });
  const terminated = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id, status: "terminated" });
  const as = async (u: { email: string; password: string }) => {
    const c = ctx.client();
    await c.login(u.email, u.password);
    return c;
  };
  const admin = await as(w.usersA.admin);

  for (const body of [{ limitBytes: 0 }, { limitBytes: -5 }, { limitBytes: 1.5 }, { limitBytes: "12a" }, { limitBytes: "0" }, {}, { limitBytes: 1, extra: true }, { limitBytes: 1, suspendAtLimit: "yes" }]) {
    const res = await putLimit(admin, sim.iccid, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.equal(res.json.code, "validation_failed");
  }
  const tooBig = await putLimit(admin, sim.iccid, { limitBytes: "9223372036854775808" });
  t.equal(tooBig.status, 400);
  t.match(tooBig.json.errors, [{ field: "/body/limitBytes", reason: /at most 9223372036854775807/ }]);

  const huge = await putLimit(admin, sim.iccid, { limitBytes: "9007199254740993", suspendAtLimit: true });
  t.equal(huge.status, 200);
  t.equal(huge.json.limitBytes, "9007199254740993", "past 2^53 - 1: a string");
  t.equal((await admin.get(`/v1/sims/${sim.iccid}`)).json.dataLimitBytes, "9007199254740993");
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).dataLimitBytes, 9007199254740993n);

  t.equal((await putLimit(await as(w.usersA.viewer), sim.iccid, { limitBytes: 5 })).status, 403);
  t.equal((await putLimit(await as(w.usersA.billing), sim.iccid, { limitBytes: 5 })).status, 403);
  const staff = await as(w.staff.owner);
  t.equal((await putLimit(staff, sim.iccid, { limitBytes: 5 })).status, 403, "staff see customer SIMs but do not change them");
  t.equal((await putLimit(admin, foreign.iccid, { limitBytes: 5 })).status, 404, "another tenant's SIM");
  t.equal((await putLimit(admin, "8949000000000000000", { limitBytes: 5 })).status, 404);
  const dead = await putLimit(admin, terminated.iccid, { limitBytes: 5 });
  t.equal(dead.status, 409);
  t.equal(dead.json.code, "sim_terminated");
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: foreign.id } })).dataLimitBytes, null, "B's SIM untouched");

  const key = await keyClient(ctx, w.tenantA.id, ["sims:write"]);
  t.match((await putLimit(key, sim.iccid, { limitBytes: 10, suspendAtLimit: false })).json, { limitBytes: 10, suspendAtLimit: false });
  const readOnly = await keyClient(ctx, w.tenantA.id, ["sims:read", "usage:read"]);
  t.equal((await putLimit(readOnly, sim.iccid, { limitBytes: 10 })).status, 403);
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: w.tenantA.id, action: "sim.data_limit_set" } }), 2);
});

t.test("the tenant policy: defaults, validation, pooled usage and its alerts, staff and isolation", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const as = async (u: { email: string; password: string }) => {
    const c = ctx.client();
    await c.login(u.email, u.password);
    return c;
  };
  const operator = await as(w.usersA.operator);
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: w.tenantA.id, url: "https://hooks.example.com/usage", events: ["usage.threshold_crossed"], secretEncrypted: "unused-here" } });
  const now = new Date();

  const defaults = await operator.get("/v1/usage/limits");
  t.equal(defaults.status, 200);
  t.match(defaults.json, { tenantId: w.tenantA.id, simThresholds: [80, 100], pooledLimitBytes: null, pooledThresholds: [80, 100], updatedAt: null, usedBytes: 0, percentOfPooledLimit: null });
  t.equal(defaults.json.period.month, now.toISOString().slice(0, 7));

  const refusals: Array<[unknown, string]> = [
    [{ pooledLimitBytes: null, simThresholds: [50, 80] }, "/body/simThresholds"],
    [{ pooledLimitBytes: null, pooledThresholds: [90] }, "/body/pooledThresholds"],
    [{ pooledLimitBytes: null, simThresholds: [80, 80, 100] }, "/body/simThresholds"],
    [{ pooledLimitBytes: null, simThresholds: [10, 20, 30, 40, 50, 100] }, "/body/simThresholds"],
    [{ pooledLimitBytes: null, simThresholds: [0, 100] }, "/body/simThresholds/0"],
    [{ pooledLimitBytes: null, simThresholds: [] }, "/body/simThresholds"],
    [{ pooledLimitBytes: "99999999999999999999" }, "/body/pooledLimitBytes"],
    [{ simThresholds: [100] }, "/body/pooledLimitBytes"],
  ];
  for (const [body, field] of refusals) {
    const res = await putPolicy(operator, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.ok(res.json.errors.some((e: { field: string }) => e.field.startsWith(field)), `${JSON.stringify(body)} names ${field}: ${JSON.stringify(res.json.errors)}`);
  }

  const set = await putPolicy(operator, { simThresholds: [100, 50], pooledLimitBytes: 10_000, pooledThresholds: [100, 25, 75] });
  t.equal(set.status, 200);
  t.match(set.json, { simThresholds: [50, 100], pooledLimitBytes: 10_000, pooledThresholds: [25, 75, 100], usedBytes: 0, percentOfPooledLimit: 0 });
  t.ok(set.json.updatedAt);
  const audit = await ctx.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "usage.limits_set" } });
  t.match(audit.data, { before: { simThresholds: [80, 100], pooledLimitBytes: null }, after: { simThresholds: [50, 100], pooledLimitBytes: 10000, pooledThresholds: [25, 75, 100] } });

  // The pooled usage is every SIM's, this period, on every network.
  await addHourly(ctx.prisma, w.tenantA.id, monthDay(now, 0, 1), 3000n, 1000n, "262-01");
  await addHourly(ctx.prisma, w.tenantA.id, new Date(monthDay(now, 0, 1).getTime() + 3600_000), 1000n, 1000n, "");
  await addHourly(ctx.prisma, w.tenantA.id, monthDay(now, -1, 20), 50_000n); // last month
  const read = await (await as(w.usersA.billing)).get("/v1/usage/limits");
  t.match(read.json, { usedBytes: 6000, percentOfPooledLimit: 60 }, "billing contacts read it too");
  t.match(await check(ctx, now, [w.tenantA.id]), { alerts: 1, suspensions: 0 });
  const pool = await ctx.prisma.alert.findFirstOrThrow({ where: { tenantId: w.tenantA.id } });
  t.match(pool, { simId: null, kind: "usage_threshold", severity: "warning", dedupeKey: `usage_threshold:pool:${now.toISOString().slice(0, 7)}:25:10000` });
  t.match(pool.data, { scope: "pool", iccid: null, thresholdPercent: 25, limitBytes: 10000, usedBytes: 6000 });
  const delivery = await ctx.prisma.webhookDelivery.findFirstOrThrow({ where: { tenantId: w.tenantA.id } });
  t.match(delivery.payload, { type: "usage.threshold_crossed", data: { scope: "pool", iccid: null, thresholdPercent: 25, usedBytes: 6000, limitBytes: 10000 } });
  t.equal((await operator.get(`/v1/alerts/${pool.id}`)).json.iccid, null);

  await addHourly(ctx.prisma, w.tenantA.id, monthDay(now, 0, 1), 4000n);
  t.match(await check(ctx, now), { alerts: 2 }, "75 % and 100 % at once");
  t.equal(await ctx.prisma.alert.count({ where: { tenantId: w.tenantA.id, kind: "data_limit", simId: null, severity: "critical" } }), 1);
  t.match(await check(ctx, now), { alerts: 0 });
  t.equal(await ctx.prisma.webhookDelivery.count({ where: { tenantId: w.tenantA.id } }), 3);

  // Staff read any tenant's policy and change only their own; customers never see another tenant's.
  const staff = await as(w.staff.owner);
  t.match((await staff.get(`/v1/usage/limits?tenantId=${w.tenantA.id}`)).json, { tenantId: w.tenantA.id, pooledLimitBytes: 10_000 });
  t.equal((await putPolicy(staff, { pooledLimitBytes: 1 }, w.tenantA.id)).status, 403);
  t.match((await putPolicy(staff, { pooledLimitBytes: 1 })).json, { tenantId: w.platform.id, pooledLimitBytes: 1 });
  t.equal((await staff.get(`/v1/usage/limits?tenantId=00000000-0000-7000-8000-000000000000`)).status, 404);
  const bOwner = await as(w.usersB.owner);
  t.equal((await bOwner.get(`/v1/usage/limits?tenantId=${w.tenantA.id}`)).status, 404);
  t.equal((await putPolicy(bOwner, { pooledLimitBytes: 1 }, w.tenantA.id)).status, 404);
  t.equal((await putPolicy(await as(w.usersA.viewer), { pooledLimitBytes: 1 })).status, 403);
  t.equal((await putPolicy(await as(w.usersA.billing), { pooledLimitBytes: 1 })).status, 403);
  t.equal((await ctx.prisma.usageLimit.findUniqueOrThrow({ where: { tenantId: w.tenantA.id } })).pooledLimitBytes, 10_000n, "A's policy unchanged");

  // SIM thresholds from the policy apply to every SIM's own limit.
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  await putLimit(operator, sim.iccid, { limitBytes: 1000 });
  await addDaily(ctx.prisma, sim, isoDay(now), 600n);
  await check(ctx, now, [w.tenantA.id]);
  t.ok(await ctx.prisma.alert.findFirst({ where: { simId: sim.id, dedupeKey: { contains: ":50:1000" } } }), "50 %, as the policy says");
});

t.test("the usage.limits job: a tenant's triggered checks at most every 30 s, the asks between folded into one later job", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  await ctx.prisma.sim.update({ where: { id: sim.id }, data: { dataLimitBytes: 100n } });
  await addDaily(ctx.prisma, sim, isoDay(new Date()), 100n);
  const enqueued: Array<{ name: string; data: unknown; opts: unknown }> = [];
  const jobs = { ...ctx.runtime.jobs, enqueue: async (name: string, data: unknown, opts: unknown) => void enqueued.push({ name, data, opts }) } as typeof ctx.runtime.jobs;
  const job = usageLimitsJob({ prisma: ctx.prisma, jobs: () => jobs });
  const jobContext = { progress: async () => undefined, attempt: 1, log: () => undefined };

  t.match(await job({ tenantIds: [w.tenantA.id] }, jobContext), { tenants: 1, alerts: 2 });
  t.match(await job({ tenantIds: [w.tenantA.id, w.tenantB.id] }, jobContext), { tenants: 1 }, "B is due, A was just checked");
  t.match(await job({ tenantIds: [w.tenantA.id] }, jobContext), { tenants: 0, deferred: 1 });
  const later = enqueued.filter((e) => e.name === "usage.limits");
  t.equal(later.length, 2);
  t.same(later[0]!.data, { tenantIds: [w.tenantA.id] });
  t.equal((later[0]!.opts as { jobId: string }).jobId, (later[1]!.opts as { jobId: string }).jobId, "the same job id: one job");
  const delay = (later[0]!.opts as { delayMs: number }).delayMs;
  t.ok(delay > 25_000 && delay <= 30_000, `due when the 30 s are up (${delay} ms)`);
  t.match(await job({}, jobContext), { tenants: 1, alerts: 0 }, "the sweep is never held back");
});

t.test("the period reset: only data-limit suspensions of an earlier period, each asked once even by two runs at once", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const now = new Date();
  const lastMonth = monthDay(now, -1, 20);
  const mk = async (statusReason: string, statusChangedAt: Date, status: "suspended" | "active" = "suspended") => {
    const s = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
    return ctx.prisma.sim.update({ where: { id: s.id }, data: { status, statusReason, statusChangedAt } });
  };
  const due = await mk("data_limit", lastMonth);
  await mk("data_limit", now); // suspended this period: held until the next
  await mk("customer_request", lastMonth); // someone else's suspension
  const closedTenant = await createTenant(ctx.prisma, { status: "suspended" });
  const s = await createSimUnique(ctx.prisma, { tenantId: closedTenant.id });
  await ctx.prisma.sim.update({ where: { id: s.id }, data: { status: "suspended", statusReason: "data_limit", statusChangedAt: lastMonth } });

  const deps = { prisma: ctx.prisma, jobs: ctx.runtime.jobs };
  const runs = await Promise.all([resumeAfterPeriod(deps, now), resumeAfterPeriod(deps, now), resumeAfterPeriod(deps, now)]);
  t.same(runs.map((r) => r.sims).sort(), [0, 0, 1], "one run asks, the others find it asked");
  const items = await ctx.prisma.operationItem.findMany({ where: { operation: { reasonCode: "period_reset" } } });
  t.same(items.map((i) => i.simId), [due.id]);
  t.match(await ctx.prisma.operation.findFirstOrThrow({ where: { reasonCode: "period_reset" } }), { action: "resume", actorType: "system", actorId: "usage-period-reset", total: 1 });
});
