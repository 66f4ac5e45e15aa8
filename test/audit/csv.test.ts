// GET /v1/audit-events.csv: RFC 4180, neutralised formulas, the same filters and permissions as the list, and
// a large export that arrives complete, in pieces, as the server pages through the log.

import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import type { Scope } from "../../src/modules/access/scopes.js";
import { issueApiKey } from "../../src/modules/api-keys/api-keys.repository.js";
import { AUDIT_CSV_COLUMNS, csvField } from "../../src/modules/audit/audit.csv.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";
import { seedEvents } from "./helpers.js";

/** A strict RFC 4180 reader (CRLF records, quoted fields with doubled quotes), independent of the writer. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const record: string[] = [];
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new Error("unterminated quoted field");
          field += text.slice(i, q);
          i = q + 1;
          if (text[i] === '"') {
            field += '"';
            i++;
          } else break;
        }
      } else {
        const end = text.slice(i).search(/,|\r\n/);
        if (end < 0) throw new Error("record without CRLF");
        field = text.slice(i, i + end);
        if (/["\r\n]/.test(field)) throw new Error(`unquoted field holds a quote or line break: ${JSON.stringify(field)}`);
        i += end;
      }
      record.push(field);
      if (text.startsWith(",", i)) i++;
      else if (text.startsWith("\r\n", i)) {
        i += 2;
        break;
      } else throw new Error(`expected , or CRLF at ${i}`);
    }
    records.push(record);
  }
  return records;
}

t.test("fields: formulas neutralised, RFC 4180 quoting", async (t) => {
  t.equal(csvField('=HYPERLINK("http://evil")'), `"'=HYPERLINK(""http://evil"")"`);
  t.equal(csvField("+1+1"), "'+1+1");
  t.equal(csvField("-2"), "'-2");
  t.equal(csvField("@SUM(A1)"), "'@SUM(A1)");
  t.equal(csvField("\t=1"), "'\t=1");
  t.equal(csvField("\r=1"), `"'\r=1"`);
  t.equal(csvField("a,b"), `"a,b"`);
  t.equal(csvField('say "hi"'), `"say ""hi"""`);
  t.equal(csvField("one\ntwo"), `"one\ntwo"`);
  t.equal(csvField("a=b"), "a=b", "only a leading = is a formula");
  t.equal(csvField(null), "");
  t.equal(csvField(42), "42");
  t.same(parseCsv(`${csvField("x")},${csvField('q"uote,')}\r\n`), [["x", 'q"uote,']], "the reader reads what the writer writes");
});

const { app, prisma } = await build(t);
const w = await createWorld(prisma);
async function keyFor(tenantId: string, scopes: Scope[]): Promise<string> {
  const { key } = await prisma.$transaction((tx) => issueApiKey(tx, systemActor("test"), { tenantId, name: "csv test", scopes, expiresAt: null, createdById: null }));
  return key;
}
const readerKey = await keyFor(w.tenantA.id, ["audit:read"]);
const reader = new Client(app, { headers: { authorization: `Bearer ${readerKey}` } });

t.test("hostile values come out as text, under the documented header", async (t) => {
  const evil = '=HYPERLINK("http://evil")';
  await seedEvents(prisma, w.tenantA.id, 1, () => ({ action: "test.evil", targetType: "sim", targetId: evil, data: { note: evil, "@x": "+y" } }), {
    actor: { name: "test", ip: "198.51.100.7", userAgent: "-cmd|' /C calc'!A0", requestId: "req-1" },
  });
  const res = await reader.get("/v1/audit-events.csv?action=test.evil");
  t.equal(res.status, 200);
  t.match(res.headers["content-type"], /^text\/csv; charset=utf-8/);
  t.match(res.headers["content-disposition"], new RegExp(`^attachment; filename="audit-events-${w.tenantA.id}\\.csv"$`));
  const [header, row, ...rest] = parseCsv(res.body);
  t.same(header, [...AUDIT_CSV_COLUMNS]);
  t.same(header, ["seq", "id", "at", "actorType", "actorId", "action", "targetType", "targetId", "ip", "userAgent", "requestId", "data"]);
  t.same(rest, []);
  const cell = (name: (typeof AUDIT_CSV_COLUMNS)[number]) => row![AUDIT_CSV_COLUMNS.indexOf(name)];
  t.equal(cell("targetId"), `'${evil}`, "target neutralised");
  t.equal(cell("userAgent"), "'-cmd|' /C calc'!A0", "user agent neutralised");
  t.equal(cell("action"), "test.evil");
  t.equal(cell("ip"), "198.51.100.7");
  t.equal(cell("actorType"), "system");
  t.equal(cell("actorId"), "test");
  t.match(cell("at"), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.equal(cell("data"), `{"@x":"+y","note":${JSON.stringify(evil)}}`, "data is sorted JSON: it starts with { and cannot be a formula");
  t.same(JSON.parse(cell("data")!), { note: evil, "@x": "+y" });
});

t.test("refusals and bad filters answer problem+json before any CSV", async (t) => {
  const noScope = new Client(app, { headers: { authorization: `Bearer ${await keyFor(w.tenantA.id, ["sims:read"])}` } });
  const refused = await noScope.get("/v1/audit-events.csv");
  t.equal(refused.status, 403);
  t.match(refused.headers["content-type"], /^application\/problem\+json/);
  const other = await reader.get(`/v1/audit-events.csv?tenantId=${w.tenantB.id}`);
  t.equal(other.status, 404, "another tenant's log is not found");
  const bad = await reader.get("/v1/audit-events.csv?action=DROP%20TABLE");
  t.equal(bad.status, 400);
  // Ajv's errors name the querystring `/querystring/...` today, ours `/query/...`: either names the parameter.
  t.equal(bad.json.errors.length, 1);
  t.match(bad.json.errors[0].field, /^\/query(string)?\/action$/);
  t.equal((await reader.get("/v1/audit-events.csv?limit=10")).status, 400, "no paging parameters: the export is everything");
  t.equal((await new Client(app).get("/v1/audit-events.csv")).status, 401);
});

t.test("a 3,000-event export is complete, newest first, only the tenant's own, and streamed", async (t) => {
  await seedEvents(prisma, w.tenantA.id, 3000, (i) => ({ action: "test.bulk", targetType: "sim", targetId: `sim-${i}`, data: { i } }), { perTransaction: 500 });
  await seedEvents(prisma, w.tenantB.id, 50, (i) => ({ action: "test.bulk", targetType: "sim", targetId: `b-${i}`, data: { i } }));

  const res = await reader.get("/v1/audit-events.csv?action=test.bulk");
  t.equal(res.status, 200);
  const [header, ...rows] = parseCsv(res.body);
  t.equal(header!.length, AUDIT_CSV_COLUMNS.length);
  t.equal(rows.length, 3000, "every event, once");
  const seqs = rows.map((r) => Number(r[0]));
  t.ok(seqs.every((s, i) => i === 0 || s < seqs[i - 1]!), "newest first");
  t.same(rows.map((r) => JSON.parse(r[11]!).i), Array.from({ length: 3000 }, (_, i) => 2999 - i), "no event repeated or skipped across pages");
  t.notOk(rows.some((r) => r[7]!.startsWith("b-")), "no event of tenant B");
  t.equal(res.headers["content-length"], undefined, "no length known in advance: the body is streamed");

  // Over a real socket: the body arrives chunked, in several pieces, as the server pages through the log.
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const streamed = await new Promise<{ chunks: number; bytes: string; encoding: string | undefined }>((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/v1/audit-events.csv?action=test.bulk", headers: { authorization: `Bearer ${readerKey}` } }, (response) => {
      let chunks = 0;
      let bytes = "";
      response.setEncoding("utf8");
      response.on("data", (d: string) => {
        chunks++;
        bytes += d;
      });
      response.on("end", () => resolve({ chunks, bytes, encoding: response.headers["transfer-encoding"] }));
      response.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
  t.equal(streamed.encoding, "chunked");
  t.ok(streamed.chunks > 1, `arrived in ${streamed.chunks} pieces`);
  t.equal(parseCsv(streamed.bytes).length, 3001, "complete over the socket too");
});
