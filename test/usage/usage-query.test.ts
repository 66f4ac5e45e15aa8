// The usage API: GET /v1/sims/{iccid}/usage and GET /v1/usage. Sums match the inserted records at every
// granularity (UTC hour, day and month boundaries included), every grouping, top-N, label counting, filters,
// tenant isolation, roles, the completeness watermark, and CSV answers. Usage is inserted directly (raw records
// plus the rollups recomputed from them, as the rollup job would leave them).

import t from "tap";
import type { Scope } from "../../src/modules/access/scopes.js";
import { wantsCsv } from "../../src/modules/usage/usage-query.routes.js";
import { resolveRange } from "../../src/modules/usage/usage-query.service.js";
import { keyClient } from "../devices/helpers.js";
import { build } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";
import { createRatePlan, createSim, createTenant, createWorld } from "../helpers/factories.js";

const ctx = await build(t);
const { prisma } = ctx;
const w = await createWorld(prisma);

interface Sim {
  id: string;
  tenantId: string;
  iccid: string;
}
interface Rec {
  sim: Sim;
  at: string;
  up?: bigint;
  down?: bigint;
  mo?: number;
  mt?: number;
  network?: string | null;
}

let serial = 0;
/**
 * Inserts raw records, then recomputes the tenants' rollups from all their raw records (what the rollup job
 * maintains incrementally): usage_daily per SIM per UTC day, usage_hourly per UTC hour and network ('' unknown).
 */
async function addUsage(recs: Rec[]): Promise<void> {
  await ctx.runtime.db.sql.query(
    `INSERT INTO connectivity.usage_records (tenant_id, source_id, started_at, ended_at, sim_id, bytes_up, bytes_down, sms_mo, sms_mt, network)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $3::timestamptz[], $4::uuid[], $5::int8[], $6::int8[], $7::int4[], $8::int4[], $9::text[])`,
    [
      recs.map((r) => r.sim.tenantId),
      recs.map(() => `uq-${++serial}`),
      recs.map((r) => r.at),
      recs.map((r) => r.sim.id),
      recs.map((r) => String(r.up ?? 0n)),
      recs.map((r) => String(r.down ?? 0n)),
      recs.map((r) => r.mo ?? 0),
      recs.map((r) => r.mt ?? 0),
      recs.map((r) => r.network ?? null),
    ],
  );
  for (const tenantId of new Set(recs.map((r) => r.sim.tenantId))) {
    const sql = ctx.runtime.db.sql;
    await sql.query("DELETE FROM connectivity.usage_daily WHERE tenant_id = $1", [tenantId]);
    await sql.query("DELETE FROM connectivity.usage_hourly WHERE tenant_id = $1", [tenantId]);
    await sql.query(
      `INSERT INTO connectivity.usage_daily (tenant_id, sim_id, day, bytes_up, bytes_down, sms_mo, sms_mt, records)
       SELECT tenant_id, sim_id, (started_at AT TIME ZONE 'UTC')::date, sum(bytes_up), sum(bytes_down), sum(sms_mo), sum(sms_mt), count(*)
       FROM connectivity.usage_records WHERE tenant_id = $1 GROUP BY 1, 2, 3`,
      [tenantId],
    );
    await sql.query(
      `INSERT INTO connectivity.usage_hourly (tenant_id, hour, network, bytes_up, bytes_down, sms_mo, sms_mt, records)
       SELECT tenant_id, date_trunc('hour', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', coalesce(network, ''), sum(bytes_up), sum(bytes_down), sum(sms_mo), sum(sms_mt), count(*)
       FROM connectivity.usage_records WHERE tenant_id = $1 GROUP BY 1, 2, 3`,
      [tenantId],
    );
  }
}

/** What the API should answer for a set of records: sums with bytes as numbers (all below 2^53 here unless said). */
function sums(recs: Rec[]) {
  const up = recs.reduce((s, r) => s + (r.up ?? 0n), 0n);
  const down = recs.reduce((s, r) => s + (r.down ?? 0n), 0n);
  const out = (n: bigint) => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString());
  return { bytesUp: out(up), bytesDown: out(down), bytes: out(up + down), smsMo: recs.reduce((s, r) => s + (r.mo ?? 0), 0), smsMt: recs.reduce((s, r) => s + (r.mt ?? 0), 0), records: recs.length };
}
const ZERO = sums([]);

/** A fresh customer tenant with an API key client (`usage:read` by default) and SIMs made on demand. */
async function fleet(scopes: Scope[] = ["usage:read"]) {
  const tenant = await createTenant(prisma);
  const client = await keyClient(ctx, tenant.id, scopes);
  const sim = (opts: { labels?: string[]; ratePlanId?: string } = {}) => createSim(prisma, { tenantId: tenant.id, ...opts });
  return { tenant, client, sim };
}

async function signedIn(user: { email: string; password: string }, opts: { mfa?: boolean } = {}): Promise<Client> {
  const client = ctx.client();
  const res = await client.login(user.email, user.password, undefined, { enrolMfa: opts.mfa ?? false });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return client;
}

const simUsage = (client: Client, iccid: string, query = "", headers?: Record<string, string>) => client.get(`/v1/sims/${iccid}/usage${query ? `?${query}` : ""}`, headers);
const fleetUsage = (client: Client, query = "", headers?: Record<string, string>) => client.get(`/v1/usage${query ? `?${query}` : ""}`, headers);

t.test("one SIM: sums per hour, day and month, split exactly at UTC month boundaries", async (t) => {
  const { client, sim } = await fleet();
  const s = await sim();
  const other = await sim();
  const lastMs: Rec = { sim: s, at: "2026-11-30T23:59:59.999Z", up: 100n, down: 1000n, mo: 1, network: "262-01" };
  const firstMs: Rec = { sim: s, at: "2026-12-01T00:00:00.000Z", up: 200n, down: 2000n, mt: 2, network: "262-01" };
  const earlier: Rec = { sim: s, at: "2026-11-30T23:00:00.000Z", up: 7n, down: 70n };
  const midNov: Rec = { sim: s, at: "2026-11-15T12:34:56.789Z", up: 5n, down: 50n, mo: 3 };
  const notThisSim: Rec = { sim: other, at: "2026-11-30T23:30:00.000Z", up: 999n, down: 999n };
  await addUsage([lastMs, firstMs, earlier, midNov, notThisSim]);

  const hours = await simUsage(client, s.iccid, "granularity=hour&from=2026-11-30T22:00:00Z&to=2026-12-01T02:00:00Z");
  t.equal(hours.status, 200);
  t.match(hours.json, { iccid: s.iccid, granularity: "hour", from: "2026-11-30T22:00:00.000Z", to: "2026-12-01T02:00:00.000Z" });
  t.same(
    hours.json.series,
    [
      { start: "2026-11-30T22:00:00.000Z", ...ZERO },
      { start: "2026-11-30T23:00:00.000Z", ...sums([lastMs, earlier]) },
      { start: "2026-12-01T00:00:00.000Z", ...sums([firstMs]) },
      { start: "2026-12-01T01:00:00.000Z", ...ZERO },
    ],
    "23:59:59.999 is the last hour of November, 00:00:00.000 the first of December; empty hours are zeros",
  );
  t.same(hours.json.totals, sums([lastMs, firstMs, earlier]));

  const days = await simUsage(client, s.iccid, "granularity=day&from=2026-11-29T00:00:00Z&to=2026-12-02T00:00:00Z");
  t.same(
    days.json.series,
    [
      { start: "2026-11-29T00:00:00.000Z", ...ZERO },
      { start: "2026-11-30T00:00:00.000Z", ...sums([lastMs, earlier]) },
      { start: "2026-12-01T00:00:00.000Z", ...sums([firstMs]) },
    ],
    "days from the daily rollup",
  );

  const months = await simUsage(client, s.iccid, "granularity=month&from=2026-10-01T00:00:00Z&to=2027-01-01T00:00:00Z");
  t.same(months.json.series, [
    { start: "2026-10-01T00:00:00.000Z", ...ZERO },
    { start: "2026-11-01T00:00:00.000Z", ...sums([lastMs, earlier, midNov]) },
    { start: "2026-12-01T00:00:00.000Z", ...sums([firstMs]) },
  ]);
  t.same(months.json.totals, sums([lastMs, firstMs, earlier, midNov]), "another SIM's usage is not counted");

  const exclusive = await simUsage(client, s.iccid, "granularity=hour&from=2026-11-30T23:00:00Z&to=2026-12-01T00:00:00Z");
  t.same(exclusive.json.totals, sums([lastMs, earlier]), "`to` is exclusive: the record at exactly `to` is out");

  const rounded = await simUsage(client, s.iccid, "granularity=day&from=2026-11-30T23:59:59.999Z&to=2026-12-01T00:00:00.001Z");
  t.match(rounded.json, { from: "2026-11-30T00:00:00.000Z", to: "2026-12-02T00:00:00.000Z" }, "any instants: the range is widened to whole UTC days, and says so");
  t.same(rounded.json.totals, sums([lastMs, earlier, firstMs]));

  const offset = await simUsage(client, s.iccid, "granularity=hour&from=2026-12-01T00:30:00%2B01:00&to=2026-12-01T01:00:00%2B01:00");
  t.match(offset.json, { from: "2026-11-30T23:00:00.000Z", to: "2026-12-01T00:00:00.000Z" }, "offsets are read and answered in UTC");
});

t.test("one SIM: defaults, bounds, bigints and the completeness watermark", async (t) => {
  const { client, sim } = await fleet();
  const s = await sim();
  const now = new Date();
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const huge: Rec = { sim: s, at: monthStart.toISOString(), up: 1n, down: 2n ** 60n };
  await addUsage([huge]);

  const res = await simUsage(client, s.iccid);
  t.equal(res.status, 200);
  t.equal(res.json.granularity, "day", "day by default");
  t.equal(res.json.from, monthStart.toISOString(), "from: the start of the current UTC month");
  t.ok(new Date(res.json.to) > now, "to: now, rounded up to the end of today");
  t.equal(res.json.series.length, Math.round((new Date(res.json.to).getTime() - new Date(res.json.from).getTime()) / 86_400_000), "a bucket per day of the month to date");
  t.same(res.json.totals, { bytesUp: 1, bytesDown: (2n ** 60n).toString(), bytes: (2n ** 60n + 1n).toString(), smsMo: 0, smsMt: 0, records: 1 }, "above 2^53 - 1 a byte count is a string");
  t.match(res.json.completeness, { rolledUpThrough: String, finalThrough: null });
  t.ok(Math.abs(new Date(res.json.completeness.rolledUpThrough).getTime() - Date.now()) < 60_000, "nothing waits for the rollup: rolled up through now");

  const backwards = await simUsage(client, s.iccid, "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z");
  t.equal(backwards.status, 400);
  t.match(backwards.json, { code: "invalid_range", errors: [{ field: "/query/to" }] });
  t.match((await simUsage(client, s.iccid, "from=1969-12-31T00:00:00Z&to=2026-12-01T00:00:00Z")).json, { status: 400, code: "invalid_range" });
  const tooLong = await simUsage(client, s.iccid, "granularity=hour&from=2026-10-01T00:00:00Z&to=2026-11-01T01:00:00Z");
  t.match(tooLong.json, { status: 400, code: "range_too_large" }, "31 days and an hour of hours");
  t.equal((await simUsage(client, s.iccid, "granularity=hour&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z")).status, 200, "31 days of hours is fine");
  t.match((await simUsage(client, s.iccid, "from=1970-01-01T00:00:00Z&to=2200-01-01T00:00:00Z")).json, { status: 400, code: "result_too_large" }, "230 years of days in JSON");
  t.equal((await simUsage(client, s.iccid, "from=1970-01-01T00:00:00Z&to=2200-01-01T00:00:00Z&granularity=month")).status, 200, "as months: 2,760 buckets");
  t.equal((await simUsage(client, s.iccid, "granularity=week")).status, 400);
  t.equal((await simUsage(client, s.iccid, "from=yesterday")).status, 400);
  t.equal((await simUsage(client, s.iccid, "extra=1")).status, 400);
});

t.test("resolveRange: rounding, defaults, bounds", async (t) => {
  const now = new Date("2026-12-05T10:20:30.000Z");
  t.same(resolveRange({}, "day", now), { from: new Date("2026-12-01T00:00:00Z"), to: new Date("2026-12-06T00:00:00Z") });
  t.same(resolveRange({ to: "2026-12-01T00:00:00Z" }, "day", now), { from: new Date("2026-11-01T00:00:00Z"), to: new Date("2026-12-01T00:00:00Z") }, "to on a month start: the month before it");
  t.same(resolveRange({ from: "2026-02-10T05:00:00Z", to: "2026-03-01T00:00:00.001Z" }, "month", now), { from: new Date("2026-02-01T00:00:00Z"), to: new Date("2026-04-01T00:00:00Z") });
  t.same(resolveRange({ from: "2026-12-01T00:00:00Z", to: "2026-12-01T00:00:00Z" }, "hour", now), { from: new Date("2026-12-01T00:00:00Z"), to: new Date("2026-12-01T00:00:00Z") }, "an empty range is empty");
  t.throws(() => resolveRange({ from: "2026-12-06T00:00:00Z" }, "day", now), { code: "invalid_range" }, "from after now (the default to)");
});

t.test("tenant isolation and roles on one SIM's usage", async (t) => {
  const s = await createSim(prisma, { tenantId: w.tenantA.id });
  await addUsage([{ sim: s, at: "2026-11-10T10:00:00Z", up: 10n, down: 20n }]);
  const q = "from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z";

  const billingA = await signedIn(w.usersA.billing);
  const asBilling = await simUsage(billingA, s.iccid, q);
  t.equal(asBilling.status, 200, "billing contacts read usage");
  t.same(asBilling.json.totals, sums([{ sim: s, at: "", up: 10n, down: 20n }]));
  t.equal((await billingA.get(`/v1/sims/${s.iccid}`)).status, 403, "though they cannot read the SIM itself");

  for (const role of ["owner", "admin", "operator", "billing", "viewer"] as const) {
    const b = await signedIn(w.usersB[role]);
    const res = await simUsage(b, s.iccid, q);
    t.equal(res.status, 404, `tenant B's ${role}: A's SIM is not found`);
    t.equal(res.json.code, "not_found");
    t.notMatch(res.body, /totals/);
  }
  const bKey = await keyClient(ctx, w.tenantB.id, ["usage:read"]);
  t.equal((await simUsage(bKey, s.iccid, q)).status, 404, "tenant B's key too");
  t.equal((await simUsage(bKey, s.iccid, `${q}&format=csv`)).status, 404, "and as CSV");
  t.equal((await simUsage(bKey, "89490000000000000000", q)).status, 404, "an ICCID of no SIM: the same answer");

  const noUsageScope = await keyClient(ctx, w.tenantA.id, ["sims:read"]);
  const refused = await simUsage(noUsageScope, s.iccid, q);
  t.equal(refused.status, 403, "a key without usage:read");
  t.equal((await simUsage(ctx.client(), s.iccid, q)).status, 401);

  const staff = await signedIn(w.staff.viewer, { mfa: true });
  const asStaff = await simUsage(staff, s.iccid, q);
  t.equal(asStaff.status, 200, "platform staff read every tenant's usage");
  t.same(asStaff.json.totals, asBilling.json.totals);
});

t.test("the fleet without grouping: the hourly rollup at every granularity", async (t) => {
  const { client, sim } = await fleet();
  const [a, b] = [await sim(), await sim()];
  const recs: Rec[] = [
    { sim: a, at: "2026-11-30T23:59:59.999Z", up: 1n, down: 10n, network: "262-01" },
    { sim: b, at: "2026-11-30T23:10:00.000Z", up: 2n, down: 20n, network: "262-02" },
    { sim: a, at: "2026-12-01T00:00:00.000Z", up: 4n, down: 40n, mo: 1 },
    { sim: b, at: "2026-12-03T05:00:00.000Z", up: 8n, down: 80n, mt: 5, network: "262-01" },
  ];
  await addUsage(recs);
  const [nov1, nov2, dec1, dec3] = recs as [Rec, Rec, Rec, Rec];

  const hours = await fleetUsage(client, "granularity=hour&from=2026-11-30T23:00:00Z&to=2026-12-01T01:00:00Z");
  t.equal(hours.status, 200);
  t.match(hours.json, { groupBy: "none", groups: null, nextCursor: null });
  t.same(hours.json.series, [
    { start: "2026-11-30T23:00:00.000Z", ...sums([nov1, nov2]) },
    { start: "2026-12-01T00:00:00.000Z", ...sums([dec1]) },
  ]);
  const days = await fleetUsage(client, "from=2026-11-30T00:00:00Z&to=2026-12-04T00:00:00Z");
  t.same(days.json.series, [
    { start: "2026-11-30T00:00:00.000Z", ...sums([nov1, nov2]) },
    { start: "2026-12-01T00:00:00.000Z", ...sums([dec1]) },
    { start: "2026-12-02T00:00:00.000Z", ...ZERO },
    { start: "2026-12-03T00:00:00.000Z", ...sums([dec3]) },
  ]);
  t.same(days.json.totals, sums(recs));
  const months = await fleetUsage(client, "granularity=month&from=2026-11-01T00:00:00Z&to=2027-01-01T00:00:00Z");
  t.same(months.json.series, [
    { start: "2026-11-01T00:00:00.000Z", ...sums([nov1, nov2]) },
    { start: "2026-12-01T00:00:00.000Z", ...sums([dec1, dec3]) },
  ]);
  t.match(months.json.completeness, { rolledUpThrough: String, finalThrough: null });

  const filtered = await fleetUsage(client, `granularity=month&from=2026-11-01T00:00:00Z&to=2027-01-01T00:00:00Z&iccid=${a.iccid}`);
  t.same(filtered.json.series.map((b: { bytes: number }) => b.bytes), [11, 44], "a SIM filter reads the per-SIM rollup");
  const filteredHours = await fleetUsage(client, `granularity=hour&from=2026-11-30T23:00:00Z&to=2026-12-01T01:00:00Z&iccid=${b.iccid}`);
  t.same(filteredHours.json.series.map((x: { bytes: number }) => x.bytes), [22, 0], "and raw records for hours");
});

t.test("grouped by SIM: top-N by bytes, pages by ICCID, each group's zero-filled series", async (t) => {
  const { client, sim } = await fleet();
  const [s0, s1, s2, s3] = [await sim(), await sim(), await sim(), await sim()];
  await prisma.sim.update({ where: { id: s2.id }, data: { customName: "Pump 2" } });
  const recs: Rec[] = [
    { sim: s0, at: "2026-11-01T01:00:00Z", up: 10n, down: 0n },
    { sim: s1, at: "2026-11-02T01:00:00Z", up: 0n, down: 500n },
    { sim: s1, at: "2026-11-03T01:00:00Z", up: 0n, down: 500n, mo: 2 },
    { sim: s2, at: "2026-11-03T02:00:00Z", up: 300n, down: 300n },
    { sim: s2, at: "2026-10-31T23:59:59.999Z", up: 1_000_000n, down: 0n }, // before the range
  ];
  await addUsage(recs);
  const range = "from=2026-11-01T00:00:00Z&to=2026-11-04T00:00:00Z";

  const top = await fleetUsage(client, `${range}&groupBy=sim&top=2`);
  t.equal(top.status, 200);
  t.same(
    top.json.groups.map((g: { key: string; name: string | null; totals: { bytes: number } }) => [g.key, g.name, g.totals.bytes]),
    [
      [s1.iccid, null, 1000],
      [s2.iccid, "Pump 2", 600],
    ],
    "the two SIMs with the most bytes over the range, most first",
  );
  t.equal(top.json.nextCursor, null);
  t.same(top.json.groups[0].series, [
    { start: "2026-11-01T00:00:00.000Z", ...ZERO },
    { start: "2026-11-02T00:00:00.000Z", ...sums([recs[1]!]) },
    { start: "2026-11-03T00:00:00.000Z", ...sums([recs[2]!]) },
  ]);
  t.same(top.json.totals, sums(recs.slice(0, 4)), "totals: the whole fleet over the range");
  t.equal(top.json.series, null);

  const all = await fleetUsage(client, `${range}&groupBy=sim&top=1000`);
  t.same(
    all.json.groups.map((g: { key: string }) => g.key),
    [s1.iccid, s2.iccid, s0.iccid],
    "only SIMs with usage in the range; none before it counts",
  );

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: { status: number; json: { groups: Array<{ key: string; totals: { bytes: number } }>; nextCursor: string | null } } = await fleetUsage(client, `${range}&groupBy=sim&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    t.equal(res.status, 200);
    seen.push(...res.json.groups.map((g) => g.key));
    cursor = res.json.nextCursor;
    pages++;
  } while (cursor && pages < 5);
  t.same(seen, [s0.iccid, s1.iccid, s2.iccid].sort(), "pages by ICCID, each SIM once");
  t.equal(pages, 2);
  t.notOk(seen.includes(s3.iccid), "a SIM without usage is no group");

  const hourly = await fleetUsage(client, `from=2026-11-03T00:00:00Z&to=2026-11-03T03:00:00Z&granularity=hour&groupBy=sim&top=5`);
  t.same(
    hourly.json.groups.map((g: { key: string; series: Array<{ bytes: number }> }) => [g.key, g.series.map((b) => b.bytes)]),
    [
      [s2.iccid, [0, 0, 600]],
      [s1.iccid, [0, 500, 0]],
    ],
    "hours per SIM from raw records, most bytes first",
  );
  t.match((await fleetUsage(client, "from=2026-11-01T00:00:00Z&to=2026-11-08T01:00:00Z&granularity=hour&groupBy=sim")).json, { status: 400, code: "range_too_large" }, "raw hours: 7 days at most");
  t.match((await fleetUsage(client, `${range}&groupBy=sim&cursor=${Buffer.from(JSON.stringify({ t: w.tenantB.id, g: "sim", k: "x" })).toString("base64url")}`)).json, { status: 400, code: "validation_failed" }, "another tenant's cursor");
});

t.test("grouped by label: a SIM counts in each of its labels; SIMs without one form the null group", async (t) => {
  const { client, sim } = await fleet();
  const both = await sim({ labels: ["north", "pumps"] });
  const north = await sim({ labels: ["north"] });
  const none = await sim();
  const recs: Rec[] = [
    { sim: both, at: "2026-11-05T10:00:00Z", up: 1n, down: 99n },
    { sim: north, at: "2026-11-05T11:00:00Z", up: 0n, down: 1000n },
    { sim: none, at: "2026-11-06T11:00:00Z", up: 5n, down: 5n, mt: 1 },
  ];
  await addUsage(recs);
  const [rb, rn, r0] = recs as [Rec, Rec, Rec];
  const range = "from=2026-11-05T00:00:00Z&to=2026-11-07T00:00:00Z";

  const byKey = await fleetUsage(client, `${range}&groupBy=label`);
  t.equal(byKey.status, 200);
  t.same(
    byKey.json.groups.map((g: { key: string | null; totals: unknown }) => [g.key, g.totals]),
    [
      [null, sums([r0])],
      ["north", sums([rb, rn])],
      ["pumps", sums([rb])],
    ],
    "by key, the none group first",
  );
  t.same(byKey.json.totals, sums(recs), "totals count the two-label SIM once");
  t.same(byKey.json.groups[1].series, [
    { start: "2026-11-05T00:00:00.000Z", ...sums([rb, rn]) },
    { start: "2026-11-06T00:00:00.000Z", ...ZERO },
  ]);

  const top = await fleetUsage(client, `${range}&groupBy=label&top=1`);
  t.same(top.json.groups.map((g: { key: string }) => g.key), ["north"]);
  const paged = await fleetUsage(client, `${range}&groupBy=label&limit=2`);
  t.same(paged.json.groups.map((g: { key: string | null }) => g.key), [null, "north"]);
  const rest = await fleetUsage(client, `${range}&groupBy=label&limit=2&cursor=${paged.json.nextCursor}`);
  t.same(rest.json.groups.map((g: { key: string }) => g.key), ["pumps"]);
  t.equal(rest.json.nextCursor, null);

  const filtered = await fleetUsage(client, `${range}&groupBy=label&label=pumps`);
  t.same(
    filtered.json.groups.map((g: { key: string; totals: unknown }) => [g.key, g.totals]),
    [
      ["north", sums([rb])],
      ["pumps", sums([rb])],
    ],
    "the label filter keeps SIMs carrying it (with all their labels)",
  );
  t.same(filtered.json.totals, sums([rb]));
  const hours = await fleetUsage(client, "from=2026-11-05T10:00:00Z&to=2026-11-05T12:00:00Z&granularity=hour&groupBy=label");
  t.same(
    hours.json.groups.map((g: { key: string; series: Array<{ bytes: number }> }) => [g.key, g.series.map((b) => b.bytes)]),
    [
      ["north", [100, 1000]],
      ["pumps", [100, 0]],
    ],
  );
});

t.test("grouped by rate plan (the SIM's current plan) and by network", async (t) => {
  const { client, sim } = await fleet();
  const gold = await createRatePlan(prisma, { name: "Gold" });
  const silver = await createRatePlan(prisma, { name: "Silver" });
  const g1 = await sim({ ratePlanId: gold.id });
  const g2 = await sim({ ratePlanId: gold.id });
  const sv = await sim({ ratePlanId: silver.id });
  const planless = await sim();
  const recs: Rec[] = [
    { sim: g1, at: "2026-11-05T10:00:00Z", up: 10n, down: 10n, network: "262-01" },
    { sim: g2, at: "2026-11-05T10:30:00Z", up: 10n, down: 10n, network: "262-02" },
    { sim: sv, at: "2026-11-05T11:00:00Z", up: 100n, down: 100n, network: "262-01" },
    { sim: planless, at: "2026-11-05T12:00:00Z", up: 1n, down: 1n },
  ];
  await addUsage(recs);
  const [a, b, c, d] = recs as [Rec, Rec, Rec, Rec];
  const range = "from=2026-11-05T00:00:00Z&to=2026-11-06T00:00:00Z";

  const byPlan = await fleetUsage(client, `${range}&groupBy=ratePlan&top=10`);
  t.same(
    byPlan.json.groups.map((g: { key: string | null; name: string | null; totals: unknown }) => [g.key, g.name, g.totals]),
    [
      [silver.id, "Silver", sums([c])],
      [gold.id, "Gold", sums([a, b])],
      [null, null, sums([d])],
    ],
  );
  // The SIM moves to Silver: all its usage follows it (current plan, as documented).
  await prisma.sim.update({ where: { id: g1.id }, data: { ratePlanId: silver.id } });
  const moved = await fleetUsage(client, `${range}&groupBy=ratePlan&top=10`);
  t.same(moved.json.groups.map((g: { key: string; totals: unknown }) => [g.key, g.totals]), [
    [silver.id, sums([a, c])],
    [gold.id, sums([b])],
    [null, sums([d])],
  ]);
  const onePlan = await fleetUsage(client, `${range}&ratePlanId=${gold.id}`);
  t.same(onePlan.json.totals, sums([b]), "ratePlanId filter");

  const byNetwork = await fleetUsage(client, `${range}&groupBy=network`);
  t.same(
    byNetwork.json.groups.map((g: { key: string | null; totals: unknown }) => [g.key, g.totals]),
    [
      [null, sums([d])],
      ["262-01", sums([a, c])],
      ["262-02", sums([b])],
    ],
    "unknown network: the null group",
  );
  const netHours = await fleetUsage(client, "from=2026-11-05T10:00:00Z&to=2026-11-05T12:00:00Z&granularity=hour&groupBy=network&top=1");
  t.same(netHours.json.groups.map((g: { key: string; series: Array<{ bytes: number }> }) => [g.key, g.series.map((x) => x.bytes)]), [["262-01", [20, 200]]]);
  const refused = await fleetUsage(client, `${range}&groupBy=network&label=x`);
  t.match(refused.json, { status: 400, code: "validation_failed", errors: [{ field: "/query/groupBy" }] });
});

t.test("the fleet: parameter checks", async (t) => {
  const { client } = await fleet();
  const range = "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z";
  t.match((await fleetUsage(client, `${range}&top=3`)).json, { status: 400, code: "validation_failed", errors: [{ field: "/query/top" }] }, "top needs a grouping");
  t.match((await fleetUsage(client, `${range}&groupBy=sim&top=3&limit=3`)).json, { status: 400, errors: [{ field: "/query/top" }] });
  t.match((await fleetUsage(client, `${range}&limit=3`)).json, { status: 400, errors: [{ field: "/query/limit" }] });
  t.equal((await fleetUsage(client, `${range}&groupBy=sim&top=1001`)).status, 400);
  t.equal((await fleetUsage(client, `${range}&groupBy=color`)).status, 400);
  t.match((await fleetUsage(client, "from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=hour&groupBy=network&top=100")).json, { status: 400, code: "result_too_large" }, "720 hours x 100 groups");
  t.match((await fleetUsage(client, "from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z")).json, { status: 400, code: "invalid_range" });
  t.match((await fleetUsage(client, `${range}&groupBy=sim&cursor=bm90LWEtY3Vyc29y`)).json, { status: 400, code: "validation_failed" });
});

t.test("the fleet: tenant isolation and platform staff", async (t) => {
  const a = await createTenant(prisma);
  const b = await createTenant(prisma);
  const simA = await createSim(prisma, { tenantId: a.id });
  const simB = await createSim(prisma, { tenantId: b.id });
  await addUsage([
    { sim: simA, at: "2026-11-10T10:00:00Z", up: 1n, down: 2n },
    { sim: simB, at: "2026-11-10T10:00:00Z", up: 30n, down: 40n },
  ]);
  const range = "from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z";
  const keyA = await keyClient(ctx, a.id, ["usage:read"]);
  const keyB = await keyClient(ctx, b.id, ["usage:read"]);

  const own = await fleetUsage(keyB, `${range}&groupBy=sim`);
  t.same(own.json.groups.map((g: { key: string }) => g.key), [simB.iccid]);
  t.equal(own.json.tenantId, b.id);
  t.same(own.json.totals, sums([{ sim: simB, at: "", up: 30n, down: 40n }]), "B's totals hold nothing of A");
  t.notMatch(JSON.stringify((await fleetUsage(keyB, `${range}&groupBy=sim&iccid=${simA.iccid}`)).json.groups), simA.iccid, "A's ICCID as a filter matches nothing of B's");
  for (const groupBy of ["none", "sim", "label", "ratePlan", "network"]) {
    const res = await fleetUsage(keyB, `${range}&groupBy=${groupBy}&tenantId=${a.id}`);
    t.equal(res.status, 404, `B naming A's tenant (${groupBy}): 404`);
    t.equal(res.json.code, "not_found");
  }
  t.equal((await fleetUsage(keyB, `${range}&tenantId=${a.id}&format=csv`)).status, 404, "as CSV too");
  t.equal((await fleetUsage(keyA, `${range}&tenantId=${a.id}`)).status, 200, "naming one's own tenant is fine");

  const staff = await signedIn(w.staff.owner, { mfa: true });
  const forA = await fleetUsage(staff, `${range}&groupBy=sim&tenantId=${a.id}`);
  t.equal(forA.status, 200, "platform staff read any tenant's");
  t.same(forA.json.groups.map((g: { key: string }) => g.key), [simA.iccid]);
  const ownTenant = await fleetUsage(staff, range);
  t.equal(ownTenant.json.tenantId, w.platform.id, "without tenantId: their own tenant");
  t.same(ownTenant.json.totals, ZERO);
  t.equal((await fleetUsage(staff, `${range}&tenantId=00000000-0000-7000-8000-000000000000`)).status, 404, "a tenant that does not exist");

  const billing = await signedIn(w.usersA.billing);
  t.equal((await fleetUsage(billing, range)).status, 200, "billing contacts read the fleet's usage");
  t.equal((await billing.get("/v1/sims")).status, 403, "but not the SIMs");
  t.equal((await fleetUsage(await keyClient(ctx, a.id, ["sims:read"]), range)).status, 403, "a key without usage:read");
});

t.test("CSV: by Accept or format=csv, the same figures, the watermark in headers", async (t) => {
  const { client, sim } = await fleet();
  const s = await sim({ labels: ["north"] });
  const plain = await sim();
  const recs: Rec[] = [
    { sim: s, at: "2026-11-30T23:59:59.999Z", up: 1n, down: 2n ** 60n, mo: 1, network: "262-01" },
    { sim: plain, at: "2026-12-01T00:00:00.000Z", up: 3n, down: 4n },
  ];
  await addUsage(recs);

  const one = await simUsage(client, s.iccid, "from=2026-11-29T00:00:00Z&to=2026-12-01T00:00:00Z", { accept: "text/csv" });
  t.equal(one.status, 200);
  t.match(one.headers["content-type"], /^text\/csv; charset=utf-8/);
  t.equal(one.headers["content-disposition"], `attachment; filename="usage-${s.iccid}-day.csv"`);
  t.match(one.headers["usage-rolled-up-through"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.equal(one.headers["usage-final-through"], undefined, "no feed declared: no final watermark");
  t.match(one.headers.vary, /Accept/);
  t.equal(
    one.body,
    "iccid,start,bytesUp,bytesDown,bytes,smsMo,smsMt,records\r\n" +
      `${s.iccid},2026-11-29T00:00:00.000Z,0,0,0,0,0,0\r\n` +
      `${s.iccid},2026-11-30T00:00:00.000Z,1,${2n ** 60n},${2n ** 60n + 1n},1,0,1\r\n`,
    "a row per bucket, zeros included; big counts exact",
  );
  const viaFormat = await simUsage(client, s.iccid, "from=2026-11-29T00:00:00Z&to=2026-12-01T00:00:00Z&format=csv");
  t.equal(viaFormat.body, one.body, "format=csv answers the same");
  const json = await simUsage(client, s.iccid, "from=2026-11-29T00:00:00Z&to=2026-12-01T00:00:00Z&format=json", { accept: "text/csv" });
  t.match(json.headers["content-type"], /^application\/json/, "format=json wins over Accept");

  const byLabel = await fleetUsage(client, "from=2026-11-30T00:00:00Z&to=2026-12-02T00:00:00Z&groupBy=label", { accept: "text/csv;q=0.9, application/json;q=0.5" });
  t.equal(
    byLabel.body,
    "label,start,bytesUp,bytesDown,bytes,smsMo,smsMt,records\r\n" + `north,2026-11-30T00:00:00.000Z,1,${2n ** 60n},${2n ** 60n + 1n},1,0,1\r\n` + ",2026-12-01T00:00:00.000Z,3,4,7,0,0,1\r\n",
    "grouped: rows with usage, by time then group; the none group has an empty cell",
  );
  const bySim = await fleetUsage(client, "from=2026-11-30T00:00:00Z&to=2026-12-02T00:00:00Z&groupBy=sim&format=csv");
  const expected = [
    [s.iccid, `${s.iccid},2026-11-30T00:00:00.000Z,1,${2n ** 60n},${2n ** 60n + 1n},1,0,1\r\n`],
    [plain.iccid, `${plain.iccid},2026-12-01T00:00:00.000Z,3,4,7,0,0,1\r\n`],
  ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
  t.equal(bySim.body, "iccid,start,bytesUp,bytesDown,bytes,smsMo,smsMt,records\r\n" + expected.map((e) => e[1]).join(""), "by SIM: ICCID order");
  const byNetwork = await fleetUsage(client, "from=2026-11-30T00:00:00Z&to=2026-12-02T00:00:00Z&groupBy=network&format=csv");
  t.match(byNetwork.body, /^network,start,/);
  t.match(byNetwork.body, /\r\n,2026-12-01T00:00:00.000Z,3,4,7,0,0,1\r\n$/);
  const fleetHours = await fleetUsage(client, "from=2026-11-30T23:00:00Z&to=2026-12-01T02:00:00Z&granularity=hour&format=csv");
  t.same(
    fleetHours.body.split("\r\n").slice(1, -1).map((l) => l.split(",")[0]),
    ["2026-11-30T23:00:00.000Z", "2026-12-01T00:00:00.000Z", "2026-12-01T01:00:00.000Z"],
    "ungrouped: every bucket",
  );
  const byPlan = await fleetUsage(client, "from=2026-11-30T00:00:00Z&to=2026-12-02T00:00:00Z&groupBy=ratePlan&format=csv");
  t.match(byPlan.body, /^ratePlanId,ratePlanName,start,/);

  const longHours = await simUsage(client, s.iccid, "granularity=hour&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&format=csv");
  t.equal(longHours.status, 200, "CSV has no range cap");
  t.equal(longHours.body.split("\r\n").length - 2, 365 * 24, "a row per hour of the year");

  const refused = await fleetUsage(client, "groupBy=sim&top=5", { accept: "text/csv" });
  t.equal(refused.status, 400, "top does not apply to an export");
  t.match(refused.headers["content-type"], /^application\/problem\+json/, "refusals stay problem+json");
  const backwards = await simUsage(client, s.iccid, "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", { accept: "text/csv" });
  t.match(backwards.json, { status: 400, code: "invalid_range" });
});

t.test("CSV carries the final watermark once a feed declared", async (t) => {
  const { tenant, client, sim } = await fleet();
  const s = await sim();
  const through = new Date("2026-12-01T00:00:00.000Z");
  await prisma.usageWatermark.create({ data: { tenantId: tenant.id, completeThrough: through, declaredAt: new Date(Date.now() - 60_000) } });
  const res = await simUsage(client, s.iccid, "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z", { accept: "text/csv" });
  t.equal(res.headers["usage-final-through"], through.toISOString());
  const json = await fleetUsage(client, "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z");
  t.equal(json.json.completeness.finalThrough, through.toISOString());
});

t.test("Accept negotiation", async (t) => {
  t.equal(wantsCsv(undefined, undefined), false);
  t.equal(wantsCsv(undefined, "text/csv"), true);
  t.equal(wantsCsv(undefined, "application/json"), false);
  t.equal(wantsCsv(undefined, "*/*"), false, "wildcards: JSON, the default");
  t.equal(wantsCsv(undefined, "text/csv;q=0.4, application/json"), false);
  t.equal(wantsCsv(undefined, "application/json;q=0.4, text/csv"), true);
  t.equal(wantsCsv(undefined, "text/csv;q=0"), false);
  t.equal(wantsCsv("json", "text/csv"), false);
  t.equal(wantsCsv("csv", "application/json"), true);
});
