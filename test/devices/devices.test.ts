import t from "tap";
import { build } from "../helpers/build.js";
import type { Reply } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";
import { attach, badLuhn, createSimUnique, feed, imeiOf, imeisvOf, keyClient, minutesAgo, networkFeed } from "./helpers.js";

t.test("the device inventory: list with filters and cursor, one device with its current SIM", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const [sim1, sim2] = [await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id }), await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id })];
  const simB = await createSimUnique(ctx.prisma, { tenantId: w.tenantB.id });
  const feeder = await networkFeed(ctx, w.platform.id);
  const modemA = Array.from({ length: 4 }, () => imeiOf("35345678"));
  const modemB = imeiOf("86000001");
  const onlyB = imeiOf("49015420");
  // sim1 goes through modemA[0..3], then modemB; sim2 ends in modemA[0] (which sim1 left long ago).
  const modemBSeen = minutesAgo(60);
  await feed(feeder, [...modemA.map((imei, i) => attach(sim1.iccid, imei, minutesAgo(120 - i))), attach(sim1.iccid, modemB, modemBSeen), attach(sim2.iccid, modemA[0]!, minutesAgo(30))]);
  await feed(feeder, [attach(simB.iccid, onlyB, minutesAgo(10))]);

  const viewer = ctx.client();
  await viewer.login(w.usersA.viewer.email, w.usersA.viewer.password);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await viewer.get(`/v1/devices?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    t.equal(res.status, 200);
    seen.push(...res.json.items.map((d: { imei: string }) => d.imei));
    cursor = res.json.nextCursor;
  } while (cursor);
  t.same(seen, [...modemA, modemB].sort(), "every device of the tenant once, in IMEI order; none of B's");

  t.same((await viewer.get("/v1/devices?tac=86000001")).json.items.map((d: { imei: string }) => d.imei), [modemB]);
  t.same((await viewer.get(`/v1/devices?q=${modemA[2]!.slice(0, 14)}`)).json.items.map((d: { imei: string }) => d.imei), [modemA[2]]);
  const since = encodeURIComponent(minutesAgo(90).toISOString());
  t.same((await viewer.get(`/v1/devices?seenSince=${since}`)).json.items.map((d: { imei: string }) => d.imei).sort(), [modemA[0], modemB].sort());
  t.equal((await viewer.get("/v1/devices?tac=3534")).status, 400);
  t.equal((await viewer.get("/v1/devices?cursor=bm90LWEtY3Vyc29y")).status, 400);
  const forged = Buffer.from(JSON.stringify({ tenantId: "x", imei: "1" })).toString("base64url");
  t.equal((await viewer.get(`/v1/devices?cursor=${forged}`)).status, 400, "a hand-made cursor is refused, not a server error");

  const current = await viewer.get(`/v1/devices/${modemB}`);
  t.match(current.json, { imei: modemB, tac: "86000001", tenantId: w.tenantA.id, currentIccid: sim1.iccid });
  t.match(current.json, { firstSeenAt: modemBSeen.toISOString(), lastSeenAt: modemBSeen.toISOString() });
  const moved = await viewer.get(`/v1/devices/${modemA[0]}`);
  t.equal(moved.json.currentIccid, sim2.iccid, "the SIM it is in now");
  t.ok(new Date(moved.json.firstSeenAt) < new Date(moved.json.lastSeenAt), "first and last sightings");
  t.equal((await viewer.get(`/v1/devices/${modemA[1]}`)).json.currentIccid, null, "left behind: no SIM reports it any more");
  t.equal((await viewer.get(`/v1/devices/${imeisvOf(modemB)}`)).json.imei, modemB, "an IMEISV finds its IMEI");
  const bad = await viewer.get(`/v1/devices/${badLuhn(modemB)}`);
  t.equal(bad.status, 400);
  t.match(bad.json.errors, [{ field: "/params/imei", reason: /Luhn/ }]);
  t.equal((await viewer.get(`/v1/devices/${onlyB}`)).status, 404, "another tenant's device is not found");

  // Platform staff see every tenant's devices; billing contacts see none.
  const staff = ctx.client();
  await staff.login(w.staff.viewer.email, w.staff.viewer.password);
  t.equal((await staff.get(`/v1/devices/${onlyB}`)).json.tenantId, w.tenantB.id);
  t.equal((await staff.get("/v1/devices?limit=100")).json.items.length, 6);
  const billing = ctx.client();
  await billing.login(w.usersA.billing.email, w.usersA.billing.password);
  t.equal((await billing.get("/v1/devices")).status, 403);
  t.equal((await billing.get(`/v1/devices/${modemB}`)).status, 403);
  const bKey = await keyClient(ctx, w.tenantB.id, ["sims:read"]);
  t.same((await bKey.get("/v1/devices")).json.items.map((d: { imei: string }) => d.imei), [onlyB], "a key sees its own tenant's");
});

t.test("a SIM's IMEI events, newest first, page by page", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const feeder = await networkFeed(ctx, w.platform.id);
  const devices = Array.from({ length: 5 }, () => imeiOf());
  // The same time twice: the id breaks the tie, and the cursor keeps both.
  const at = minutesAgo(30);
  await feed(feeder, [attach(sim.iccid, devices[0]!, minutesAgo(50)), attach(sim.iccid, devices[1]!, minutesAgo(40)), attach(sim.iccid, devices[2]!, at), attach(sim.iccid, devices[3]!, at), attach(sim.iccid, devices[4]!, minutesAgo(20))]);

  const key = await keyClient(ctx, w.tenantA.id, ["sims:read"]);
  const items: Array<{ imei: string; kind: string; at: string; previousImei: string | null; source: string }> = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await key.get(`/v1/sims/${sim.iccid}/imei-events?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    t.equal(res.status, 200);
    items.push(...res.json.items);
    cursor = res.json.nextCursor;
  } while (cursor);
  t.equal(items.length, 5);
  t.same(items.map((e) => e.kind), ["changed", "changed", "changed", "changed", "first_seen"]);
  t.equal(items[0]!.imei, devices[4]);
  t.equal(items[4]!.imei, devices[0]);
  t.same(new Set(items.map((e) => e.imei)).size, 5, "each event once");
  t.match(items[0], { source: "network_event", previousImei: devices[3] });
  const forged = Buffer.from(JSON.stringify({ at: "yesterday", id: "1" })).toString("base64url");
  t.equal((await key.get(`/v1/sims/${sim.iccid}/imei-events?cursor=${forged}`)).status, 400);
});
