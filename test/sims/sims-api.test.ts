import t from "tap";
import type { SimStatus } from "../../src/generated/prisma/enums.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { makeImei } from "../../src/platform/identifiers.js";
import { build } from "../helpers/build.js";
import type { Client, Reply } from "../helpers/client.js";
import { createRatePlan, createTenant } from "../helpers/factories.js";
import { numbers, signedIn } from "./helpers.js";

async function sim(prisma: PrismaClient, tenantId: string, block: number, i: number, extra: Partial<{ status: SimStatus; labels: string[]; ratePlanId: string; formFactor: "ff4" | "mff2" | "esim"; boundImei: string; lastSeenImei: string; dataLimitBytes: bigint }> = {}) {
  const n = numbers(block, i);
  return prisma.sim.create({ data: { tenantId, iccid: n.iccid, imsi: n.imsi, msisdn: n.msisdn, formFactor: extra.formFactor ?? "ff4", status: extra.status ?? "active", ...extra } });
}

const iccidsOf = (res: Reply) => res.json.items.map((s: { iccid: string }) => s.iccid);

async function all(client: Client, url: string, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await client.get(`${url}${url.includes("?") ? "&" : "?"}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    if (res.status !== 200) throw new Error(res.body);
    seen.push(...iccidsOf(res));
    cursor = res.json.nextCursor;
  } while (cursor);
  return seen;
}

t.test("listing filters by status, labels, plan, form factor and free search", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const a = await createTenant(prisma);
  const b = await createTenant(prisma);
  const plan = await createRatePlan(prisma);
  const imei = makeImei("35209900176148");
  const s1 = await sim(prisma, a.id, 1, 1, { status: "ready", labels: ["fleet:north", "truck"], ratePlanId: plan.id });
  const s2 = await sim(prisma, a.id, 1, 2, { status: "active", labels: ["fleet:north"], formFactor: "mff2", boundImei: imei });
  const s3 = await sim(prisma, a.id, 1, 3, { status: "suspended", labels: ["truck"], lastSeenImei: makeImei("49015420323751"), dataLimitBytes: 2n ** 60n });
  const other = await sim(prisma, b.id, 1, 4, { status: "ready", labels: ["fleet:north", "truck"] });
  const viewer = await signedIn(ctx, a.id, "viewer");

  const everything = await viewer.get("/v1/sims");
  t.equal(everything.status, 200);
  t.same(iccidsOf(everything), [s1.iccid, s2.iccid, s3.iccid], "the tenant's SIMs in ICCID order, never another tenant's");
  t.notOk(everything.body.includes(other.iccid));

  t.same(iccidsOf(await viewer.get("/v1/sims?status=ready&status=suspended")), [s1.iccid, s3.iccid], "status is repeatable (any of)");
  t.same(iccidsOf(await viewer.get("/v1/sims?status=active")), [s2.iccid]);
  t.same(iccidsOf(await viewer.get("/v1/sims?label=fleet:north&label=truck")), [s1.iccid], "labels: every one of them");
  t.same(iccidsOf(await viewer.get("/v1/sims?label=truck")), [s1.iccid, s3.iccid]);
  t.same(iccidsOf(await viewer.get(`/v1/sims?ratePlanId=${plan.id}`)), [s1.iccid]);
  t.same(iccidsOf(await viewer.get("/v1/sims?formFactor=mff2")), [s2.iccid]);
  t.same(iccidsOf(await viewer.get(`/v1/sims?q=${s2.iccid}`)), [s2.iccid], "q: exact ICCID");
  t.same(iccidsOf(await viewer.get(`/v1/sims?q=${s3.imsi}`)), [s3.iccid], "q: exact IMSI");
  await prisma.sim.update({ where: { id: s1.id }, data: { msisdn: "4915112345678" } });
  t.same(iccidsOf(await viewer.get("/v1/sims?q=491511234")), [s1.iccid], "q: MSISDN prefix");
  t.same(iccidsOf(await viewer.get(`/v1/sims?q=${imei.slice(0, 8)}`)), [s2.iccid], "q: bound IMEI prefix (TAC)");
  t.same(iccidsOf(await viewer.get(`/v1/sims?q=${s3.lastSeenImei}`)), [s3.iccid], "q: last-seen IMEI");
  t.same(iccidsOf(await viewer.get(`/v1/sims?q=${numbers(1, 1).iccid.slice(0, 10)}`)), [s1.iccid, s2.iccid, s3.iccid], "q: a common ICCID prefix");
  t.same(iccidsOf(await viewer.get("/v1/sims?q=999999")), []);

  const view = (await viewer.get(`/v1/sims/${s3.iccid}`)).json;
  t.equal(view.dataLimitBytes, (2n ** 60n).toString(), "a byte count past 2^53 is a string");
  t.same(view.imeiPolicy, { mode: "none", boundImei: null, onMismatch: "alert", allowList: [], repairUntil: null });

  for (const [url, field] of [
    ["/v1/sims?q=8944-01", "/query/q"],
    ["/v1/sims?status=lost", "/query/status/0"],
    ["/v1/sims?label=bad%20label", "/query/label/0"],
    ["/v1/sims?ratePlanId=nope", "/query/ratePlanId"],
    ["/v1/sims?limit=0", "/query/limit"],
    ["/v1/sims?cursor=bm9wZQ", "/query/cursor"],
  ] as const) {
    const res = await viewer.get(url);
    t.equal(res.status, 400, url);
    t.equal(res.json.errors[0].field, field, `${url} names ${field}`);
  }
});

t.test("pages stay correct while SIMs are added: none skipped, none repeated", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const a = await createTenant(prisma);
  // Existing SIMs at even indexes; new ones will land between them, before and after the cursor.
  const existing: string[] = [];
  for (let i = 20; i <= 200; i += 20) existing.push((await sim(prisma, a.id, 2, i)).iccid);
  const operator = await signedIn(ctx, a.id, "operator");

  const seen: string[] = [];
  let cursor: string | null = null;
  let page = 0;
  do {
    const res: Reply = await operator.get(`/v1/sims?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
    t.equal(res.status, 200);
    seen.push(...iccidsOf(res));
    cursor = res.json.nextCursor;
    // Between pages, new SIMs arrive: one sorting before the cursor (index 60p), one just after it, one last.
    page++;
    await sim(prisma, a.id, 2, page * 60 - 15);
    await sim(prisma, a.id, 2, page * 60 + 5);
    await sim(prisma, a.id, 2, 1000 + page);
  } while (cursor);
  t.same(seen.filter((i) => existing.includes(i)), existing, "every SIM that existed is seen once, in order");
  t.equal(new Set(seen).size, seen.length, "no SIM repeated");
  t.same(seen, [...seen].sort(), "ICCID order throughout");
  t.ok(seen.includes(numbers(2, 65).iccid), "a SIM added just after the cursor is on a later page");
  t.notOk(seen.includes(numbers(2, 45).iccid), "one added before the cursor is not (it sorts before pages already read)");
});

t.test("one SIM, its labels and name, and its history", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const a = await createTenant(prisma);
  const plan = await createRatePlan(prisma, { code: "IOT-1GB-EU", name: "IoT 1 GB EU" });
  const s = await sim(prisma, a.id, 3, 1, { status: "active", labels: ["old"], ratePlanId: plan.id });
  const operator = await signedIn(ctx, a.id, "operator");

  const got = await operator.get(`/v1/sims/${s.iccid}`);
  t.equal(got.status, 200);
  t.match(got.json, { iccid: s.iccid, imsi: s.imsi, msisdn: s.msisdn, status: "active", ratePlan: { id: plan.id, code: "IOT-1GB-EU", name: "IoT 1 GB EU" }, labels: ["old"], customName: null, pendingOperation: null, tenantId: a.id });
  t.notOk("id" in got.json || "pinEncrypted" in got.json);

  const changed = await operator.patch(`/v1/sims/${s.iccid}`, { labels: ["fleet:north", "v2.1"], customName: "Truck 17" });
  t.equal(changed.status, 200, changed.body);
  t.same(changed.json.labels, ["fleet:north", "v2.1"]);
  t.equal(changed.json.customName, "Truck 17");
  const cleared = await operator.patch(`/v1/sims/${s.iccid}`, { customName: null });
  t.equal(cleared.json.customName, null);
  t.same(cleared.json.labels, ["fleet:north", "v2.1"], "labels untouched when not given");
  const same = await operator.patch(`/v1/sims/${s.iccid}`, { labels: ["fleet:north", "v2.1"] });
  t.equal(same.status, 200);

  const events = await prisma.simEvent.findMany({ where: { simId: s.id }, orderBy: { at: "asc" } });
  t.equal(events.length, 2, "a change that changes nothing records nothing");
  t.same(events[0]!.data, { before: { labels: ["old"], customName: null }, after: { labels: ["fleet:north", "v2.1"], customName: "Truck 17" }, changed: ["labels", "customName"] });
  t.equal(events[0]!.kind, "labels_changed");
  t.equal(events[0]!.actorType, "user");
  const audit = await prisma.auditEvent.findMany({ where: { tenantId: a.id, action: "sim.updated" } });
  t.equal(audit.length, 2);
  t.equal(audit[0]!.targetId, s.iccid);

  for (const [body, field] of [
    [{ labels: ["has space"] }, "/body/labels/0"],
    [{ labels: ["x".repeat(65)] }, "/body/labels/0"],
    [{ labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }, "/body/labels"],
    [{ labels: ["a", "a"] }, "/body/labels"],
    [{ customName: "x".repeat(101) }, "/body/customName"],
    [{ customName: "   " }, "/body/customName"],
    [{ status: "active" }, "/body/status"],
    [{}, "/body"],
  ] as const) {
    const res = await operator.patch(`/v1/sims/${s.iccid}`, body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `${JSON.stringify(body).slice(0, 40)} names ${field}: ${JSON.stringify(res.json.errors)}`);
  }
  t.equal(await prisma.simEvent.count({ where: { simId: s.id } }), 2, "refused changes record nothing");

  t.equal((await operator.get("/v1/sims/12345")).status, 400, "an ICCID is 19-20 digits");
  const unknown = await operator.get(`/v1/sims/${numbers(3, 99).iccid}`);
  t.equal(unknown.status, 404);
  t.equal(unknown.json.code, "not_found");

  // History, newest first, paged, filtered by kind.
  await prisma.simEvent.create({ data: { tenantId: a.id, simId: s.id, kind: "state_changed", fromStatus: "ready", toStatus: "active", reasonCode: "test_threshold_reached", billingEffect: "billable", actorType: "system", actorId: "test-threshold", at: new Date(Date.now() + 1000) } });
  const history = await operator.get(`/v1/sims/${s.iccid}/events`);
  t.equal(history.status, 200);
  t.same(history.json.items.map((e: { kind: string }) => e.kind), ["state_changed", "labels_changed", "labels_changed"]);
  t.match(history.json.items[0], { fromStatus: "ready", toStatus: "active", reasonCode: "test_threshold_reached", billingEffect: "billable", actor: { type: "system", id: "test-threshold" }, operationId: null });
  const first = await operator.get(`/v1/sims/${s.iccid}/events?limit=2`);
  const rest = await operator.get(`/v1/sims/${s.iccid}/events?limit=2&cursor=${first.json.nextCursor}`);
  t.same([...first.json.items, ...rest.json.items].map((e: { id: string }) => e.id), history.json.items.map((e: { id: string }) => e.id), "pages join up");
  t.equal(rest.json.nextCursor, null);
  const onlyState = await operator.get(`/v1/sims/${s.iccid}/events?kind=state_changed`);
  t.same(onlyState.json.items.map((e: { kind: string }) => e.kind), ["state_changed"]);
  t.equal((await operator.get(`/v1/sims/${s.iccid}/events?kind=reborn`)).status, 400);
});

t.test("another tenant's SIM is not found; billing contacts and viewers are refused what their role lacks", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const platform = await createTenant(prisma, { kind: "platform" });
  const a = await createTenant(prisma);
  const b = await createTenant(prisma);
  const mine = await sim(prisma, a.id, 4, 1, { labels: ["keep"] });
  const theirs = await sim(prisma, b.id, 4, 2, { labels: ["keep"] });

  for (const role of ["owner", "admin", "operator", "viewer"] as const) {
    const c = await signedIn(ctx, a.id, role);
    for (const res of [await c.get(`/v1/sims/${theirs.iccid}`), await c.patch(`/v1/sims/${theirs.iccid}`, { labels: ["pwned"] }), await c.get(`/v1/sims/${theirs.iccid}/events`)]) {
      t.equal(res.status, 404, `${role}: another tenant's SIM is 404`);
    }
    t.notOk((await c.get("/v1/sims")).body.includes(theirs.iccid), `${role}: not listed`);
    const own = await c.get(`/v1/sims?tenantId=${a.id}`);
    t.equal(own.status, 200, `${role}: naming the own tenant is fine`);
    t.equal((await c.get(`/v1/sims?tenantId=${b.id}`)).status, 404, `${role}: naming another tenant is 404`);
  }
  const viewer = await signedIn(ctx, a.id, "viewer");
  t.equal((await viewer.patch(`/v1/sims/${mine.iccid}`, { labels: ["x"] })).status, 403, "viewers read but do not change");

  const billing = await signedIn(ctx, a.id, "billing");
  for (const res of [await billing.get("/v1/sims"), await billing.get(`/v1/sims/${mine.iccid}`), await billing.patch(`/v1/sims/${mine.iccid}`, { labels: ["x"] }), await billing.get(`/v1/sims/${mine.iccid}/events`)]) {
    t.equal(res.status, 403, "billing contacts do not see the fleet");
  }
  t.same((await prisma.sim.findUniqueOrThrow({ where: { id: theirs.id } })).labels, ["keep"]);
  t.same((await prisma.sim.findUniqueOrThrow({ where: { id: mine.id } })).labels, ["keep"]);

  // Platform staff read every tenant's fleet and may narrow it; they change only SIMs the platform owns.
  const staff = await signedIn(ctx, platform.id, "operator");
  t.same(iccidsOf(await staff.get("/v1/sims")), [mine.iccid, theirs.iccid].sort());
  t.same(iccidsOf(await staff.get(`/v1/sims?tenantId=${b.id}`)), [theirs.iccid]);
  t.equal((await staff.get("/v1/sims?tenantId=00000000-0000-7000-8000-000000000000")).status, 404, "an unknown tenant is 404");
  t.equal((await staff.get(`/v1/sims/${theirs.iccid}`)).status, 200);
  t.equal((await staff.patch(`/v1/sims/${theirs.iccid}`, { labels: ["x"] })).status, 403, "a customer's SIM is changed by its tenant");
  const stock = await sim(prisma, platform.id, 4, 5, { status: "inventory" });
  t.equal((await staff.patch(`/v1/sims/${stock.iccid}`, { customName: "Batch 7" })).status, 200, "staff label the platform's inventory");
  const staffBilling = await signedIn(ctx, platform.id, "billing");
  t.equal((await staffBilling.get("/v1/sims")).status, 403, "platform billing sees billing only");

  // API keys: sims:read lists; a key without it does not.
  const owner = await signedIn(ctx, a.id, "owner");
  const reader = (await owner.post("/v1/api-keys", { name: "reader", scopes: ["sims:read"] })).json.key as string;
  const other = (await owner.post("/v1/api-keys", { name: "tenant", scopes: ["tenant:read"] })).json.key as string;
  const readerClient = ctx.client();
  t.same(iccidsOf(await readerClient.request("GET", "/v1/sims", { headers: { authorization: `Bearer ${reader}` } })), [mine.iccid]);
  t.equal((await readerClient.request("GET", "/v1/sims", { headers: { authorization: `Bearer ${other}` } })).status, 403);
  t.equal((await readerClient.request("PATCH", `/v1/sims/${mine.iccid}`, { body: { labels: ["x"] }, headers: { authorization: `Bearer ${reader}` } })).status, 403, "sims:read does not write");
});
