import t from "tap";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { build, type TestApp } from "../helpers/build.js";
import { createRatePlan, createSim, createTenant } from "../helpers/factories.js";
import { numbers, signedIn } from "./helpers.js";

/** `n` inventory SIMs of the platform, imported one second apart (oldest first), from index `from`. */
async function stock(prisma: PrismaClient, platformId: string, block: number, n: number, opts: { from?: number; formFactor?: "ff4" | "esim" } = {}) {
  const base = Date.now() - 3600_000;
  const from = opts.from ?? 1;
  const rows = Array.from({ length: n }, (_, k) => {
    const num = numbers(block, from + k);
    return { tenantId: platformId, iccid: num.iccid, imsi: num.imsi, msisdn: num.msisdn, formFactor: opts.formFactor ?? ("ff4" as const), status: "inventory" as const, createdAt: new Date(base + (from + k) * 1000) };
  });
  await prisma.sim.createMany({ data: rows });
  return rows.map((r) => r.iccid);
}

async function world(ctx: TestApp) {
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const customer = await createTenant(ctx.prisma);
  const plan = await createRatePlan(ctx.prisma, { code: "IOT-EU-1GB" });
  const staff = await signedIn(ctx, platform.id, "operator");
  return { platform, customer, plan, staff };
}

t.test("allocating listed SIMs moves them to the customer, in test state, with history and audit on both sides", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, customer, plan, staff } = await world(ctx);
  const iccids = await stock(prisma, platform.id, 1, 5);
  await prisma.simEvent.create({ data: { tenantId: platform.id, simId: (await prisma.sim.findUniqueOrThrow({ where: { iccid: iccids[0]! } })).id, kind: "imported", toStatus: "inventory", billingEffect: "none", actorType: "system", actorId: "test" } });
  await prisma.webhookEndpoint.create({ data: { tenantId: customer.id, url: "https://hooks.example.com/conekt", events: ["sim.state_changed"], secretEncrypted: "sealed" } });

  const chosen = [iccids[3]!, iccids[1]!, iccids[3]!];
  const res = await staff.post("/v1/inventory/sims/allocate", { tenantId: customer.id, ratePlanId: plan.id, iccids: chosen });
  t.equal(res.status, 200, res.body);
  t.same(res.json, { allocated: 2, tenantId: customer.id, ratePlanId: plan.id, iccids: [iccids[1], iccids[3]] }, "duplicates count once; ICCIDs in order");

  const moved = await prisma.sim.findMany({ where: { iccid: { in: [iccids[1]!, iccids[3]!] } } });
  for (const s of moved) t.match(s, { tenantId: customer.id, ratePlanId: plan.id, status: "ready", statusReason: "allocated" });
  t.ok(moved.every((s) => Date.now() - s.statusChangedAt.getTime() < 60_000), "status changed now");
  t.equal(await prisma.sim.count({ where: { tenantId: platform.id, status: "inventory" } }), 3, "the others stay in inventory");

  const events = await prisma.simEvent.findMany({ where: { simId: moved[0]!.id, tenantId: customer.id } });
  t.same(events.map((e) => e.kind).sort(), ["allocated", "state_changed"]);
  t.match(events.find((e) => e.kind === "state_changed"), { fromStatus: "inventory", toStatus: "ready", reasonCode: "allocated", billingEffect: "test", actorType: "user" });

  for (const tenantId of [platform.id, customer.id]) {
    const audit = await prisma.auditEvent.findMany({ where: { tenantId, action: "sims.allocated" } });
    t.equal(audit.length, 1, `one audit event in ${tenantId === platform.id ? "the platform's" : "the customer's"} chain`);
    t.match(audit[0]!.data, { tenantId: customer.id, ratePlanId: plan.id, count: 2, by: "iccids" });
  }
  t.equal(await prisma.webhookDelivery.count({ where: { tenantId: customer.id, eventType: "sim.state_changed" } }), 2, "a sim.state_changed webhook per SIM");

  // The customer now sees them, with the history of its own ownership only.
  const owner = await signedIn(ctx, customer.id, "owner");
  const list = await owner.get("/v1/sims?status=ready");
  t.same(list.json.items.map((s: { iccid: string }) => s.iccid), [iccids[1], iccids[3]]);
  t.match(list.json.items[0], { ratePlan: { id: plan.id, code: "IOT-EU-1GB" }, status: "ready", statusReason: "allocated" });
  const history = await owner.get(`/v1/sims/${iccids[1]}/events`);
  t.same(history.json.items.map((e: { kind: string }) => e.kind).sort(), ["allocated", "state_changed"]);

  // Allocated SIMs are not inventory any more: allocating them again is refused, naming them.
  const again = await staff.post("/v1/inventory/sims/allocate", { tenantId: customer.id, ratePlanId: plan.id, iccids: [iccids[0], iccids[1]] });
  t.equal(again.status, 409);
  t.equal(again.json.code, "sims_not_allocatable");
  t.same(again.json.iccids, [iccids[1]]);
  t.equal(again.json.count, 1);
  t.equal((await prisma.sim.findUniqueOrThrow({ where: { iccid: iccids[0]! } })).status, "inventory", "all or nothing: the good one did not move");
});

t.test("unknown, foreign and busy ICCIDs refuse the whole allocation", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, customer, plan, staff } = await world(ctx);
  const [free, busy] = await stock(prisma, platform.id, 2, 2);
  await prisma.sim.update({ where: { iccid: busy! }, data: { pendingOperationId: "01900000-0000-7000-8000-000000000001", pendingAction: "activate" } });
  const foreign = await createSim(prisma, { tenantId: customer.id, status: "active" });
  const unknown = numbers(2, 99).iccid;
  const res = await staff.post("/v1/inventory/sims/allocate", { tenantId: customer.id, ratePlanId: plan.id, iccids: [free, busy, foreign.iccid, unknown] });
  t.equal(res.status, 409);
  t.same(res.json.iccids, [busy, foreign.iccid, unknown].sort());
  t.equal(res.json.count, 3);
  t.equal((await prisma.sim.findUniqueOrThrow({ where: { iccid: free! } })).tenantId, platform.id);
  t.equal(await prisma.simEvent.count(), 0);
  t.equal(await prisma.auditEvent.count({ where: { action: "sims.allocated" } }), 0);
});

t.test("allocating by count takes the oldest free inventory, by form factor if asked", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, customer, plan, staff } = await world(ctx);
  const plastic = await stock(prisma, platform.id, 3, 6);
  const esims = await stock(prisma, platform.id, 3, 3, { from: 50, formFactor: "esim" });

  const res = await staff.post("/v1/inventory/sims/allocate", { tenantId: customer.id, ratePlanId: plan.id, count: 4 });
  t.equal(res.status, 200, res.body);
  t.same(res.json.iccids, plastic.slice(0, 4), "the four oldest");
  const e = await staff.post("/v1/inventory/sims/allocate", { tenantId: customer.id, ratePlanId: plan.id, count: 2, formFactor: "esim" });
  t.same(e.json.iccids, esims.slice(0, 2));

  const short = await staff.post("/v1/inventory/sims/allocate", { tenantId: customer.id, ratePlanId: plan.id, count: 2, formFactor: "esim" });
  t.equal(short.status, 409);
  t.match(short.json, { code: "insufficient_inventory", requested: 2, available: 1 });
  t.equal(await prisma.sim.count({ where: { tenantId: platform.id } }), 3, "nothing moved");
});

t.test("concurrent allocations never hand out the same SIM twice", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, customer, plan, staff } = await world(ctx);
  const other = await createTenant(prisma);
  const second = await signedIn(ctx, platform.id, "admin");
  await stock(prisma, platform.id, 4, 50);

  const [r1, r2] = await Promise.all([
    staff.post("/v1/inventory/sims/allocate", { tenantId: customer.id, ratePlanId: plan.id, count: 20 }),
    second.post("/v1/inventory/sims/allocate", { tenantId: other.id, ratePlanId: plan.id, count: 20 }),
  ]);
  t.equal(r1.status, 200, r1.body);
  t.equal(r2.status, 200, r2.body);
  const all = [...r1.json.iccids, ...r2.json.iccids];
  t.equal(new Set(all).size, 40, "40 distinct SIMs");
  t.equal(await prisma.sim.count({ where: { tenantId: customer.id } }), 20);
  t.equal(await prisma.sim.count({ where: { tenantId: other.id } }), 20);

  // 10 left, two ask for 8 at once: exactly one gets them; the other is refused and changes nothing.
  const [r3, r4] = await Promise.all([
    staff.post("/v1/inventory/sims/allocate", { tenantId: customer.id, ratePlanId: plan.id, count: 8 }),
    second.post("/v1/inventory/sims/allocate", { tenantId: other.id, ratePlanId: plan.id, count: 8 }),
  ]);
  t.same([r3.status, r4.status].sort(), [200, 409]);
  t.equal(await prisma.sim.count({ where: { tenantId: platform.id } }), 2);
  t.equal(await prisma.simEvent.count({ where: { kind: "allocated" } }), 48, "one allocated row per SIM moved");
});

t.test("the target, the plan and the request are checked", async (t) => {
  const ctx = await build(t);
  const { prisma } = ctx;
  const { platform, customer, plan, staff } = await world(ctx);
  const [iccid] = await stock(prisma, platform.id, 5, 2);
  const suspended = await createTenant(prisma, { status: "suspended" });
  const retired = await prisma.ratePlan.create({ data: { code: "OLD-PLAN", name: "Old", currency: "EUR", status: "retired" } });
  const post = (body: object) => staff.post("/v1/inventory/sims/allocate", body);
  const base = { tenantId: customer.id, ratePlanId: plan.id };

  const cases: Array<[object, number, string, string?]> = [
    [{ ...base, iccids: [iccid], count: 1 }, 400, "validation_failed", "/body/iccids"],
    [{ ...base }, 400, "validation_failed", "/body/count"],
    [{ ...base, iccids: [iccid], formFactor: "esim" }, 400, "validation_failed", "/body/formFactor"],
    [{ ...base, iccids: ["8944"] }, 400, "validation_failed", "/body/iccids/0"],
    [{ ...base, count: 0 }, 400, "validation_failed", "/body/count"],
    [{ ...base, count: 100_001 }, 400, "validation_failed", "/body/count"],
    [{ ...base, tenantId: "01900000-0000-7000-8000-00000000dead", count: 1 }, 404, "not_found"],
    [{ ...base, tenantId: platform.id, count: 1 }, 409, "tenant_not_allocatable"],
    [{ ...base, tenantId: suspended.id, count: 1 }, 409, "tenant_not_allocatable"],
    [{ ...base, ratePlanId: "01900000-0000-7000-8000-00000000dead", count: 1 }, 404, "not_found"],
    [{ ...base, ratePlanId: retired.id, count: 1 }, 409, "rate_plan_retired"],
  ];
  for (const [body, status, code, field] of cases) {
    const res = await post(body);
    t.equal(res.status, status, `${JSON.stringify(body).slice(0, 90)}: ${res.body.slice(0, 200)}`);
    t.equal(res.json.code, code);
    if (field) t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `names ${field}`);
  }
  t.equal(await prisma.sim.count({ where: { tenantId: platform.id } }), 2, "nothing moved");

  for (const role of ["billing", "viewer"] as const) {
    t.equal((await (await signedIn(ctx, platform.id, role)).post("/v1/inventory/sims/allocate", { ...base, count: 1 })).status, 403, `platform ${role}`);
  }
  for (const role of ["owner", "admin", "operator"] as const) {
    t.equal((await (await signedIn(ctx, customer.id, role)).post("/v1/inventory/sims/allocate", { ...base, count: 1 })).status, 403, `customer ${role} cannot allocate to itself`);
  }
  t.equal(await prisma.sim.count({ where: { tenantId: platform.id } }), 2);
});
