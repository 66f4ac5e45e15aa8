import t from "tap";
import { PLATFORM_ROLE_SCOPES, ROLE_SCOPES } from "../../src/modules/access/scopes.js";
import { makeIccid } from "../../src/platform/identifiers.js";
import { build } from "../helpers/build.js";
import { createWorld } from "../helpers/factories.js";
import { attach, badLuhn, createSimUnique, eventId, feed, imeiEvents, imeiOf, imeisvOf, keyClient, minutesAgo, networkFeed } from "../devices/helpers.js";

t.test("only platform keys with network:write may feed network events", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const events = [attach(sim.iccid, imeiOf(), minutesAgo(1))];

  const customerKey = await keyClient(ctx, w.tenantA.id, [...ROLE_SCOPES.owner]);
  const res = await feed(customerKey, events);
  t.equal(res.status, 403, "a customer key, even with every scope");
  const platformWithoutScope = await keyClient(ctx, w.platform.id, PLATFORM_ROLE_SCOPES.owner.filter((s) => s !== "network:write"));
  t.equal((await feed(platformWithoutScope, events)).status, 403, "a platform key without network:write");
  for (const user of [w.usersA.owner, w.staff.owner]) {
    const c = ctx.client();
    await c.login(user.email, user.password);
    t.equal((await feed(c, events)).status, 403, "people do not feed the network events");
  }
  t.equal((await ctx.client().post("/v1/network-events", { events })).status, 401);
  t.equal(await ctx.prisma.networkEvent.count(), 0, "nothing stored");

  const feeder = await networkFeed(ctx, w.platform.id);
  t.match((await feed(feeder, events)).json, { accepted: 1, duplicates: 0, rejected: 0 });
  const stored = await ctx.prisma.networkEvent.findFirstOrThrow();
  t.match(stored, { tenantId: w.tenantA.id, simId: sim.id, kind: "attach", network: "262-01" }, "the event belongs to the SIM's tenant");
  const audit = await ctx.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.platform.id, action: "network_events.ingested" } });
  t.match(audit, { actorType: "api_key", data: { accepted: 1, duplicates: 0, rejected: 0 } });
});

t.test("a resent event is a duplicate and changes nothing", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const feeder = await networkFeed(ctx, w.platform.id);
  const [first, second] = [imeiOf(), imeiOf()];
  const batch = [attach(sim.iccid, first, minutesAgo(10)), attach(sim.iccid, second, minutesAgo(5))];

  t.same((await feed(feeder, batch)).json, { accepted: 2, duplicates: 0, rejected: 0, errors: [] });
  const before = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
  const eventsBefore = await imeiEvents(ctx.prisma, sim.id);

  t.same((await feed(feeder, batch)).json, { accepted: 0, duplicates: 2, rejected: 0, errors: [] }, "the whole batch again");
  // Same id with other content (a later time, another device): still the same event.
  const replayed = { ...batch[0]!, imei: imeiOf(), occurredAt: new Date().toISOString() };
  const fresh = attach(sim.iccid, second, minutesAgo(1));
  t.same((await feed(feeder, [replayed, fresh, fresh])).json, { accepted: 1, duplicates: 2, rejected: 0, errors: [] }, "twice in one batch counts once");

  t.equal(await ctx.prisma.networkEvent.count(), 3);
  t.same((await imeiEvents(ctx.prisma, sim.id)).map((e) => e.id), eventsBefore.map((e) => e.id), "no IMEI event from duplicates");
  const after = await ctx.prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
  t.equal(after.lastSeenImei, before.lastSeenImei, "the replayed device was not taken");
  t.ok(after.lastSeenAt! > before.lastSeenAt!, "the fresh event moved the last sighting");
});

t.test("a mixed batch keeps the good events and reports each bad one", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const simA = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const simB = await createSimUnique(ctx.prisma, { tenantId: w.tenantB.id });
  const feeder = await networkFeed(ctx, w.platform.id);
  const imei = imeiOf();
  const at = minutesAgo(1).toISOString();

  const events = [
    /* 0 */ attach(simA.iccid, imei, minutesAgo(3)),
    /* 1 */ { eventId: eventId(), type: "location_update", imsi: simB.imsi, imeisv: imeisvOf(imei), network: "26202", occurredAt: at },
    /* 2 */ attach(simA.iccid, badLuhn(imei), minutesAgo(2)),
    /* 3 */ attach(makeIccid("894901999999999999"), imei, minutesAgo(2)),
    /* 4 */ { eventId: eventId(), type: "handover", iccid: simA.iccid, occurredAt: at },
    /* 5 */ { eventId: eventId(), type: "attach", iccid: simA.iccid, imsi: simA.imsi, occurredAt: at },
    /* 6 */ { eventId: eventId(), type: "detach", iccid: simA.iccid, network: "999-01", occurredAt: at },
    /* 7 */ { eventId: eventId(), type: "detach", iccid: simA.iccid, occurredAt: new Date(Date.now() + 3600_000).toISOString() },
    /* 8 */ { eventId: eventId(), type: "detach", iccid: simA.iccid, occurredAt: "2026-11-22 10:00" },
    /* 9 */ { type: "detach", iccid: simA.iccid, occurredAt: at },
    /* 10 */ { eventId: eventId(), type: "attach", iccid: simA.iccid, imeisv: imei, occurredAt: at },
    /* 11 */ { eventId: eventId(), type: "detach", iccid: "8949-0100", occurredAt: at },
    /* 12 */ { eventId: "with space", type: "detach", iccid: simA.iccid, occurredAt: at },
    /* 13 */ { eventId: eventId(), type: "detach", iccid: simA.iccid, occurredAt: at },
  ];
  const res = await feed(feeder, events);
  t.equal(res.status, 200);
  t.match(res.json, { accepted: 3, duplicates: 0, rejected: 11 });
  t.same(
    res.json.errors.map((e: { index: number; field: string; code: string }) => [e.index, e.field, e.code]),
    [
      [2, "/body/events/2/imei", "invalid_value"],
      [3, "/body/events/3/iccid", "sim_not_found"],
      [4, "/body/events/4/type", "invalid_value"],
      [5, "/body/events/5/imsi", "conflicting_fields"],
      [6, "/body/events/6/network", "invalid_value"],
      [7, "/body/events/7/occurredAt", "invalid_value"],
      [8, "/body/events/8/occurredAt", "invalid_value"],
      [9, "/body/events/9/eventId", "missing_field"],
      [10, "/body/events/10/imeisv", "invalid_value"],
      [11, "/body/events/11/iccid", "invalid_value"],
      [12, "/body/events/12/eventId", "invalid_value"],
    ],
  );
  t.match(res.json.errors[0], { eventId: events[2]!.eventId, reason: /Luhn/ });
  t.match(res.json.errors[4], { reason: /MCC 999/ });
  t.match(res.json.errors[5], { reason: /in the future/ });
  t.match(res.json.errors[8], { reason: /IMEISV must be 16 digits, got 15/ });
  t.equal(res.json.errors[7].eventId, null);

  // The good ones: by ICCID, by IMSI with an IMEISV (normalised), and one without a device.
  const stored = await ctx.prisma.networkEvent.findMany({ orderBy: { occurredAt: "asc" } });
  t.same(stored.map((e) => e.eventId).sort(), [events[0]!.eventId, events[1]!.eventId, events[13]!.eventId].sort());
  const viaImsi = stored.find((e) => e.eventId === events[1]!.eventId)!;
  t.match(viaImsi, { tenantId: w.tenantB.id, simId: simB.id, kind: "location_update", imei, network: "262-02" });
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: simB.id } })).lastSeenImei, imei, "the IMEISV went through the IMEI check as its IMEI");
  t.same(
    (await ctx.prisma.device.findMany({ orderBy: { tenantId: "asc" } })).map((d) => [d.tenantId, d.imei, d.tac]).sort(),
    [
      [w.tenantA.id, imei, imei.slice(0, 8)],
      [w.tenantB.id, imei, imei.slice(0, 8)],
    ].sort(),
    "one device per tenant that saw it",
  );
});

t.test("batch bounds are checked as a whole", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const feeder = await networkFeed(ctx, w.platform.id);
  const one = () => ({ eventId: eventId(), type: "detach", iccid: sim.iccid, occurredAt: minutesAgo(1).toISOString() });
  const tooMany = await feed(feeder, Array.from({ length: 1001 }, one));
  t.equal(tooMany.status, 400);
  t.match(tooMany.json.errors, [{ field: "/body/events", reason: /1000/ }]);
  t.equal((await feed(feeder, [])).status, 400);
  const unknownField = await feed(feeder, [{ ...one(), colour: "red" }]);
  t.equal(unknownField.status, 400);
  t.match(unknownField.json.errors, [{ field: "/body/events/0/colour", reason: "is not an allowed property" }]);
  t.equal((await feed(feeder, [{ ...one(), eventId: "x".repeat(300) }])).status, 400, "over the schema's bound");
  t.equal(await ctx.prisma.networkEvent.count(), 0);

  // A full batch of 1000 goes through in one request.
  const full = Array.from({ length: 1000 }, (_, i) => attach(sim.iccid, imeiOf(), new Date(Date.now() - (1000 - i) * 1000)));
  const started = Date.now();
  const res = await feed(feeder, full);
  t.match(res.json, { accepted: 1000, duplicates: 0, rejected: 0 });
  t.comment(`1000 network events, each with a new IMEI for one SIM: ${Date.now() - started} ms`);
  t.equal((await imeiEvents(ctx.prisma, sim.id)).length, 1000, "first_seen, then 999 changes");
});
