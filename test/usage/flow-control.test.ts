import t from "tap";
import { build } from "../helpers/build.js";
import { createWorld } from "../helpers/factories.js";
import { createSimUnique } from "../devices/helpers.js";
import { ingestRecords, usageFeed, usageRecord } from "./helpers.js";

t.test("while the rollup is behind, ingestion waits for it; records are stored all the same", async (t) => {
  const ctx = await build(t, { USAGE_FLOW_CONTROL_MS: "1000" });
  const w = await createWorld(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const feed = await usageFeed(ctx, w.tenantA.id);

  let started = Date.now();
  t.match((await ingestRecords(feed, [usageRecord(sim.iccid)])).json, { accepted: 1 });
  t.ok(Date.now() - started < 1000, "an empty journal: no wait");

  // A rollup 3 s behind (no job runs in this test): the journal's oldest row was written 3 s ago.
  await ctx.prisma.$executeRaw`UPDATE connectivity.usage_rollup_journal SET created_at = now() - interval '3 seconds'`;
  await new Promise((resolve) => setTimeout(resolve, 250)); // past the process's cached reading
  started = Date.now();
  const late = await ingestRecords(feed, [usageRecord(sim.iccid)]);
  const waited = Date.now() - started;
  t.match(late.json, { accepted: 1 }, "never refused");
  t.ok(waited >= 4500, `held back up to its 5 s bound (waited ${waited} ms)`);

  // The rollup catches up (the journal empties): the next request goes straight through.
  await ctx.prisma.$executeRaw`DELETE FROM connectivity.usage_rollup_journal`;
  await new Promise((resolve) => setTimeout(resolve, 250));
  started = Date.now();
  t.match((await ingestRecords(feed, [usageRecord(sim.iccid)])).json, { accepted: 1 });
  t.ok(Date.now() - started < 1000, "caught up: no wait");
  t.equal(await ctx.prisma.usageRecord.count({ where: { simId: sim.id } }), 3);
});
