import t from "tap";
import { checkImeiObservations, type ImeiObservation } from "../../src/modules/devices/imei-check.js";
import { makeIccid } from "../../src/platform/identifiers.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";
import { createSimUnique, imeiEvents, imeiOf } from "./helpers.js";

/** `n` active SIMs of a tenant, in one statement. */
async function bulkSims(prisma: PrismaClient, tenantId: string, n: number): Promise<string[]> {
  const base = `${process.pid % 10000}`.padStart(4, "0");
  const data = Array.from({ length: n }, (_, i) => {
    const serial = `${base}${`${i}`.padStart(6, "0")}`;
    return { tenantId, iccid: makeIccid(`8949018${serial}0`), imsi: `26203${serial}`, formFactor: "ff4" as const, status: "active" as const };
  });
  await prisma.sim.createMany({ data });
  return (await prisma.sim.findMany({ where: { tenantId }, select: { id: true }, orderBy: { iccid: "asc" } })).map((s) => s.id);
}

const check = (prisma: PrismaClient, obs: ImeiObservation[]) => prisma.$transaction((tx) => checkImeiObservations(tx, obs), { timeout: 60_000 });

t.test("observations are taken in time order; late ones only feed the inventory", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: tenant.id });
  const [x, y, z] = [imeiOf(), imeiOf(), imeiOf()];
  const at = (m: number) => new Date(Date.UTC(2026, 10, 22, 10, m));
  const obs = (imei: string, m: number, network = "262-01"): ImeiObservation => ({ tenantId: tenant.id, simId: sim.id, imei, network, at: at(m), source: "usage" });

  // Out of order in the batch: sorted by time before they are compared.
  await check(ctx.prisma, [obs(y, 20, "262-02"), obs(x, 10), obs(x, 15)]);
  t.same((await imeiEvents(ctx.prisma, sim.id)).map((e) => [e.kind, e.imei, e.previousImei, e.source]), [
    ["first_seen", x, null, "usage"],
    ["changed", y, x, "usage"],
  ]);
  t.match(await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } }), { lastSeenImei: y, lastSeenAt: at(20), lastNetwork: "262-02" });

  // A record from before the last sighting, in another device: stored in the inventory, the SIM unchanged.
  await check(ctx.prisma, [obs(z, 5)]);
  t.equal((await imeiEvents(ctx.prisma, sim.id)).length, 2, "no event");
  t.match(await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } }), { lastSeenImei: y, lastSeenAt: at(20) });
  t.match(await ctx.prisma.device.findUniqueOrThrow({ where: { tenantId_imei: { tenantId: tenant.id, imei: z } } }), { firstSeenAt: at(5), lastSeenAt: at(5), lastSimId: sim.id, tac: z.slice(0, 8) });
  // The same device later and earlier than its sightings so far: first and last widen.
  await check(ctx.prisma, [obs(x, 1), obs(x, 30)]);
  t.match(await ctx.prisma.device.findUniqueOrThrow({ where: { tenantId_imei: { tenantId: tenant.id, imei: x } } }), { firstSeenAt: at(1), lastSeenAt: at(30) });
  t.same((await imeiEvents(ctx.prisma, sim.id)).map((e) => e.kind), ["first_seen", "changed", "changed"], "x again at 10:30 is a change back");
});

t.test("two batches seeing the same change at once record it once", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: tenant.id });
  const [x, y] = [imeiOf(), imeiOf()];
  await check(ctx.prisma, [{ tenantId: tenant.id, simId: sim.id, imei: x, at: new Date(Date.now() - 60_000), source: "usage" }]);
  const seen: ImeiObservation = { tenantId: tenant.id, simId: sim.id, imei: y, at: new Date(), source: "network_event" };
  await Promise.all([check(ctx.prisma, [seen]), check(ctx.prisma, [seen]), check(ctx.prisma, [seen])]);
  t.same((await imeiEvents(ctx.prisma, sim.id)).map((e) => e.kind), ["first_seen", "changed"]);
});

t.test("a large batch costs a few statements, not one per record", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const simIds = await bulkSims(ctx.prisma, tenant.id, 2000);
  const devices = simIds.map(() => imeiOf());
  const start = Date.UTC(2026, 10, 22, 8, 0);
  // First sighting of every SIM, then 10 records a SIM in the same device, a tenth of the SIMs changing device.
  await check(ctx.prisma, simIds.map((simId, i) => ({ tenantId: tenant.id, simId, imei: devices[i]!, at: new Date(start), source: "usage" as const })));
  const batch: ImeiObservation[] = [];
  for (let r = 1; r <= 10; r++) {
    for (const [i, simId] of simIds.entries()) {
      const changed = i % 10 === 0 && r === 10;
      batch.push({ tenantId: tenant.id, simId, imei: changed ? imeiOf("86000002") : devices[i]!, network: "262-01", at: new Date(start + r * 60_000), source: "usage" });
    }
  }
  const began = process.hrtime.bigint();
  const followUp = await check(ctx.prisma, batch);
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  t.comment(`IMEI check: ${batch.length} usage records of ${simIds.length} SIMs (200 changing device) in ${ms.toFixed(0)} ms (${Math.round(batch.length / (ms / 1000))} records/s)`);
  t.same(followUp, { operationIds: [], deliveryIds: [] });
  t.equal(await ctx.prisma.imeiEvent.count({ where: { tenantId: tenant.id, kind: "changed" } }), 200);
  t.equal(await ctx.prisma.imeiEvent.count({ where: { tenantId: tenant.id, kind: "first_seen" } }), 2000);
  t.equal(await ctx.prisma.device.count({ where: { tenantId: tenant.id } }), 2200);
  t.equal(await ctx.prisma.sim.count({ where: { tenantId: tenant.id, lastSeenAt: new Date(start + 10 * 60_000) } }), 2000, "every SIM's last sighting moved");
});
