import { randomInt } from "node:crypto";
import t from "tap";
import { makeIccid } from "../../src/platform/identifiers.js";
import { build } from "../helpers/build.js";
import { createWorld } from "../helpers/factories.js";
import { ingest, usageFeed, usageTotals } from "./helpers.js";

/**
 * The acceptance: re-sending the same 100,000 records leaves every total unchanged. Ten requests of
 * 10,000 records through the platform's feed key, over 200 SIMs of two tenants, then all of it again (as the
 * same batches and cut differently), comparing record counts and byte sums of usage_records and of the rollup
 * journal, per tenant.
 */
t.test("re-sending the same 100,000 records leaves every count and sum unchanged", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const tag = `${randomInt(10_000, 99_999)}`;
  const sims = Array.from({ length: 200 }, (_, i) => {
    const n = `${tag}${String(i).padStart(5, "0")}`;
    return { tenantId: i % 2 ? w.tenantB.id : w.tenantA.id, iccid: makeIccid(`894978${n}00`), imsi: `26278${n.slice(1)}0`, msisdn: `4916${n}`, formFactor: "ff4" as const, status: "active" as const };
  });
  await ctx.prisma.sim.createMany({ data: sims });

  const base = Date.now() - 3 * 86_400_000;
  const line = (i: number) => {
    const sim = sims[i % sims.length]!;
    const start = base + i * 1000;
    // Some byte counts beyond 2^53, as strings.
    const bytesDown = i % 1000 === 0 ? `"${9_007_199_254_740_993n + BigInt(i)}"` : String((i * 7919) % 5_000_000);
    return `{"sourceId":"mediation-${i}","iccid":"${sim.iccid}","startedAt":"${new Date(start).toISOString()}","endedAt":"${new Date(start + 30_000).toISOString()}","bytesUp":${(i * 31) % 100_000},"bytesDown":${bytesDown},"smsMo":${i % 3},"network":"262-01","radio":"4g"}`;
  };
  const batch = (from: number, count: number) => {
    const lines: string[] = [];
    for (let i = from; i < from + count; i++) lines.push(line(i));
    return `${lines.join("\n")}\n`;
  };
  const feed = await usageFeed(ctx, w.platform.id);

  let accepted = 0;
  for (let b = 0; b < 10; b++) {
    const res = await ingest(feed, batch(b * 10_000, 10_000), "application/x-ndjson");
    t.equal(res.status, 200);
    accepted += res.json.accepted;
    if (res.json.rejected) t.fail(JSON.stringify(res.json.rejections.slice(0, 3)));
  }
  t.equal(accepted, 100_000, "every record taken the first time");
  const first = { all: await usageTotals(ctx.prisma), a: await usageTotals(ctx.prisma, w.tenantA.id), b: await usageTotals(ctx.prisma, w.tenantB.id) };
  t.equal(first.all.records, 100_000);
  t.same([first.a.records, first.b.records], [50_000, 50_000], "each record in its SIM's tenant");
  t.same(
    [first.all.journalRecords, first.all.journalBytesUp, first.all.journalBytesDown, first.all.journalSms],
    [first.all.records, first.all.bytesUp, first.all.bytesDown, first.all.sms],
    "the journal holds each record once",
  );

  // The same ten requests again, then the same records cut into other batches (as a feed retrying after a crash might).
  for (let b = 0; b < 10; b++) {
    const res = await ingest(feed, batch(b * 10_000, 10_000), "application/x-ndjson");
    t.same([res.json.accepted, res.json.duplicates, res.json.rejected], [0, 10_000, 0], `batch ${b} again`);
  }
  for (const [from, count] of [[5_000, 10_000], [95_000, 5_000]] as const) {
    const res = await ingest(feed, batch(from, count), "application/x-ndjson");
    t.same([res.json.accepted, res.json.duplicates], [0, count], `records ${from}-${from + count - 1}, batched otherwise`);
  }
  t.same({ all: await usageTotals(ctx.prisma), a: await usageTotals(ctx.prisma, w.tenantA.id), b: await usageTotals(ctx.prisma, w.tenantB.id) }, first, "every count and sum unchanged");
});

t.test("concurrent requests carrying the same records store each once", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const tag = `${randomInt(10_000, 99_999)}`;
  const sims = Array.from({ length: 50 }, (_, i) => {
    const n = `${tag}${String(i).padStart(5, "0")}`;
    return { tenantId: i % 2 ? w.tenantB.id : w.tenantA.id, iccid: makeIccid(`894979${n}00`), imsi: `26279${n.slice(1)}0`, msisdn: `4917${n}`, formFactor: "ff4" as const, status: "active" as const };
  });
  await ctx.prisma.sim.createMany({ data: sims });
  const base = Date.now() - 3_600_000;
  const lines = Array.from({ length: 5_000 }, (_, i) => {
    const start = new Date(base + i * 100).toISOString();
    return `{"sourceId":"c-${i}","iccid":"${sims[i % sims.length]!.iccid}","startedAt":"${start}","endedAt":"${start}","bytesDown":${i}}`;
  });
  // Four feeds retrying over each other, each with the records in another order (and overlapping halves).
  const orders = [lines, [...lines].reverse(), [...lines.slice(2_500), ...lines.slice(0, 2_500)], lines.filter((_, i) => i % 2 === 0)];
  const feed = await usageFeed(ctx, w.platform.id);
  const answers = await Promise.all(orders.map((o) => ingest(feed, `${o.join("\n")}\n`, "application/x-ndjson")));
  t.same(answers.map((a) => a.status), [200, 200, 200, 200], "no deadlock or serialization failure reached the client");
  t.equal(answers.reduce((n, a) => n + a.json.accepted, 0), 5_000, "each record accepted by exactly one request");
  t.equal(answers.reduce((n, a) => n + a.json.duplicates, 0), 5_000 * 3 + 2_500 - 5_000, "the others counted it as a duplicate");
  const totals = await usageTotals(ctx.prisma);
  t.same([totals.records, totals.bytesDown, totals.journalRecords, totals.journalBytesDown], [5_000, String((4_999 * 5_000) / 2), 5_000, String((4_999 * 5_000) / 2)]);
});
