import t from "tap";
import { makeIccid } from "../../src/platform/identifiers.js";
import { build } from "../helpers/build.js";
import { createRatePlan, createTenant, createUser } from "../helpers/factories.js";
import { seedSims, signedIn, waitForOperation } from "./helpers.js";

/**
 * POST /v1/operations: selections by ICCIDs, CSV and filter, dry runs, rate plan and label changes, the
 * refusals (validation, size, roles, tenants) and reading operations back. BullMQ workers run the engine.
 */
t.test("by ICCIDs: unknown and other tenants' ICCIDs fail unknown_iccid, the rest proceeds, per-SIM reasons", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const [a, b] = [await createTenant(ctx.prisma), await createTenant(ctx.prisma)];
  const client = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: a.id, role: "operator" }));
  const active = await seedSims(ctx.prisma, { tenantId: a.id, count: 40, status: "active", rejectedEvery: 20 });
  const suspended = await seedSims(ctx.prisma, { tenantId: a.id, count: 3, status: "suspended" });
  const ready = await seedSims(ctx.prisma, { tenantId: a.id, count: 2, status: "ready" });
  const theirs = await seedSims(ctx.prisma, { tenantId: b.id, count: 2, status: "active" });
  const unknown = makeIccid("894977999999999999");
  const iccids = [...active, ...suspended, ...ready, ...theirs].map((s) => s.iccid);
  iccids.splice(5, 0, unknown, active[0]!.iccid); // an unknown one, and a duplicate (counts once)

  const res = await client.post("/v1/operations", { action: "suspend", iccids, reasonCode: "maintenance" });
  t.equal(res.status, 202);
  t.equal(res.headers.location, `/v1/operations/${res.json.id}`);
  t.match(res.json, { action: "suspend", status: "queued", total: 48, failed: 3, selection: { kind: "iccids", count: 48, unknown: 3 }, reasonCode: "maintenance" });
  const { final } = await waitForOperation(client, res.json.id);
  t.match(final, { status: "completed", total: 48, succeeded: 38, skipped: 3, failed: 7, pending: 0, percent: 100 });
  const reasons = Object.fromEntries(["unknown_iccid", "network_rejected", "illegal_transition: ready, allowed: activate"].map((r) => [r, final.failures.filter((f: any) => f.reason === r).length]));
  t.same(reasons, { unknown_iccid: 3, network_rejected: 2, "illegal_transition: ready, allowed: activate": 2 }, "each failure with its reason");
  t.same(final.failures.filter((f: any) => f.reason === "unknown_iccid").map((f: any) => f.iccid).sort(), [unknown, ...theirs.map((s) => s.iccid)].sort());

  // Items: in selection order, pages by cursor, filterable by state.
  const page1 = await client.get(`/v1/operations/${res.json.id}/items?limit=30`);
  const page2 = await client.get(`/v1/operations/${res.json.id}/items?limit=30&cursor=${page1.json.nextCursor}`);
  const all = [...page1.json.items, ...page2.json.items];
  t.equal(page2.json.nextCursor, null);
  t.same(all.map((i: any) => i.seq), Array.from({ length: 48 }, (_, i) => i + 1), "every item, in selection order");
  t.same(all.map((i: any) => i.iccid), [...new Set(iccids)], "the order the caller gave");
  const skipped = await client.get(`/v1/operations/${res.json.id}/items?state=skipped`);
  t.same(skipped.json.items.map((i: any) => [i.iccid, i.reason, i.fromStatus]), suspended.map((s) => [s.iccid, "already_suspended", "suspended"]));

  // The SIMs: changed with history, or untouched; tenant B's never touched.
  const events = await ctx.prisma.simEvent.count({ where: { operationId: res.json.id, kind: "state_changed", toStatus: "suspended", reasonCode: "maintenance", billingEffect: "reduced" } });
  t.equal(events, 38, "one history row per suspended SIM");
  t.equal(await ctx.prisma.sim.count({ where: { tenantId: a.id, status: "suspended", statusReason: "maintenance" } }), 38);
  t.equal(await ctx.prisma.sim.count({ where: { tenantId: a.id, pendingOperationId: { not: null } } }), 0, "no SIM left marked");
  t.same((await ctx.prisma.sim.findMany({ where: { tenantId: b.id } })).map((s) => [s.status, s.pendingOperationId]), [["active", null], ["active", null]], "tenant B's SIMs untouched");
  t.equal(await ctx.prisma.simEvent.count({ where: { tenantId: b.id } }), 0);
  const audit = await ctx.prisma.auditEvent.findMany({ where: { tenantId: a.id, action: { startsWith: "operation." } }, select: { action: true, data: true } });
  t.match(audit, [{ action: "operation.created", data: { action: "suspend", total: 48, unknown: 3 } }, { action: "operation.completed", data: { succeeded: 38, failed: 7, skipped: 3 } }]);
});

t.test("by filter and by CSV", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const tenant = await createTenant(ctx.prisma);
  const client = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: tenant.id, role: "admin" }));
  const fleetA = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 12, status: "ready", labels: ["fleet-a", "eu"] });
  const fleetB = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 5, status: "ready", labels: ["fleet-b"] });
  await seedSims(ctx.prisma, { tenantId: tenant.id, count: 4, status: "active", labels: ["fleet-a"] });

  const byFilter = await client.post("/v1/operations", { action: "activate", filter: { status: "ready", labels: ["fleet-a"] } });
  t.equal(byFilter.status, 202);
  t.match(byFilter.json, { total: 12, selection: { kind: "filter", filter: { status: "ready", labels: ["fleet-a"] } } });
  t.match((await waitForOperation(client, byFilter.json.id)).final, { status: "completed", succeeded: 12, failed: 0 });
  t.equal(await ctx.prisma.sim.count({ where: { id: { in: fleetA.map((s) => s.id) }, status: "active", activatedAt: { not: null } } }), 12);
  t.equal(await ctx.prisma.sim.count({ where: { id: { in: fleetB.map((s) => s.id) }, status: "ready" } }), 5, "the others untouched");

  // A CSV as spreadsheets export it: header, quotes, CRLF, a blank line, more columns.
  const csv = ["name;iccid;note", ...fleetB.map((s, i) => `"device ${i}";"${s.iccid}";x`), "", ""].join("\r\n");
  const byCsv = await client.post("/v1/operations", { action: "activate", csv });
  t.equal(byCsv.status, 202);
  t.match(byCsv.json, { total: 5, selection: { kind: "csv", count: 5, unknown: 0 } });
  t.match((await waitForOperation(client, byCsv.json.id)).final, { status: "completed", succeeded: 5 });
  const plain = await client.post("/v1/operations", { action: "suspend", csv: `${fleetB[0]!.iccid}\n${fleetB[1]!.iccid}\n`, reasonCode: "csv_upload" });
  t.match((await waitForOperation(client, plain.json.id)).final, { status: "completed", total: 2, succeeded: 2 });

  // `q` filters like GET /v1/sims: a prefix of the ICCID.
  const prefix = fleetB[0]!.iccid.slice(0, 17);
  const byQ = await client.post("/v1/operations", { action: "resume", filter: { q: prefix }, dryRun: true });
  t.equal(byQ.status, 200);
  t.ok(byQ.json.total >= 1 && byQ.json.sample.every((s: any) => s.iccid.startsWith(prefix)), "q is a prefix match");

  const empty = await client.post("/v1/operations", { action: "suspend", filter: { labels: ["nobody"] } });
  t.match((await waitForOperation(client, empty.json.id)).final, { status: "completed", total: 0, percent: 100 }, "an empty selection completes at once");
});

t.test("a dry run answers what would change and writes nothing", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const tenant = await createTenant(ctx.prisma);
  const client = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: tenant.id, role: "operator" }));
  const active = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 1200, status: "active" });
  const terminated = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 3, status: "terminated" });
  const suspended = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 2, status: "suspended" });
  const unknown = makeIccid("894977999999999999");
  const before = await ctx.prisma.$queryRaw<Array<{ d: string }>>`SELECT md5(string_agg(s::text, ',' ORDER BY s.id)) AS d FROM connectivity.sims s`;
  const audits = await ctx.prisma.auditEvent.count();

  const res = await client.post("/v1/operations", { action: "suspend", iccids: [unknown, ...active, ...terminated, ...suspended].map((s) => (typeof s === "string" ? s : s.iccid)), dryRun: true });
  t.equal(res.status, 200);
  t.match(res.json, { dryRun: true, action: "suspend", total: 1206, wouldChange: 1200, wouldSkip: 2, wouldFail: 4 });
  t.same(res.json.reasons, [
    { outcome: "fail", reason: "illegal_transition: terminated, allowed: none", count: 3 },
    { outcome: "skip", reason: "already_suspended", count: 2 },
    { outcome: "fail", reason: "unknown_iccid", count: 1 },
  ]);
  t.equal(res.json.sample.length, 1000, "at most 1000 samples");
  t.same(res.json.sample.slice(0, 6).map((s: any) => s.outcome), ["fail", "fail", "fail", "fail", "skip", "skip"], "refusals and skips first");
  t.match(res.json.sample[0], { iccid: unknown, outcome: "fail", reason: "unknown_iccid", status: null });
  t.match(res.json.sample[6], { outcome: "change", reason: null, status: "active" });

  const filtered = await client.post("/v1/operations", { action: "terminate", filter: { status: ["active", "suspended"] }, dryRun: true });
  t.match(filtered.json, { total: 1202, wouldChange: 1202, wouldFail: 0 });

  t.equal(await ctx.prisma.operation.count(), 0, "no operation");
  t.equal(await ctx.prisma.simEvent.count(), 0, "no history");
  t.equal(await ctx.prisma.auditEvent.count(), audits, "no audit event");
  const after = await ctx.prisma.$queryRaw<Array<{ d: string }>>`SELECT md5(string_agg(s::text, ',' ORDER BY s.id)) AS d FROM connectivity.sims s`;
  t.equal(after[0]!.d, before[0]!.d, "every SIM row exactly as before");
});

t.test("change_rate_plan and set_labels: no network, history rows, skips and refusals", async (t) => {
  const ctx = await build(t, {}, { startJobs: true });
  const tenant = await createTenant(ctx.prisma);
  const owner = await createUser(ctx.prisma, { tenantId: tenant.id, role: "owner" });
  const client = await signedIn(ctx.client(), owner);
  const [oldPlan, newPlan, retired] = [await createRatePlan(ctx.prisma), await createRatePlan(ctx.prisma), await createRatePlan(ctx.prisma)];
  await ctx.prisma.ratePlan.update({ where: { id: retired.id }, data: { status: "retired" } });
  const sims = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 6, status: "active", ratePlanId: oldPlan.id, labels: ["eu", "pilot"] });
  const already = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 2, status: "suspended", ratePlanId: newPlan.id, labels: ["eu"] });
  const gone = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 1, status: "terminated", ratePlanId: oldPlan.id });
  const iccids = [...sims, ...already, ...gone].map((s) => s.iccid);

  const plan = await client.post("/v1/operations", { action: "change_rate_plan", ratePlanId: newPlan.id, iccids });
  t.equal(plan.status, 202);
  t.match(plan.json.params, { ratePlanId: newPlan.id });
  const planDone = (await waitForOperation(client, plan.json.id)).final;
  t.match(planDone, { status: "completed", succeeded: 6, skipped: 2, failed: 1, failures: [{ iccid: gone[0]!.iccid, reason: "sim_terminated" }] });
  t.equal(await ctx.prisma.sim.count({ where: { tenantId: tenant.id, ratePlanId: newPlan.id } }), 8);
  const planEvents = await ctx.prisma.simEvent.findMany({ where: { operationId: plan.json.id } });
  t.equal(planEvents.length, 6);
  t.match(planEvents[0], { kind: "rate_plan_changed", reasonCode: "customer_request", actorType: "user", actorId: owner.id, data: { before: { ratePlanId: oldPlan.id }, after: { ratePlanId: newPlan.id } } });

  const add = await client.post("/v1/operations", { action: "set_labels", labels: ["pilot", "fleet-9"], iccids });
  t.match((await waitForOperation(client, add.json.id)).final, { succeeded: 8, failed: 1, params: { labels: ["pilot", "fleet-9"], mode: "add" } });
  t.same((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sims[0]!.id } })).labels, ["eu", "pilot", "fleet-9"], "added at the end, none twice");
  t.same((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: already[0]!.id } })).labels, ["eu", "pilot", "fleet-9"]);
  const remove = await client.post("/v1/operations", { action: "set_labels", mode: "remove", labels: ["pilot"], filter: { labels: ["fleet-9"] } });
  t.match((await waitForOperation(client, remove.json.id)).final, { total: 8, succeeded: 8 });
  t.same((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sims[0]!.id } })).labels, ["eu", "fleet-9"]);
  const replace = await client.post("/v1/operations", { action: "set_labels", mode: "replace", labels: [], iccids: [sims[0]!.iccid] });
  t.match((await waitForOperation(client, replace.json.id)).final, { succeeded: 1 });
  t.same((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sims[0]!.id } })).labels, [], "replace with [] clears them");
  const again = await client.post("/v1/operations", { action: "set_labels", mode: "replace", labels: [], iccids: [sims[0]!.iccid] });
  t.match((await waitForOperation(client, again.json.id)).final, { succeeded: 0, skipped: 1 }, "nothing to change: skipped");
  const labelEvent = await ctx.prisma.simEvent.findFirstOrThrow({ where: { operationId: remove.json.id, simId: sims[0]!.id } });
  t.match(labelEvent, { kind: "labels_changed", data: { before: { labels: ["eu", "pilot", "fleet-9"] }, after: { labels: ["eu", "fleet-9"] }, changed: ["labels"] } });

  const toRetired = await client.post("/v1/operations", { action: "change_rate_plan", ratePlanId: retired.id, iccids });
  t.equal(toRetired.status, 422);
  t.equal(toRetired.json.code, "rate_plan_not_active");
  const toNowhere = await client.post("/v1/operations", { action: "change_rate_plan", ratePlanId: "01a20000-0000-7000-8000-000000000000", iccids });
  t.equal(toNowhere.status, 422);
  t.equal(toNowhere.json.code, "rate_plan_not_found");
  // Nothing in the network path: status untouched, no state history.
  t.equal(await ctx.prisma.simEvent.count({ where: { tenantId: tenant.id, kind: "state_changed" } }), 0);
});

t.test("bad requests are refused naming the field, and write nothing", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const client = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: tenant.id, role: "operator" }));
  const [sim] = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 1 });
  const good = sim!.iccid;
  const badLuhn = `${good.slice(0, -1)}${(Number(good.at(-1)) + 1) % 10}`;
  const cases: Array<[string, unknown, string, RegExp?]> = [
    ["no selection", { action: "suspend" }, "/body", /one of iccids, filter or csv/],
    ["two selections", { action: "suspend", iccids: [good], filter: {} }, "/body/filter", /only one/],
    ["bad ICCID", { action: "suspend", iccids: [good, badLuhn] }, "/body/iccids/1", /Luhn/],
    ["not digits", { action: "suspend", iccids: ["89ABC"] }, "/body/iccids/0", /digits/],
    ["bad CSV line", { action: "suspend", csv: `iccid\n${good}\n12345\n` }, "/body/csv", /^line 3: /],
    ["CSV header without iccid", { action: "suspend", csv: "imei,name\n1,2\n" }, "/body/csv", /line 1: the header has no "iccid" column/],
    ["empty CSV", { action: "suspend", csv: "iccid\n\n" }, "/body/csv", /no ICCID/],
    ["rate plan missing", { action: "change_rate_plan", iccids: [good] }, "/body/ratePlanId", /required/],
    ["labels missing", { action: "set_labels", iccids: [good] }, "/body/labels", /required/],
    ["labels on suspend", { action: "suspend", iccids: [good], labels: ["x"] }, "/body/labels", /not allowed/],
    ["rate plan on suspend", { action: "suspend", iccids: [good], ratePlanId: "01a20000-0000-7000-8000-000000000000" }, "/body/ratePlanId", /not allowed/],
    ["bad label", { action: "set_labels", iccids: [good], labels: ["no spaces"] }, "/body/labels/0"],
    ["unknown action", { action: "explode", iccids: [good] }, "/body/action"],
    ["unknown property", { action: "suspend", iccids: [good], everything: true }, "/body/everything"],
    ["bad filter status", { action: "suspend", filter: { status: "gone" } }, "/body/filter/status"],
    ["bad reason code", { action: "suspend", iccids: [good], reasonCode: "Because!" }, "/body/reasonCode"],
  ];
  for (const [label, body, field, reason] of cases) {
    const res = await client.post("/v1/operations", body);
    t.equal(res.status, 400, `${label}: 400`);
    t.equal(res.json.code, "validation_failed");
    t.ok(res.json.errors.some((e: any) => e.field === field && (!reason || reason.test(e.reason))), `${label}: names ${field} (${JSON.stringify(res.json.errors)})`);
  }
  // Over 100,000: a CSV of 100,001 valid ICCIDs is refused before any lookup.
  const many = Array.from({ length: 100_001 }, (_, i) => makeIccid(`8949780${String(i).padStart(11, "0")}`));
  const tooMany = await client.post("/v1/operations", { action: "suspend", csv: many.join("\n") });
  t.equal(tooMany.status, 422);
  t.equal(tooMany.json.code, "selection_too_large");
  const tooManyJson = await client.post("/v1/operations", { action: "suspend", iccids: many });
  t.equal(tooManyJson.status, 400, "a JSON list over 100,000 fails its schema");
  t.equal(await ctx.prisma.operation.count(), 0, "nothing written");
});

t.test("roles and tenants: who may start, list and read operations", async (t) => {
  const ctx = await build(t);
  const [a, b] = [await createTenant(ctx.prisma), await createTenant(ctx.prisma)];
  const simsA = await seedSims(ctx.prisma, { tenantId: a.id, count: 3 });
  const operatorA = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: a.id, role: "operator" }));
  const created = await operatorA.post("/v1/operations", { action: "suspend", iccids: simsA.map((s) => s.iccid) });
  t.equal(created.status, 202);
  const opId = created.json.id as string;
  await operatorA.post("/v1/operations", { action: "set_labels", labels: ["x"], iccids: [simsA[0]!.iccid] });

  for (const role of ["billing", "viewer"] as const) {
    const c = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: a.id, role }));
    t.equal((await c.post("/v1/operations", { action: "suspend", iccids: [simsA[0]!.iccid] })).status, 403, `${role} cannot start one`);
    t.equal((await c.post("/v1/operations", { action: "suspend", iccids: [simsA[0]!.iccid], dryRun: true })).status, 403, `${role} cannot dry-run one`);
  }
  const viewerA = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: a.id, role: "viewer" }));
  t.equal((await viewerA.get(`/v1/operations/${opId}`)).status, 200, "a viewer reads them");
  const billingA = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: a.id, role: "billing" }));
  t.equal((await billingA.get("/v1/operations")).status, 403, "billing does not see the fleet");

  const list = await operatorA.get("/v1/operations?limit=1");
  t.equal(list.json.items.length, 1);
  t.equal(list.json.items[0].action, "set_labels", "newest first");
  t.notOk("failures" in list.json.items[0], "lists carry no failures");
  const next = await operatorA.get(`/v1/operations?limit=1&cursor=${list.json.nextCursor}`);
  t.same(next.json.items.map((o: any) => o.id), [opId]);
  t.same((await operatorA.get("/v1/operations?action=suspend")).json.items.map((o: any) => o.id), [opId]);
  t.same((await operatorA.get("/v1/operations?status=completed")).json.items, [], "none completed (no workers here)");

  // Tenant B sees nothing of A's operations, and cannot reach A's SIMs through a bulk selection.
  const ownerB = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: b.id, role: "owner" }));
  t.equal((await ownerB.get(`/v1/operations/${opId}`)).status, 404);
  t.equal((await ownerB.get(`/v1/operations/${opId}/items`)).status, 404);
  t.same((await ownerB.get("/v1/operations")).json.items, []);
  const dry = await ownerB.post("/v1/operations", { action: "suspend", iccids: simsA.map((s) => s.iccid), dryRun: true });
  t.match(dry.json, { total: 3, wouldChange: 0, wouldFail: 3, reasons: [{ reason: "unknown_iccid", count: 3 }] });
  t.same(dry.json.sample.map((s: any) => s.status), [null, null, null], "nothing of A's SIMs disclosed");
  t.equal((await operatorA.get("/v1/operations/01a20000-0000-7000-8000-000000000000")).status, 404);
});

t.test("Idempotency-Key: the same request gives the same operation; the key with another body is 422", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const client = await signedIn(ctx.client(), await createUser(ctx.prisma, { tenantId: tenant.id, role: "operator" }));
  const sims = await seedSims(ctx.prisma, { tenantId: tenant.id, count: 3 });
  const body = { action: "suspend", iccids: sims.map((s) => s.iccid) };
  const first = await client.post("/v1/operations", body, { "idempotency-key": "bulk-suspend-1" });
  const again = await client.post("/v1/operations", body, { "idempotency-key": "bulk-suspend-1" });
  t.equal(first.status, 202);
  t.equal(again.status, 202);
  t.equal(again.json.id, first.json.id, "the same operation");
  t.equal(again.headers["idempotent-replayed"], "true");
  t.equal(again.headers.location, `/v1/operations/${first.json.id}`);
  const other = await client.post("/v1/operations", { ...body, reasonCode: "other" }, { "idempotency-key": "bulk-suspend-1" });
  t.equal(other.status, 422);
  t.equal(other.json.code, "idempotency_key_reused");

  // A single-SIM request too: the replay answers the first 202, not 409 operation_pending.
  const single = await client.post(`/v1/sims/${sims[0]!.iccid}/terminate`, undefined, { "idempotency-key": "terminate-1" });
  const singleAgain = await client.post(`/v1/sims/${sims[0]!.iccid}/terminate`, undefined, { "idempotency-key": "terminate-1" });
  t.equal(single.status, 202);
  t.equal(singleAgain.status, 202);
  t.equal(singleAgain.json.id, single.json.id);
  t.equal(await ctx.prisma.operation.count(), 2, "one bulk and one single-SIM operation in all");
});
