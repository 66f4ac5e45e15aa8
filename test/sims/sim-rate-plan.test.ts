import t from "tap";
import { applyRatePlanChanges, ratePlansApplyChangesJob } from "../../jobs/rate-plans-apply-changes.job.js";
import { applyRatePlan } from "../../src/modules/operations/engine.repository.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { build, type TestApp } from "../helpers/build.js";
import { createRatePlan, createSim, createTenant } from "../helpers/factories.js";
import { numbers, signedIn } from "./helpers.js";

/** The first day of the month `offset` months from now (UTC), "YYYY-MM-01". */
function monthStart(offset = 0): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 10);
}
const today = () => new Date().toISOString().slice(0, 10);
const day = (d: string) => new Date(`${d}T00:00:00Z`);

async function world(ctx: TestApp) {
  const { prisma } = ctx;
  const platform = await createTenant(prisma, { kind: "platform" });
  const a = await createTenant(prisma);
  const b = await createTenant(prisma);
  const p1 = await createRatePlan(prisma, { code: "P-ONE" });
  const p2 = await createRatePlan(prisma, { code: "P-TWO" });
  const p3 = await createRatePlan(prisma, { code: "P-THREE", currency: "USD" });
  const retired = await prisma.ratePlan.create({ data: { code: "P-OLD", name: "Old", currency: "EUR", status: "retired" } });
  return { platform, a, b, p1, p2, p3, retired };
}

/** A SIM of `tenantId` on `ratePlanId` since two months ago (as allocation records it). */
async function simOnPlan(prisma: PrismaClient, tenantId: string, ratePlanId: string, status: "active" | "suspended" | "terminated" | "ready" = "active") {
  const sim = await createSim(prisma, { tenantId, ratePlanId, status });
  await prisma.simRatePlanAssignment.create({ data: { simId: sim.id, tenantId, ratePlanId, effectiveFrom: day(monthStart(-2)), kind: "allocation", actorType: "system", actorId: "test" } });
  return sim;
}

const rows = (prisma: PrismaClient, simId: string) =>
  prisma.simRatePlanAssignment.findMany({ where: { simId }, orderBy: { effectiveFrom: "asc" } }).then((r) => r.map((x) => [x.effectiveFrom.toISOString().slice(0, 10), x.ratePlanId, x.kind]));

t.test("next-period changes wait for their month; immediate ones apply today; each is history and audit", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { a, p1, p2, p3 } = await world(ctx);
  const sim = await simOnPlan(prisma, a.id, p1.id);
  const operator = await signedIn(ctx, a.id, "operator");
  const url = `/v1/sims/${sim.iccid}/rate-plan`;

  const start = await operator.get(url);
  t.equal(start.status, 200, start.body);
  t.same(start.json.current, { ratePlan: { id: p1.id, code: "P-ONE", name: p1.name, currency: "EUR" }, since: monthStart(-2) });
  t.equal(start.json.pending, null);
  t.match(start.json.history, [{ ratePlan: { id: p1.id }, effectiveFrom: monthStart(-2), kind: "allocation", actor: { type: "system", id: "test" } }]);

  // Next period: scheduled for the 1st, the SIM stays on its plan meanwhile.
  const scheduled = await operator.request("PUT", url, { body: { ratePlanId: p2.id, effective: "next_period" } });
  t.equal(scheduled.status, 200, scheduled.body);
  t.match(scheduled.json, { current: { ratePlan: { id: p1.id } }, pending: { ratePlan: { id: p2.id, code: "P-TWO" }, effectiveFrom: monthStart(1) } });
  t.equal((await prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).ratePlanId, p1.id, "rate_plan_id unchanged until then");
  // A second next-period change replaces the first.
  const replaced = await operator.request("PUT", url, { body: { ratePlanId: p3.id, effective: "next_period" } });
  t.match(replaced.json.pending, { ratePlan: { id: p3.id, currency: "USD" }, effectiveFrom: monthStart(1) });
  t.same(await rows(prisma, sim.id), [[monthStart(-2), p1.id, "allocation"], [monthStart(1), p3.id, "next_period"]]);
  const again = await operator.request("PUT", url, { body: { ratePlanId: p3.id, effective: "next_period" } });
  t.same([again.status, again.json.code], [409, "no_change"], "already moving there");

  // Cancelling: the pending change goes, the SIM stays; a second cancel has nothing to cancel.
  const cancelled = await operator.request("DELETE", `${url}/pending`);
  t.equal(cancelled.status, 200, cancelled.body);
  t.equal(cancelled.json.pending, null);
  const none = await operator.request("DELETE", `${url}/pending`);
  t.same([none.status, none.json.code], [404, "no_pending_change"]);
  const same = await operator.request("PUT", url, { body: { ratePlanId: p1.id, effective: "immediate" } });
  t.same([same.status, same.json.code], [409, "no_change"], "already on it, nothing pending");

  // Asking for the current plan while a change is pending cancels the change.
  await operator.request("PUT", url, { body: { ratePlanId: p2.id, effective: "next_period" } });
  const stay = await operator.request("PUT", url, { body: { ratePlanId: p1.id, effective: "next_period" } });
  t.equal(stay.status, 200);
  t.equal(stay.json.pending, null);
  t.same(await rows(prisma, sim.id), [[monthStart(-2), p1.id, "allocation"]]);

  // Immediate: from today, rate_plan_id at once, and a pending change is dropped (the latest decision wins).
  await operator.request("PUT", url, { body: { ratePlanId: p3.id, effective: "next_period" } });
  const now = await operator.request("PUT", url, { body: { ratePlanId: p2.id, effective: "immediate" } });
  t.equal(now.status, 200, now.body);
  t.match(now.json, { current: { ratePlan: { id: p2.id }, since: today() }, pending: null });
  t.match(now.json.history, [{ ratePlan: { id: p2.id }, effectiveFrom: today(), kind: "immediate", actor: { type: "user" } }, { ratePlan: { id: p1.id }, kind: "allocation" }]);
  t.equal((await prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).ratePlanId, p2.id);
  // A second immediate change the same day replaces the first; back to the earlier plan undoes it.
  await operator.request("PUT", url, { body: { ratePlanId: p3.id, effective: "immediate" } });
  t.same(await rows(prisma, sim.id), [[monthStart(-2), p1.id, "allocation"], [today(), p3.id, "immediate"]]);
  const undone = await operator.request("PUT", url, { body: { ratePlanId: p1.id, effective: "immediate" } });
  t.match(undone.json, { current: { ratePlan: { id: p1.id }, since: monthStart(-2) }, pending: null });
  t.same(await rows(prisma, sim.id), [[monthStart(-2), p1.id, "allocation"]]);
  t.equal((await prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).ratePlanId, p1.id);

  // History rows and audit events, one per change, with from/to and the effective date.
  const events = await prisma.simEvent.findMany({ where: { simId: sim.id, kind: "rate_plan_changed" }, orderBy: [{ at: "asc" }, { id: "asc" }] });
  t.same(events.map((e) => e.reasonCode), [
    "plan_change_scheduled",
    "plan_change_scheduled",
    "plan_change_cancelled",
    "plan_change_scheduled",
    "plan_change_cancelled",
    "plan_change_scheduled",
    "plan_change_immediate",
    "plan_change_immediate",
    "plan_change_immediate",
  ]);
  t.match(events[0]!.data, { from: { ratePlanId: p1.id, code: "P-ONE" }, to: { ratePlanId: p2.id, code: "P-TWO" }, effective: "next_period", effectiveFrom: monthStart(1) });
  t.match(events[6]!.data, { from: { ratePlanId: p1.id }, to: { ratePlanId: p2.id }, effective: "immediate", effectiveFrom: today(), cancelled: { ratePlanId: p3.id, effectiveFrom: monthStart(1) } });
  t.match(events[0], { actorType: "user", tenantId: a.id });
  const audit = await prisma.auditEvent.findMany({ where: { tenantId: a.id, targetId: sim.iccid }, orderBy: { seq: "asc" } });
  t.same(audit.map((e) => e.action), [
    "sim.rate_plan_change_scheduled",
    "sim.rate_plan_change_scheduled",
    "sim.rate_plan_change_cancelled",
    "sim.rate_plan_change_scheduled",
    "sim.rate_plan_change_cancelled",
    "sim.rate_plan_change_scheduled",
    "sim.rate_plan_changed",
    "sim.rate_plan_changed",
    "sim.rate_plan_changed",
  ]);
});

t.test("refusals: plan unknown or retired, SIM not billable, bad input; nothing written", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { a, p1, p2, retired } = await world(ctx);
  const sim = await simOnPlan(prisma, a.id, p1.id);
  const terminated = await simOnPlan(prisma, a.id, p1.id, "terminated");
  const owner = await signedIn(ctx, a.id, "owner");
  const put = (iccid: string, body: unknown) => owner.request("PUT", `/v1/sims/${iccid}/rate-plan`, { body });
  const before = [await prisma.simRatePlanAssignment.count(), await prisma.simEvent.count(), await prisma.auditEvent.count({ where: { tenantId: a.id } })];

  const cases: Array<[string, unknown, number, string]> = [
    [sim.iccid, { ratePlanId: "01900000-0000-7000-8000-00000000dead", effective: "immediate" }, 404, "rate_plan_not_found"],
    [sim.iccid, { ratePlanId: retired.id, effective: "next_period" }, 422, "rate_plan_retired"],
    [terminated.iccid, { ratePlanId: p2.id, effective: "immediate" }, 409, "sim_not_billable"],
    [sim.iccid, { ratePlanId: p2.id }, 400, "validation_failed"],
    [sim.iccid, { ratePlanId: p2.id, effective: "tomorrow" }, 400, "validation_failed"],
    [sim.iccid, { ratePlanId: "P-TWO", effective: "immediate" }, 400, "validation_failed"],
    [sim.iccid, { ratePlanId: p2.id, effective: "immediate", effectiveFrom: "2030-01-01" }, 400, "validation_failed"],
    ["12345", { ratePlanId: p2.id, effective: "immediate" }, 400, "validation_failed"],
    [numbers(90, 1).iccid, { ratePlanId: p2.id, effective: "immediate" }, 404, "not_found"],
  ];
  for (const [iccid, body, status, code] of cases) {
    const res = await put(iccid, body);
    t.same([res.status, res.json.code], [status, code], JSON.stringify(body));
    t.equal(res.headers["content-type"], "application/problem+json; charset=utf-8");
  }
  const notBillable = await put(terminated.iccid, { ratePlanId: p2.id, effective: "immediate" });
  t.equal(notBillable.json.simStatus, "terminated", "names the SIM's state");
  t.match((await put(sim.iccid, { ratePlanId: p2.id })).json.errors, [{ field: "/body/effective" }]);
  t.same([await prisma.simRatePlanAssignment.count(), await prisma.simEvent.count(), await prisma.auditEvent.count({ where: { tenantId: a.id } })], before, "nothing half-written");
  t.equal((await owner.get(`/v1/sims/${numbers(90, 1).iccid}/rate-plan`)).status, 404);
});

t.test("who: the SIM's tenant's owners, admins and operators change; billing and viewers do not; other tenants get 404", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, a, b, p1, p2 } = await world(ctx);
  const sim = await simOnPlan(prisma, a.id, p1.id);
  const url = `/v1/sims/${sim.iccid}/rate-plan`;
  const body = { ratePlanId: p2.id, effective: "next_period" };

  for (const role of ["billing", "viewer"] as const) {
    const member = await signedIn(ctx, a.id, role);
    t.equal((await member.request("PUT", url, { body })).status, 403, `${role} PUT`);
    t.equal((await member.request("DELETE", `${url}/pending`)).status, 403, `${role} DELETE`);
  }
  t.equal((await (await signedIn(ctx, a.id, "viewer")).get(url)).status, 200, "viewers read");
  t.equal((await (await signedIn(ctx, a.id, "billing")).get(url)).status, 403, "billing contacts do not see the fleet");
  for (const role of ["owner", "admin", "operator", "billing", "viewer"] as const) {
    const other = await signedIn(ctx, b.id, role);
    t.equal((await other.get(url)).status, role === "billing" ? 403 : 404, `tenant B ${role} GET`);
    const res = await other.request("PUT", url, { body });
    t.equal(res.status, ["owner", "admin", "operator"].includes(role) ? 404 : 403, `tenant B ${role} PUT`);
  }
  // Staff read every tenant's SIMs but change only the platform's own, which are in inventory: 409.
  const staff = await signedIn(ctx, platform.id, "operator");
  t.equal((await staff.get(url)).status, 200);
  t.equal((await staff.request("PUT", url, { body })).status, 403, "a customer's SIM is its tenant's to change");
  const stock = await createSim(prisma, { tenantId: platform.id, status: "inventory" });
  const refused = await staff.request("PUT", `/v1/sims/${stock.iccid}/rate-plan`, { body });
  t.same([refused.status, refused.json.code, refused.json.simStatus], [409, "sim_not_billable", "inventory"]);
  t.same([(await staff.request("DELETE", `/v1/sims/${stock.iccid}/rate-plan/pending`)).json.code], ["sim_not_billable"]);
  t.equal((await (await signedIn(ctx, platform.id, "billing")).request("PUT", url, { body })).status, 403, "billing staff do not change SIMs");
  t.equal(await prisma.simRatePlanAssignment.count({ where: { simId: sim.id } }), 1, "nothing changed");

  const admin = await signedIn(ctx, a.id, "admin");
  t.equal((await admin.request("PUT", url, { body })).status, 200);
  t.equal((await admin.request("DELETE", `${url}/pending`)).status, 200);
});

t.test("the apply-changes job moves SIMs whose change has come, once; terminated SIMs stay", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { a, b, p1, p2, p3 } = await world(ctx);
  const owner = await signedIn(ctx, a.id, "owner");
  const ownerB = await signedIn(ctx, b.id, "owner");
  const moving = await simOnPlan(prisma, a.id, p1.id);
  const suspended = await simOnPlan(prisma, b.id, p1.id, "suspended");
  const staying = await simOnPlan(prisma, a.id, p1.id);
  const ended = await simOnPlan(prisma, a.id, p1.id);
  for (const [client, sim, plan] of [[owner, moving, p2], [ownerB, suspended, p3], [owner, ended, p2]] as const) {
    t.equal((await client.request("PUT", `/v1/sims/${sim.iccid}/rate-plan`, { body: { ratePlanId: plan.id, effective: "next_period" } })).status, 200);
  }
  // Terminated after the change was scheduled: no plan change on a terminated SIM.
  await prisma.sim.update({ where: { id: ended.id }, data: { status: "terminated", terminatedAt: new Date() } });

  t.equal(await applyRatePlanChanges(prisma), 0, "nothing is due today");
  const firstOfNext = new Date(`${monthStart(1)}T00:00:00.000Z`);
  t.equal(await applyRatePlanChanges(prisma, new Date(firstOfNext.getTime() - 1)), 0, "nor at the last millisecond of the month");
  t.equal(await applyRatePlanChanges(prisma, firstOfNext), 2, "at 00:00 UTC on the 1st");
  const plans = Object.fromEntries((await prisma.sim.findMany({ where: { id: { in: [moving.id, suspended.id, staying.id, ended.id] } } })).map((s) => [s.id, s.ratePlanId]));
  t.same(plans, { [moving.id]: p2.id, [suspended.id]: p3.id, [staying.id]: p1.id, [ended.id]: p1.id });
  const [applied] = await prisma.simEvent.findMany({ where: { simId: moving.id, reasonCode: "plan_change_applied" } });
  t.match(applied, { tenantId: a.id, kind: "rate_plan_changed", actorType: "system", actorId: "rate-plans-apply-changes" });
  t.match(applied!.data, { from: { ratePlanId: p1.id, code: "P-ONE" }, to: { ratePlanId: p2.id, code: "P-TWO" }, effective: "next_period", effectiveFrom: monthStart(1) });

  t.equal(await applyRatePlanChanges(prisma, firstOfNext), 0, "idempotent");
  const twice = await Promise.all([applyRatePlanChanges(prisma, new Date(firstOfNext.getTime() + 86_400_000)), applyRatePlanChanges(prisma, firstOfNext)]);
  t.same(twice, [0, 0]);
  t.equal(await prisma.simEvent.count({ where: { reasonCode: "plan_change_applied" } }), 2, "one history row per SIM moved");

  // The processor, as the scheduler runs it (today: nothing due).
  const logs: string[] = [];
  const result = await ratePlansApplyChangesJob({ prisma })({}, { attempt: 1, progress: async () => undefined, log: (m) => logs.push(m) });
  t.same(result, { sims: 0 });
});

t.test("a change whose day has come is applied before the next change of that SIM", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { a, p1, p2, p3 } = await world(ctx);
  const sim = await simOnPlan(prisma, a.id, p1.id);
  // Scheduled last month for this month's 1st; the job has not run yet.
  await prisma.simRatePlanAssignment.create({ data: { simId: sim.id, tenantId: a.id, ratePlanId: p2.id, effectiveFrom: day(monthStart()), kind: "next_period", actorType: "system", actorId: "test" } });
  const owner = await signedIn(ctx, a.id, "owner");
  const view = await owner.get(`/v1/sims/${sim.iccid}/rate-plan`);
  t.match(view.json, { current: { ratePlan: { id: p2.id }, since: monthStart() }, pending: null }, "the read already shows the plan in effect");
  const res = await owner.request("PUT", `/v1/sims/${sim.iccid}/rate-plan`, { body: { ratePlanId: p2.id, effective: "immediate" } });
  t.same([res.status, res.json.code], [409, "no_change"], "already on it today");
  t.equal((await prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).ratePlanId, p1.id, "a refusal writes nothing");
  const next = await owner.request("PUT", `/v1/sims/${sim.iccid}/rate-plan`, { body: { ratePlanId: p3.id, effective: "immediate" } });
  t.equal(next.status, 200, next.body);
  // On the 1st, today's change replaces the one that came due today.
  t.same(next.json.history.map((h: { ratePlan: { id: string } }) => h.ratePlan.id), today() === monthStart() ? [p3.id, p1.id] : [p3.id, p2.id, p1.id]);
  const reasons = (await prisma.simEvent.findMany({ where: { simId: sim.id }, orderBy: [{ at: "asc" }, { id: "asc" }] })).map((e) => e.reasonCode);
  t.same(reasons, ["plan_change_applied", "plan_change_immediate"], "the due change first, then this one");
});

t.test("allocation and bulk plan changes record the assignment too", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, a, p1, p2 } = await world(ctx);
  const staff = await signedIn(ctx, platform.id, "operator");
  const stock = await Promise.all([1, 2, 3].map((i) => prisma.sim.create({ data: { tenantId: platform.id, ...numbers(91, i), formFactor: "ff4", status: "inventory" } })));
  const res = await staff.post("/v1/inventory/sims/allocate", { tenantId: a.id, ratePlanId: p1.id, iccids: stock.map((s) => s.iccid) });
  t.equal(res.status, 200, res.body);
  const assigned = await prisma.simRatePlanAssignment.findMany({ where: { simId: { in: stock.map((s) => s.id) } } });
  t.equal(assigned.length, 3);
  for (const row of assigned) t.match(row, { tenantId: a.id, ratePlanId: p1.id, kind: "allocation", actorType: "user", effectiveFrom: day(today()) });

  // The bulk change_rate_plan operation: an immediate change (an allocation today stays one), pending changes dropped.
  const [first, second] = stock;
  await prisma.simRatePlanAssignment.create({ data: { simId: second!.id, tenantId: a.id, ratePlanId: p1.id, effectiveFrom: day(monthStart(-1)), kind: "allocation", actorType: "system" } });
  await prisma.simRatePlanAssignment.delete({ where: { simId_effectiveFrom: { simId: second!.id, effectiveFrom: day(today()) } } });
  await prisma.simRatePlanAssignment.create({ data: { simId: second!.id, tenantId: a.id, ratePlanId: p1.id, effectiveFrom: day(monthStart(1)), kind: "next_period", actorType: "system" } });
  const op = await prisma.operation.create({ data: { tenantId: a.id, action: "change_rate_plan", params: { ratePlanId: p2.id }, reasonCode: "bulk", total: 2, actorType: "system", actorId: "test" } });
  await prisma.$transaction((tx) =>
    applyRatePlan(tx, { tenantId: a.id, operationId: op.id, reasonCode: "bulk", actorType: "system", actorId: "test" }, p2.id, [
      { id: first!.id, from: p1.id },
      { id: second!.id, from: p1.id },
    ]),
  );
  t.same(await rows(prisma, first!.id), [[today(), p2.id, "allocation"]]);
  t.same(await rows(prisma, second!.id), [[monthStart(-1), p1.id, "allocation"], [today(), p2.id, "immediate"]]);
  t.equal(await applyRatePlanChanges(prisma), 0, "the job agrees: nothing to move back");
});
