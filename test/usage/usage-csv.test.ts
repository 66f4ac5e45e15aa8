// Usage CSV exports stream: a 50,000-row export arrives complete and in order while the server reads it in
// pages of at most 5,000 rows, each page queried only when the client reads on, and a client that goes away
// stops the queries. Every SQL statement of the usage API is counted through the shared runner.

import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import t from "tap";
import type { SqlRunner } from "../../src/platform/db/database.js";
import { CSV_PAGE_ROWS } from "../../src/modules/usage/usage-csv.js";
import { keyClient } from "../devices/helpers.js";
import { build } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";

const ctx = await build(t);
const { prisma, app } = ctx;
const tenant = await createTenant(prisma);
const client = await keyClient(ctx, tenant.id, ["usage:read"]);
const authorization = (client.defaults.headers ?? {}).authorization!;

const SIMS = 1000;
const DAYS = 50;
const FROM = "2026-09-01T00:00:00Z";
const TO = "2026-10-21T00:00:00Z"; // 50 days
const EXPORT = `/v1/usage?groupBy=sim&from=${FROM}&to=${TO}&format=csv`;

// 1,000 SIMs x 50 days of usage_daily: 50,000 (SIM, day) rows, plus labels for the grouped-by-time export.
const sql = ctx.runtime.db.sql;
await sql.query(
  `INSERT INTO connectivity.sims (id, tenant_id, iccid, imsi, form_factor, status, labels, updated_at)
   SELECT gen_random_uuid(), $1, '8949' || lpad(g::text, 15, '0'), '26299' || lpad(g::text, 10, '0'), 'ff4', 'active', ARRAY['l' || lpad((g % 400)::text, 3, '0')]::varchar[], now()
   FROM generate_series(1, ${SIMS}) g`,
  [tenant.id],
);
await sql.query(
  `INSERT INTO connectivity.usage_daily (tenant_id, sim_id, day, bytes_up, bytes_down, sms_mo, sms_mt, records)
   SELECT s.tenant_id, s.id, $2::date + d, 1000 + d, (right(s.iccid, 6)::int8 * 1000) + d, d % 3, 1, 1 + d % 5
   FROM connectivity.sims s, generate_series(0, ${DAYS - 1}) d WHERE s.tenant_id = $1`,
  [tenant.id, FROM.slice(0, 10)],
);
const [expected] = await sql.query<{ bytes: string; rows: string }>("SELECT sum(bytes_up + bytes_down)::text AS bytes, count(*)::text AS rows FROM connectivity.usage_daily WHERE tenant_id = $1", [tenant.id]);

/** Every statement the API runs through the shared SQL runner: how many rows each returned, in order. */
const queries: number[] = [];
const original = sql.query.bind(sql);
(sql as { query: SqlRunner["query"] }).query = async <T>(text: string, params?: unknown[]) => {
  const rows = await original<T>(text, params);
  queries.push(rows.length);
  return rows;
};

/** Pages of the export: 100 SIMs x 50 days = 5,000 rows each, plus the SIM page that finds the end. */
const PAGES = (SIMS * DAYS) / CSV_PAGE_ROWS;
const ALL_QUERIES = 2 * PAGES + 1;

function parse(body: string): string[][] {
  t.ok(body.endsWith("\r\n"));
  return body.slice(0, -2).split("\r\n").map((l) => l.split(","));
}

t.test("a 50,000-row export is complete, in order, and read in pages of at most 5,000 rows", async (t) => {
  queries.length = 0;
  const res = await client.get(EXPORT);
  t.equal(res.status, 200);
  t.equal(res.headers["content-length"], undefined, "no length known in advance: the body is streamed");
  const [header, ...rows] = parse(res.body);
  t.same(header, ["iccid", "start", "bytesUp", "bytesDown", "bytes", "smsMo", "smsMt", "records"]);
  t.equal(rows.length, SIMS * DAYS);
  t.equal(String(rows.length), expected!.rows);
  t.equal(rows.reduce((s, r) => s + BigInt(r[4]!), 0n).toString(), expected!.bytes, "the bytes add up to the rollup's");
  t.ok(rows.every((r) => BigInt(r[2]!) + BigInt(r[3]!) === BigInt(r[4]!)), "bytes = up + down on every row");
  const ordered = rows.every((r, i) => i === 0 || rows[i - 1]![0]! < r[0]! || (rows[i - 1]![0] === r[0] && rows[i - 1]![1]! < r[1]!));
  t.ok(ordered, "by ICCID, then time; no row repeated");
  t.equal(new Set(rows.map((r) => r[0])).size, SIMS);
  t.equal(queries.length, ALL_QUERIES, `${PAGES} pages: a SIM page and a usage page each, and the SIM page that ends it`);
  t.ok(Math.max(...queries) <= CSV_PAGE_ROWS, `no statement returned more than ${CSV_PAGE_ROWS} rows (largest: ${Math.max(...queries)})`);
});

t.test("pages are queried only as the client reads", async (t) => {
  queries.length = 0;
  const res = await app.inject({ method: "GET", url: EXPORT, headers: { authorization }, payloadAsStream: true });
  t.equal(res.statusCode, 200);
  const stream = res.stream() as Readable;
  // Take the first piece, then stop reading for a while: a server that buffered the export would run every query now.
  const first = await new Promise<Buffer>((resolve) => stream.once("data", (chunk: Buffer) => (stream.pause(), resolve(chunk))));
  t.match(first.toString("utf8"), /^iccid,start,/);
  await new Promise((r) => setTimeout(r, 500));
  const whilePaused = queries.length;
  t.ok(whilePaused <= 6, `${whilePaused} of ${ALL_QUERIES} statements run while the client holds its first piece`);

  const rest: Buffer[] = [first];
  stream.on("data", (chunk: Buffer) => rest.push(chunk));
  const ended = new Promise((resolve) => stream.once("end", resolve));
  stream.resume();
  await ended;
  t.equal(parse(Buffer.concat(rest).toString("utf8")).length, SIMS * DAYS + 1, "then the rest, complete");
  t.equal(queries.length, ALL_QUERIES);
});

t.test("a client that goes away stops the export's queries", async (t) => {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  queries.length = 0;
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: EXPORT, headers: { authorization } }, (response) => {
      t.equal(response.headers["transfer-encoding"], "chunked");
      response.once("data", () => {
        req.destroy();
        resolve();
      });
    });
    req.on("error", reject);
    req.end();
  });
  // Let the page in flight finish; after that nothing more may run.
  let settled = -1;
  for (let i = 0; i < 20 && settled !== queries.length; i++) {
    settled = queries.length;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(queries.length, settled, "the queries stopped");
  t.ok(settled < ALL_QUERIES, `${settled} of ${ALL_QUERIES} statements ran before the export was abandoned`);
  const after = await client.get("/v1/usage?from=2026-09-01T00:00:00Z&to=2026-09-02T00:00:00Z");
  t.equal(after.status, 200, "and the service carries on");
});

t.test("HEAD answers the export's headers without reading it", async (t) => {
  queries.length = 0;
  const res = await app.inject({ method: "HEAD", url: EXPORT, headers: { authorization } });
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^text\/csv/);
  t.match(res.headers["usage-rolled-up-through"], /Z$/);
  t.equal(res.body, "");
  t.equal(queries.length, 0, "no page was queried");
});

t.test("grouped by label, by time: windows adapt to the groups so pages stay near 5,000 rows", async (t) => {
  queries.length = 0;
  const res = await client.get(`/v1/usage?groupBy=label&from=${FROM}&to=${TO}&format=csv`);
  t.equal(res.status, 200);
  const [header, ...rows] = parse(res.body);
  t.same(header, ["label", "start", "bytesUp", "bytesDown", "bytes", "smsMo", "smsMt", "records"]);
  t.equal(rows.length, 400 * DAYS, "400 labels x 50 days");
  t.equal(rows.reduce((s, r) => s + BigInt(r[4]!), 0n).toString(), expected!.bytes, "each SIM has one label: the same bytes");
  t.ok(rows.every((r, i) => i === 0 || rows[i - 1]![1]! < r[1]! || (rows[i - 1]![1] === r[1] && rows[i - 1]![0]! < r[0]!)), "by time, then label");
  t.ok(Math.max(...queries) <= CSV_PAGE_ROWS, `largest page ${Math.max(...queries)} rows`);
  t.ok(queries.length <= 8, `${queries.length} pages: the first bucket alone, then windows of 12 days`);
});

t.test("one series over a long range: every hour, 5,000 per page", async (t) => {
  const [sim] = await sql.query<{ iccid: string }>("SELECT iccid FROM connectivity.sims WHERE tenant_id = $1 ORDER BY iccid LIMIT 1", [tenant.id]);
  queries.length = 0;
  const res = await client.get(`/v1/sims/${sim!.iccid}/usage?granularity=hour&from=2026-01-01T00:00:00Z&to=2028-01-01T00:00:00Z`, { accept: "text/csv" });
  t.equal(res.status, 200);
  const rows = parse(res.body).slice(1);
  t.equal(rows.length, 730 * 24, "two years of hours, zeros included");
  t.equal(rows[0]![1], "2026-01-01T00:00:00.000Z");
  t.equal(rows.at(-1)![1], "2027-12-31T23:00:00.000Z");
  t.same(queries, [5000, 5000, 5000, 2520], "four windows of at most 5,000 hours");
});
