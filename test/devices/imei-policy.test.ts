import t, { type Test } from "tap";
import { build } from "../helpers/build.js";
import { createWorld } from "../helpers/factories.js";
import { attach, badLuhn, createSimUnique, feed, imeiEvents, imeiOf, imeisvOf, minutesAgo, networkFeed, put } from "./helpers.js";

t.test("a policy is set and read; invalid IMEIs, IMEISVs and TACs are refused naming the field and the reason", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const owner = ctx.client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  const imei = imeiOf();

  const refusals: Array<[unknown, Array<{ field: string; reason: RegExp }>]> = [
    [{ mode: "lock", imei: badLuhn(imei) }, [{ field: "/body/imei", reason: /check digit \(Luhn\) is wrong/ }]],
    [{ mode: "lock", imei: imei.slice(0, 14) }, [{ field: "/body/imei", reason: /must be 15 digits \(or a 16-digit IMEISV\), got 14/ }]],
    [{ mode: "lock", imei: "35345678901234x" }, [{ field: "/body/imei", reason: /digits only/ }]],
    [{ mode: "lock" }, [{ field: "/body/imei", reason: /is required when mode is lock/ }]],
    [{ mode: "none", imei }, [{ field: "/body/imei", reason: /only accepted with mode lock/ }]],
    [{ mode: "allow-list", allowList: [] }, [{ field: "/body/allowList", reason: /at least one/ }]],
    [
      { mode: "allow-list", allowList: ["3534567", imei, badLuhn(imei), "1234567890123456789"] },
      [
        { field: "/body/allowList/0", reason: /8-digit TAC or an IMEI: IMEI must be 15 digits/ },
        { field: "/body/allowList/2", reason: /Luhn/ },
        { field: "/body/allowList/3", reason: /got 19/ },
      ],
    ],
    [{ mode: "lock", imei, allowList: [imei] }, [{ field: "/body/allowList", reason: /only accepted with mode allow-list/ }]],
  ];
  for (const [body, expected] of refusals) {
    const res = await put(owner, sim.iccid, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.equal(res.json.code, "validation_failed");
    t.match(res.json.errors, expected);
    t.equal(res.json.errors.length, expected.length, "every problem, and only those");
  }
  const schemaRefusal = await put(owner, sim.iccid, { mode: "lock-on-sight" });
  t.equal(schemaRefusal.status, 400);
  t.equal(schemaRefusal.json.errors[0].field, "/body/mode");
  t.equal(await ctx.prisma.simEvent.count({ where: { simId: sim.id } }), 0, "refusals change nothing");
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).imeiLockMode, "none");

  // A 16-digit IMEISV is normalised to its IMEI (14 digits + the Luhn check digit).
  const set = await put(owner, sim.iccid, { mode: "lock", imei: imeisvOf(imei), onMismatch: "suspend" });
  t.equal(set.status, 200);
  t.match(set.json, { iccid: sim.iccid, mode: "lock", boundImei: imei, allowList: [], onMismatch: "suspend", repairUntil: null, lastSeenImei: null });
  t.same((await owner.get(`/v1/sims/${sim.iccid}/imei-policy`)).json, set.json, "read back as set");

  // Modes are spelled with dashes in the API, with underscores in the database; TACs and IMEIs in a list.
  const list = await put(owner, sim.iccid, { mode: "allow-list", allowList: ["35345678", imei, imeisvOf(imei), " 35345678 "] });
  t.equal(list.status, 200);
  t.same(list.json.allowList, ["35345678", imei], "normalised, duplicates once");
  t.equal(list.json.onMismatch, "alert", "onMismatch defaults to alert");
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).imeiLockMode, "allow_list");
  const firstSeen = await put(owner, sim.iccid, { mode: "lock-first-seen" });
  t.match(firstSeen.json, { mode: "lock-first-seen", boundImei: null, allowList: [] });
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).imeiLockMode, "lock_first_seen");

  // Each change is in the SIM's history (before and after) and in the audit log.
  const history = await ctx.prisma.simEvent.findMany({ where: { simId: sim.id }, orderBy: { at: "asc" } });
  t.same(history.map((e) => e.kind), ["imei_policy_changed", "imei_policy_changed", "imei_policy_changed"]);
  t.match(history[0]!.data, { before: { mode: "none", boundImei: null }, after: { mode: "lock", boundImei: imei, onMismatch: "suspend" } });
  t.match(history[0], { actorType: "user", actorId: w.usersA.owner.id });
  const audits = await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: "sim.imei_policy_changed" } });
  t.equal(audits.length, 3);
  t.match(audits[0]!.data, { iccid: sim.iccid, after: { mode: "lock" } });
});

t.test("lock-first-seen binds the next IMEI seen; another device then is a mismatch", async (t) => {
  const { ctx, w, sim, owner, operator } = await policyScene(t);
  const [first, second] = [imeiOf(), imeiOf()];

  // Seen before the policy: the policy binds the next sighting, not this one.
  t.equal((await feed(operator, [attach(sim.iccid, first, minutesAgo(30))])).json.accepted, 1);
  t.equal((await put(owner, sim.iccid, { mode: "lock-first-seen" })).json.boundImei, null);
  // The same device again: it is the next one seen, so it is bound.
  await feed(operator, [attach(sim.iccid, first, minutesAgo(20), { type: "location_update" })]);
  const bound = (await owner.get(`/v1/sims/${sim.iccid}/imei-policy`)).json;
  t.match(bound, { mode: "lock-first-seen", boundImei: first, lastSeenImei: first });
  await feed(operator, [attach(sim.iccid, second, minutesAgo(10))]);

  const events = await imeiEvents(ctx.prisma, sim.id);
  t.same(events.map((e) => [e.kind, e.imei, e.previousImei, e.actionTaken]), [
    ["first_seen", first, null, null],
    ["bound", first, first, null],
    ["mismatch", second, first, "alert"],
  ]);
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).boundImei, first, "the binding holds");
  const history = await ctx.prisma.simEvent.findMany({ where: { simId: sim.id, reasonCode: "imei_bound" } });
  t.equal(history.length, 1, "the binding is in the SIM's history");
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: w.tenantA.id, action: "sim.imei_bound", actorId: "imei-policy" } }), 1);
});

t.test("allow-list: a listed TAC or IMEI passes, any other device is a mismatch", async (t) => {
  const { ctx, w, sim, owner, operator } = await policyScene(t);
  const listedImei = imeiOf("86000001");
  t.equal((await put(owner, sim.iccid, { mode: "allow-list", allowList: ["35345678", listedImei] })).status, 200);

  const [sameModel, otherModelListed, stranger] = [imeiOf("35345678"), listedImei, imeiOf("49015420")];
  const res = await feed(operator, [attach(sim.iccid, sameModel, minutesAgo(30)), attach(sim.iccid, otherModelListed, minutesAgo(20)), attach(sim.iccid, stranger, minutesAgo(10))]);
  t.match(res.json, { accepted: 3, duplicates: 0, rejected: 0, errors: [] });
  const events = await imeiEvents(ctx.prisma, sim.id);
  t.same(events.map((e) => e.kind), ["first_seen", "changed", "mismatch"]);
  const alert = await ctx.prisma.alert.findFirstOrThrow({ where: { simId: sim.id } });
  t.match(alert, { kind: "imei_mismatch", severity: "warning", dedupeKey: `imei_mismatch:${sim.id}:${stranger}` });
  t.match(alert.data, { observedImei: stranger, expectedImei: null, allowList: { imeis: 1, tacs: 1 }, action: "alert" });
});

t.test("a repair window accepts one new IMEI, then closes", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const operator = ctx.client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);
  const feedClient = await networkFeed(ctx, w.platform.id);
  const [old, replacement, third] = [imeiOf(), imeiOf(), imeiOf()];

  t.equal((await operator.post(`/v1/sims/${sim.iccid}/imei-policy/repair`, {})).json.code, "imei_repair_not_applicable", "mode none has nothing to repair");
  await put(operator, sim.iccid, { mode: "lock", imei: old, onMismatch: "alert" });
  t.equal((await operator.post(`/v1/sims/${sim.iccid}/imei-policy/repair`, { minutes: 0 })).status, 400);
  t.equal((await operator.post(`/v1/sims/${sim.iccid}/imei-policy/repair`, { minutes: 10081 })).status, 400);

  const opened = await operator.post(`/v1/sims/${sim.iccid}/imei-policy/repair`, { minutes: 30 });
  t.equal(opened.status, 200);
  const until = new Date(opened.json.repairUntil).getTime();
  t.ok(Math.abs(until - (Date.now() + 30 * 60_000)) < 10_000, "open for 30 minutes");
  const defaulted = await operator.post(`/v1/sims/${sim.iccid}/imei-policy/repair`);
  t.equal(defaulted.status, 200, "the body is optional");
  t.ok(Math.abs(new Date(defaulted.json.repairUntil).getTime() - (Date.now() + 1440 * 60_000)) < 10_000, "a day by default");

  // The bound device is not "new": the window stays open for the replacement.
  await feed(feedClient, [attach(sim.iccid, old, minutesAgo(3))]);
  t.ok((await operator.get(`/v1/sims/${sim.iccid}/imei-policy`)).json.repairUntil, "still open");
  await feed(feedClient, [attach(sim.iccid, replacement, minutesAgo(2))]);
  const after = (await operator.get(`/v1/sims/${sim.iccid}/imei-policy`)).json;
  t.match(after, { boundImei: replacement, repairUntil: null, lastSeenImei: replacement }, "the new device is bound and the window closed");
  await feed(feedClient, [attach(sim.iccid, third, minutesAgo(1))]);

  const events = await imeiEvents(ctx.prisma, sim.id);
  t.same(events.map((e) => [e.kind, e.imei, e.previousImei]), [
    ["first_seen", old, null],
    ["repaired", replacement, old],
    ["mismatch", third, replacement],
  ]);
  const audited = await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: { in: ["sim.imei_repair_window_opened", "sim.imei_repaired"] } }, orderBy: { seq: "asc" } });
  t.same(audited.map((a) => a.action), ["sim.imei_repair_window_opened", "sim.imei_repair_window_opened", "sim.imei_repaired"]);
});

t.test("an alert-only policy records, alerts once per device and sends the webhook, but does not suspend", async (t) => {
  const { ctx, w, sim, owner, operator } = await policyScene(t);
  // An endpoint subscribed to imei.mismatch (written directly: the outbox row is what this test looks at).
  await ctx.prisma.webhookEndpoint.create({ data: { tenantId: w.tenantA.id, url: "https://hooks.example.com/conekt", events: ["imei.mismatch"], secretEncrypted: "unused-here" } });
  const [good, wrong] = [imeiOf(), imeiOf()];
  await put(owner, sim.iccid, { mode: "lock", imei: good, onMismatch: "alert" });

  // The wrong device, then back to the right one, then the wrong one again: two mismatches, one alert.
  await feed(operator, [attach(sim.iccid, wrong, minutesAgo(40)), attach(sim.iccid, wrong, minutesAgo(39)), attach(sim.iccid, good, minutesAgo(30))]);
  await feed(operator, [attach(sim.iccid, wrong, minutesAgo(20)), attach(sim.iccid, wrong, minutesAgo(19), { type: "detach" })]);

  const reread = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
  t.equal(reread.status, "active", "not suspended");
  t.equal(reread.lastSeenImei, wrong);
  t.equal(await ctx.prisma.operation.count({ where: { tenantId: w.tenantA.id } }), 0, "no operation");
  const mismatches = (await imeiEvents(ctx.prisma, sim.id)).filter((e) => e.kind === "mismatch");
  t.same(mismatches.map((e) => e.actionTaken), ["alert", "alert"], "each time the wrong device appears, not every record");
  t.equal(await ctx.prisma.alert.count({ where: { simId: sim.id } }), 1, "one alert for the SIM and device");
  const deliveries = await ctx.prisma.webhookDelivery.findMany({ where: { tenantId: w.tenantA.id }, orderBy: { createdAt: "asc" } });
  t.equal(deliveries.length, 2);
  t.match(deliveries[0]!.payload, { type: "imei.mismatch", data: { iccid: sim.iccid, mode: "lock", expectedImei: good, observedImei: wrong, network: "262-01", action: "alert", source: "network_event" } });

  // Acknowledged, then the device comes back: the same alert opens again.
  const alert = await ctx.prisma.alert.findFirstOrThrow({ where: { simId: sim.id } });
  await ctx.prisma.alert.update({ where: { id: alert.id }, data: { acknowledgedAt: new Date() } });
  await feed(operator, [attach(sim.iccid, good, minutesAgo(5)), attach(sim.iccid, wrong, minutesAgo(4))]);
  t.equal((await ctx.prisma.alert.findUniqueOrThrow({ where: { id: alert.id } })).acknowledgedAt, null, "reopened");
  t.equal(await ctx.prisma.alert.count({ where: { simId: sim.id } }), 1);
});

t.test("a suspend policy asks for a suspension with reason imei_mismatch, once", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const suspended = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id, status: "suspended" });
  const owner = ctx.client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  const operator = await networkFeed(ctx, w.platform.id);
  const good = imeiOf();
  for (const s of [sim, suspended]) await put(owner, s.iccid, { mode: "lock", imei: good, onMismatch: "suspend" });

  await feed(operator, [attach(sim.iccid, imeiOf(), minutesAgo(3)), attach(sim.iccid, imeiOf(), minutesAgo(2)), attach(suspended.iccid, imeiOf(), minutesAgo(2))]);
  const operations = await ctx.prisma.operation.findMany({ where: { tenantId: w.tenantA.id } });
  t.equal(operations.length, 1, "one operation");
  t.match(operations[0], { action: "suspend", reasonCode: "imei_mismatch", actorType: "system", actorId: "imei-policy", total: 1 });
  const items = await ctx.prisma.operationItem.findMany({ where: { operationId: operations[0]!.id } });
  t.same(items.map((i) => i.simId), [sim.id], "only the active SIM");
  t.same((await imeiEvents(ctx.prisma, sim.id)).map((e) => e.actionTaken), ["suspend", "alert"], "the second mismatch finds the suspension under way");
  t.same((await imeiEvents(ctx.prisma, suspended.id)).map((e) => e.actionTaken), ["alert"], "a suspended SIM is not suspended again");
  t.equal((await ctx.prisma.alert.findFirstOrThrow({ where: { simId: sim.id } })).severity, "critical");
});

t.test("a new policy is checked at once against the device the SIM is in", async (t) => {
  const { ctx, w, sim, owner, operator } = await policyScene(t);
  const [current, other] = [imeiOf(), imeiOf()];
  await feed(operator, [attach(sim.iccid, current, minutesAgo(5))]);

  t.equal((await put(owner, sim.iccid, { mode: "lock", imei: current, onMismatch: "suspend" })).status, 200);
  t.equal(await ctx.prisma.alert.count({ where: { simId: sim.id } }), 0, "the current device matches");
  t.equal((await put(owner, sim.iccid, { mode: "lock", imei: other, onMismatch: "alert" })).status, 200);
  const events = await imeiEvents(ctx.prisma, sim.id);
  t.match(events.at(-1), { kind: "mismatch", imei: current, source: "api", actionTaken: "alert" });
  t.equal(await ctx.prisma.alert.count({ where: { simId: sim.id } }), 1);
});

t.test("who may read and change a policy; other tenants' SIMs are not found", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const simA = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const simB = await createSimUnique(ctx.prisma, { tenantId: w.tenantB.id });
  const terminated = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id, status: "terminated" });
  const as = async (user: { email: string; password: string }) => {
    const c = ctx.client();
    await c.login(user.email, user.password);
    return c;
  };
  const body = { mode: "lock", imei: imeiOf() };

  const ownerA = await as(w.usersA.owner);
  for (const [label, res] of [
    ["get", await ownerA.get(`/v1/sims/${simB.iccid}/imei-policy`)],
    ["put", await put(ownerA, simB.iccid, body)],
    ["repair", await ownerA.post(`/v1/sims/${simB.iccid}/imei-policy/repair`, {})],
    ["events", await ownerA.get(`/v1/sims/${simB.iccid}/imei-events`)],
    ["unknown", await ownerA.get("/v1/sims/89490100000000000001/imei-policy")],
  ] as const) t.equal(res.status, 404, `${label}: another tenant's SIM is not found`);
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: simB.id } })).imeiLockMode, "none", "B's SIM untouched");
  t.equal((await ownerA.get("/v1/sims/1234/imei-policy")).status, 400, "not an ICCID");

  const billing = await as(w.usersA.billing);
  t.equal((await billing.get(`/v1/sims/${simA.iccid}/imei-policy`)).status, 403, "billing does not see the fleet");
  t.equal((await put(billing, simA.iccid, body)).status, 403);
  t.equal((await billing.get(`/v1/sims/${simA.iccid}/imei-events`)).status, 403);
  const viewer = await as(w.usersA.viewer);
  t.equal((await viewer.get(`/v1/sims/${simA.iccid}/imei-policy`)).status, 200);
  t.equal((await put(viewer, simA.iccid, body)).status, 403, "viewers read only");
  t.equal((await viewer.post(`/v1/sims/${simA.iccid}/imei-policy/repair`, {})).status, 403);
  const staffViewer = await as(w.staff.viewer);
  t.equal((await staffViewer.get(`/v1/sims/${simA.iccid}/imei-policy`)).status, 200, "platform staff see customer fleets");
  t.equal((await put(staffViewer, simA.iccid, body)).status, 403);
  const staffOwner = await as(w.staff.owner);
  t.equal((await put(staffOwner, simA.iccid, body)).status, 403, "customer SIMs are changed by their tenant");

  const refused = await put(ownerA, terminated.iccid, body);
  t.equal(refused.status, 409);
  t.equal(refused.json.code, "sim_terminated");
  t.equal((await put(ownerA, simA.iccid, body)).status, 200);
});

/** A customer with one active SIM, its owner signed in, and the operator's network feed (a platform key). */
async function policyScene(t: Test) {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const owner = ctx.client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  const operator = await networkFeed(ctx, w.platform.id);
  return { ctx, w, sim, owner, operator };
}
