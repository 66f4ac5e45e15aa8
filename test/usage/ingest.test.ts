import { Queue } from "bullmq";
import t from "tap";
import { makeIccid } from "../../src/platform/identifiers.js";
import { build } from "../helpers/build.js";
import { createRatePlan, createUser, createWorld } from "../helpers/factories.js";
import { createSimUnique, imeiOf, imeisvOf } from "../devices/helpers.js";
import { encode, ingest, ingestRecords, sourceId, toNdjson, usageFeed, usageRecord, usageTotals, type UsageMedia } from "./helpers.js";

const rejectionsOf = (json: { rejections: Array<{ index: number; field: string | null; code: string }> }) => json.rejections.map((r) => [r.index, r.field, r.code]);

t.test("a mixed batch keeps every good record and names every bad one", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const [a1, a2, a3] = [await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id }), await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id }), await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id })];
  const b1 = await createSimUnique(ctx.prisma, { tenantId: w.tenantB.id });
  // The tenant's own feed: its key sees only its SIMs.
  const feed = await usageFeed(ctx, w.tenantA.id);

  const earlier = usageRecord(a1.iccid);
  t.match((await ingestRecords(feed, [earlier])).json, { accepted: 1, duplicates: 0, rejected: 0 });

  const imei = imeiOf();
  const big = usageRecord(a1.iccid, { bytesUp: "9007199254740993", bytesDown: 5, smsMo: 2, smsMt: "3" });
  const records = [
    /* 0 */ big,
    /* 1 */ usageRecord(null, { imsi: a2.imsi, imeisv: imeisvOf(imei), network: "26201", radio: "LTE-M" }),
    /* 2 */ { ...earlier, bytesDown: 999_999 }, // stored before: a duplicate, whatever else it carries
    /* 3 */ { ...big }, // repeated in this batch: the first one counts
    /* 4 */ usageRecord(a1.iccid, { bytesUp: -5 }),
    /* 5 */ usageRecord(makeIccid("894977999999999999")),
    /* 6 */ usageRecord(b1.iccid), // another tenant's SIM: as unknown as one that does not exist
    /* 7 */ usageRecord(a1.iccid, { imsi: a2.imsi }),
    /* 8 */ usageRecord(null, { msisdn: `+${a3.msisdn}` }),
    /* 9 */ usageRecord(a3.iccid, { bytesDwn: 5 }),
    /* 10 */ usageRecord(a3.iccid, { imsi: b1.imsi }), // its ICCID is ours, its IMSI names no SIM of ours
  ];
  const res = await ingestRecords(feed, records);
  t.equal(res.status, 200);
  t.match(res.json, { accepted: 3, duplicates: 2, rejected: 6 });
  t.same(rejectionsOf(res.json), [
    [4, "bytesUp", "invalid_value"],
    [5, "iccid", "unknown_sim"],
    [6, "iccid", "unknown_sim"],
    [7, "imsi", "sim_mismatch"],
    [9, "bytesDwn", "unknown_field"],
    [10, "imsi", "sim_mismatch"],
  ]);
  for (const r of res.json.rejections) t.equal(r.sourceId, records[r.index]!.sourceId, `rejection ${r.index} names its record`);
  t.equal(res.json.rejections[2].reason, res.json.rejections[1].reason, "another tenant's SIM reads exactly like a SIM that does not exist");

  const stored = await ctx.prisma.usageRecord.findMany({ orderBy: { sourceId: "asc" } });
  t.same(stored.map((r) => r.sourceId).sort(), [earlier, records[0], records[1], records[8]].map((r) => r!.sourceId).sort(), "the good ones, and only them");
  t.ok(stored.every((r) => r.tenantId === w.tenantA.id));
  const bySource = new Map(stored.map((r) => [r.sourceId, r]));
  t.match(bySource.get(big.sourceId as string), { simId: a1.id, bytesUp: 9007199254740993n, bytesDown: 5n, smsMo: 2, smsMt: 3 }, "bytes beyond 2^53 kept exactly");
  t.match(bySource.get(records[1]!.sourceId as string), { simId: a2.id, imei, network: "262-01", radio: "lte-m" }, "by IMSI, the IMEISV as its IMEI");
  t.match(bySource.get(records[8]!.sourceId as string), { simId: a3.id }, "by MSISDN");
  t.equal(bySource.get(earlier.sourceId as string)!.bytesDown, 20_000n, "the duplicate changed nothing");

  const totals = await usageTotals(ctx.prisma);
  t.same(
    [totals.journalRecords, totals.journalBytesUp, totals.journalBytesDown, totals.journalSms],
    [totals.records, totals.bytesUp, totals.bytesDown, totals.sms],
    "the rollup journal holds exactly the stored records",
  );
  t.equal(totals.records, 4);
  t.equal((await usageTotals(ctx.prisma, w.tenantB.id)).records, 0, "nothing for tenant B");
});

t.test("JSON, NDJSON and CSV bodies carry the same records", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const feed = await usageFeed(ctx, w.tenantA.id);
  const imei = imeiOf();
  const media: Array<[UsageMedia, string]> = [
    ["application/json", "application/json; charset=utf-8"],
    ["application/x-ndjson", "application/x-ndjson"],
    ["application/ndjson", "application/ndjson"],
    ["text/csv", "text/csv; charset=utf-8"],
  ];
  const sent: Array<Array<Record<string, unknown>>> = [];
  for (const [format, contentType] of media) {
    const records = [
      usageRecord(sim.iccid, { sourceId: `${sourceId()},"quoted"`, bytesUp: "18446744073709551", bytesDown: 7, smsMo: 1, smsMt: 0, imei, network: "262-01", radio: "5g" }),
      usageRecord(null, { imsi: sim.imsi, bytesDown: 300 }),
      usageRecord(null, { msisdn: sim.msisdn!, smsMt: 4 }),
    ];
    sent.push(records);
    const res = await ingest(feed, encode(records, format), contentType);
    t.same([res.status, res.json], [200, { accepted: 3, duplicates: 0, rejected: 0, rejections: [] }], contentType);
    // The same body again: all duplicates.
    t.match((await ingest(feed, encode(records, format), contentType)).json, { accepted: 0, duplicates: 3, rejected: 0 }, `${contentType} again`);
  }
  const rows = await ctx.prisma.usageRecord.findMany();
  t.equal(rows.length, 12);
  const shape = (sourceIdOf: string) => {
    const r = rows.find((x) => x.sourceId === sourceIdOf)!;
    return [r.simId, r.startedAt.toISOString(), r.bytesUp, r.bytesDown, r.smsMo, r.smsMt, r.imei, r.network, r.radio];
  };
  for (let i = 1; i < sent.length; i++) {
    for (let j = 0; j < 3; j++) {
      t.same(shape(sent[i]![j]!.sourceId as string).slice(2), shape(sent[0]![j]!.sourceId as string).slice(2), `${media[i]![0]} record ${j} stored as its JSON twin`);
    }
  }
  t.match(rows.find((r) => r.sourceId === sent[3]![0]!.sourceId), { bytesUp: 18446744073709551n, imei, radio: "5g" }, "a quoted CSV cell with a comma and quotes");
});

t.test("who may ingest: usage:write keys and owners/admins (customer) or owners/admins/operators (platform)", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const simA = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const simB = await createSimUnique(ctx.prisma, { tenantId: w.tenantB.id });
  const body = () => [usageRecord(simA.iccid)];

  // The platform's mediation feed writes for every tenant; each record lands in its SIM's tenant.
  const platformFeed = await usageFeed(ctx, w.platform.id);
  const both = await ingestRecords(platformFeed, [usageRecord(simA.iccid), usageRecord(simB.iccid), usageRecord(simB.iccid)], "application/x-ndjson");
  t.match(both.json, { accepted: 3, rejected: 0 });
  t.equal((await usageTotals(ctx.prisma, w.tenantA.id)).records, 1);
  t.equal((await usageTotals(ctx.prisma, w.tenantB.id)).records, 2);
  const journal = await ctx.prisma.$queryRawUnsafe<Array<{ tenant_id: string; n: number }>>(
    `SELECT tenant_id::text, cardinality(sim_ids) AS n FROM connectivity.usage_rollup_journal ORDER BY n`,
  );
  t.same(journal, [{ tenant_id: w.tenantA.id, n: 1 }, { tenant_id: w.tenantB.id, n: 2 }], "one journal row per tenant of the request");

  // A tenant's key: its own SIMs only.
  const feedB = await usageFeed(ctx, w.tenantB.id);
  const fromB = await ingestRecords(feedB, [usageRecord(simA.iccid), usageRecord(simB.iccid)]);
  t.match(fromB.json, { accepted: 1, rejected: 1, rejections: [{ index: 0, code: "unknown_sim" }] });

  const before = (await usageTotals(ctx.prisma)).records;
  for (const [label, client] of [
    ["a customer key without usage:write", await usageFeed(ctx, w.tenantA.id, ["usage:read", "sims:write"])],
    ["a platform key without usage:write", await usageFeed(ctx, w.platform.id, ["network:write", "usage:read"])],
  ] as const) {
    const res = await ingestRecords(client, body());
    t.same([res.status, res.json.code], [403, "forbidden"], label);
  }
  t.equal((await ingestRecords(ctx.client(), body())).status, 401, "no credentials");

  const platformOperator = await createUser(ctx.prisma, { tenantId: w.platform.id, role: "operator" });
  const platformBilling = await createUser(ctx.prisma, { tenantId: w.platform.id, role: "billing" });
  const people: Array<[string, { email: string; password: string }, number]> = [
    ["customer owner", w.usersA.owner, 200],
    ["customer admin", w.usersA.admin, 200],
    ["customer operator", w.usersA.operator, 403],
    ["customer billing", w.usersA.billing, 403],
    ["customer viewer", w.usersA.viewer, 403],
    ["platform owner", w.staff.owner, 200],
    ["platform operator", platformOperator, 200],
    ["platform billing", platformBilling, 403],
    ["platform viewer", w.staff.viewer, 403],
  ];
  let allowed = 0;
  for (const [label, user, status] of people) {
    const c = ctx.client();
    t.equal((await c.login(user.email, user.password)).status, 200, `${label} signs in`);
    const res = await c.post("/v1/usage/records", body());
    t.equal(res.status, status, label);
    if (status === 200) {
      t.match(res.json, { accepted: 1 }, `${label}: stored`);
      allowed++;
    }
  }
  // Customer admin's session: tenant B's SIM is not theirs.
  const admin = ctx.client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);
  t.match((await admin.post("/v1/usage/records", [usageRecord(simB.iccid)])).json, { accepted: 0, rejected: 1, rejections: [{ code: "unknown_sim" }] }, "a member's session is scoped like their tenant's key");
  t.equal((await usageTotals(ctx.prisma)).records, before + allowed, "nothing stored by any refused caller");
});

t.test("whole-request refusals store nothing: 415, 413, unreadable bodies", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const feed = await usageFeed(ctx, w.platform.id);
  const good = () => [usageRecord(sim.iccid), usageRecord(sim.iccid)];

  for (const type of ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
    const res = await ingest(feed, JSON.stringify(good()), type);
    t.same([res.status, res.json.code], [415, "unsupported_media_type"], type);
  }
  const bare = await feed.request("POST", "/v1/usage/records", { rawBody: JSON.stringify(good()), headers: { "content-type": "" } });
  t.equal(bare.status, 415, "no Content-Type");

  const tooMany = Array.from({ length: 10_001 }, () => usageRecord(sim.iccid));
  const many = await ingest(feed, toNdjson(tooMany), "application/x-ndjson");
  t.same([many.status, many.json.code], [413, "too_many_records"], "10,001 records");
  const manyCsv = await ingest(feed, encode(tooMany, "text/csv"), "text/csv");
  t.same([manyCsv.status, manyCsv.json.code], [413, "too_many_records"], "10,001 CSV rows");

  // Past the service-wide 1 MB body limit but within 10 MB: taken (the route streams its body).
  const padded = `[${JSON.stringify(good()[0])},${" ".repeat(9 * 1024 * 1024)}${JSON.stringify(good()[1])}]`;
  const nineMb = await ingest(feed, padded, "application/json");
  t.same([nineMb.status, nineMb.json.accepted], [200, 2], "a 9 MB body");
  const overTen = `[${JSON.stringify(good()[0])},${" ".repeat(10 * 1024 * 1024)}${JSON.stringify(good()[1])}]`;
  const big = await ingest(feed, overTen, "application/json");
  t.same([big.status, big.json.code], [413, "payload_too_large"], "a body over 10 MB");

  const records = good();
  const json = JSON.stringify(records);
  for (const [label, body, type, code] of [
    ["an unterminated array", json.slice(0, -1), "application/json", "usage_body_invalid"],
    ["an object instead of an array", JSON.stringify(records[0]), "application/json", "usage_body_invalid"],
    ["data after the array", `${json} []`, "application/json", "usage_body_invalid"],
    ["an empty JSON body", "", "application/json", "usage_body_invalid"],
    ["a CSV header with an unknown column", encode(records, "text/csv").replace("bytesUp", "bytes_up"), "text/csv", "usage_csv_header_invalid"],
    ["a CSV header without startedAt", "sourceId,iccid,endedAt\nx,1,2\n", "text/csv", "usage_csv_header_invalid"],
  ] as const) {
    const res = await ingest(feed, body, type);
    t.same([res.status, res.json.code], [400, code], label);
  }
  t.equal((await usageTotals(ctx.prisma)).records, 2, "only the 9 MB request stored anything");
  t.equal((await usageTotals(ctx.prisma)).journalRecords, 2);

  // Empty batches are fine, in every format.
  for (const [body, type] of [["[]", "application/json"], ["", "application/x-ndjson"], ["\n\n", "application/ndjson"], ["sourceId,iccid,startedAt,endedAt\r\n", "text/csv"]] as const) {
    const res = await ingest(feed, body, type);
    t.same([res.status, res.json], [200, { accepted: 0, duplicates: 0, rejected: 0, rejections: [] }], `empty ${type}`);
  }
});

t.test("late records land in their month's partition and in the journal", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const feed = await usageFeed(ctx, w.platform.id);
  const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000);
  const lateStart = daysAgo(40);
  // The month 40 days back gets its partition as the scheduled job would have made it; 3 years back has none.
  await ctx.prisma.$queryRawUnsafe(`SELECT connectivity.ensure_usage_partition_for($1::timestamptz)`, lateStart.toISOString());
  const oldStart = daysAgo(3 * 365);
  const late = usageRecord(sim.iccid, { startedAt: lateStart.toISOString(), endedAt: new Date(lateStart.getTime() + 60_000).toISOString(), bytesDown: 111 });
  const old = usageRecord(sim.iccid, { startedAt: oldStart.toISOString(), endedAt: new Date(oldStart.getTime() + 60_000).toISOString(), bytesDown: 222 });
  const recent = usageRecord(sim.iccid, { bytesDown: 333 });
  t.match((await ingestRecords(feed, [late, old, recent], "text/csv")).json, { accepted: 3, rejected: 0 });

  const parts = await ctx.prisma.$queryRawUnsafe<Array<{ source_id: string; part: string }>>(
    `SELECT source_id, tableoid::regclass::text AS part FROM connectivity.usage_records`,
  );
  const partOf = (r: Record<string, unknown>) => parts.find((p) => p.source_id === r.sourceId)?.part;
  const monthPart = (d: Date) => `connectivity.usage_records_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  t.equal(partOf(late), monthPart(lateStart), "40 days late: its month's partition");
  t.equal(partOf(old), "connectivity.usage_records_default", "a month without a partition: the default one (moved when it gets one)");
  t.equal(partOf(recent), monthPart(new Date(recent.startedAt as string)));
  const [journal] = await ctx.prisma.$queryRawUnsafe<Array<{ starts: Date[]; down: string[] }>>(
    `SELECT started_ats AS starts, bytes_down::text[] AS down FROM connectivity.usage_rollup_journal`,
  );
  t.same(
    journal!.starts.map((d, i) => [d.toISOString(), journal!.down[i]]).sort(),
    [[lateStart.toISOString(), "111"], [oldStart.toISOString(), "222"], [recent.startedAt, "333"]].sort(),
    "the journal carries them to the rollup, start times and bytes side by side",
  );
});

t.test("the Idempotency-Key header is ignored, and each request with new records asks for a rollup", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const feed = await usageFeed(ctx, w.platform.id);
  const key = { "idempotency-key": "feed-batch-1" };
  const first = await ingest(feed, toNdjson([usageRecord(sim.iccid)]), "application/x-ndjson", key);
  t.same([first.status, first.json.accepted, first.headers["idempotent-replayed"]], [200, 1, undefined]);
  const other = await ingest(feed, toNdjson([usageRecord(sim.iccid), usageRecord(sim.iccid)]), "application/x-ndjson", key);
  t.same([other.status, other.json.accepted], [200, 2], "the same key with another body is simply another batch");
  t.equal(await ctx.prisma.idempotencyKey.count(), 0, "no key was claimed");

  const connection = ctx.runtime.redis!.duplicate();
  const queue = new Queue("usage", { connection, prefix: `{${ctx.redisPrefix}}` });
  t.teardown(async () => {
    await queue.close();
    await connection.quit();
  });
  const jobs = await queue.getJobs(["waiting", "delayed", "prioritized", "active", "completed"]);
  t.ok(jobs.some((j) => j.name === "usage.rollup" && /^usage-rollup-\d+$/.test(j.id ?? "")), "a usage.rollup job was enqueued");
});

t.test("a SIM allocated to a customer reports to the customer from then on, though its ICCID was resolved before", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const plan = await createRatePlan(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.platform.id, status: "inventory" });
  // The operator's feed (and ERP): one platform key that ingests for every tenant and allocates inventory.
  const feed = await usageFeed(ctx, w.platform.id, ["usage:write", "sims:write"]);

  t.match((await ingestRecords(feed, [usageRecord(sim.iccid)])).json, { accepted: 1 }, "factory test usage, while the platform owns it");
  t.equal((await feed.post("/v1/inventory/sims/allocate", { tenantId: w.tenantA.id, ratePlanId: plan.id, iccids: [sim.iccid] })).status, 200);
  t.match((await ingestRecords(feed, [usageRecord(sim.iccid)])).json, { accepted: 1 });

  const owners = await ctx.prisma.usageRecord.groupBy({ by: ["tenantId"], where: { simId: sim.id }, _count: true });
  t.same(Object.fromEntries(owners.map((o) => [o.tenantId, o._count])), { [w.platform.id]: 1, [w.tenantA.id]: 1 });
});
