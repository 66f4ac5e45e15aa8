import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import t, { type Test } from "tap";
import { loadConfig } from "../../src/config.js";
import { createConnectors } from "../../src/connectors/connectors.js";
import type { NetworkChange } from "../../src/connectors/network/network-connector.js";
import { createNetworkHttp } from "../../src/connectors/network/network-http.js";
import { freePort } from "../helpers/net.js";

/** The HTTP network connector against a real local HTTP server playing the operator's provisioning API. */

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: any;
}

type Answer = (req: Received, res: ServerResponse) => void;

/** A provisioning API on 127.0.0.1 answering with `answer`; records every request. */
async function operator(t: Test, answer: Answer): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const r = { method: req.method!, url: req.url!, headers: req.headers, body: text ? JSON.parse(text) : undefined };
      received.push(r);
      answer(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

const CHANGES: NetworkChange[] = [
  { iccid: "8944500000000000001", imsi: "234150000000001", msisdn: "447700900001", action: "suspend" },
  { iccid: "8944500000000000002", imsi: "234150000000002", msisdn: null, action: "suspend" },
  { iccid: "8944500000000000003", imsi: "234150000000003", msisdn: "447700900003", action: "suspend" },
];

/** Every change done, answered in reverse order (the operator owes us no order). */
const allDone: Answer = (req, res) => json(res, 200, { results: [...req.body.changes].reverse().map((c: { iccid: string }) => ({ iccid: c.iccid, status: "done" })) });

t.test("posts the documented request with the bearer token, and matches results by ICCID, not order", async (t) => {
  const api = await operator(t, allDone);
  const network = createNetworkHttp({ url: `${api.url}/`, token: "s3cret-token" });
  t.equal(network.kind, "http");
  t.equal(network.maxBatch, 500);

  const results = await network.apply(CHANGES);
  t.same(results, CHANGES.map((c) => ({ iccid: c.iccid, ok: true })), "one result per change, in the order of the changes");

  t.equal(api.received.length, 1);
  const [req] = api.received;
  t.equal(req!.method, "POST");
  t.equal(req!.url, "/v1/subscribers/changes", "the trailing slash of the base URL is not doubled");
  t.equal(req!.headers.authorization, "Bearer s3cret-token");
  t.match(req!.headers["content-type"], /^application\/json/);
  t.equal(req!.headers.accept, "application/json");
  t.match(req!.body.requestId, /^[0-9a-f-]{36}$/);
  t.same(req!.body.changes, CHANGES, "iccid, imsi, msisdn (null when none) and action of each change");
  t.same(Object.keys(req!.body).sort(), ["changes", "requestId"]);

  await network.apply(CHANGES.slice(0, 1));
  t.not(api.received[1]!.body.requestId, req!.body.requestId, "a request id per call, for correlating logs");
  t.same(await network.apply([]), [], "nothing to change: no request");
  t.equal(api.received.length, 2);
});

t.test("per-SIM rejections become failed results with the operator's reason", async (t) => {
  const api = await operator(t, (req, res) =>
    json(res, 200, {
      results: [
        { iccid: CHANGES[2]!.iccid, status: "rejected", reason: "unknown_subscriber", message: "IMSI not provisioned in the HSS" },
        { iccid: CHANGES[0]!.iccid, status: "done" },
        { iccid: CHANGES[1]!.iccid, status: "rejected", reason: "Barred By Fraud Team" },
        { iccid: "8944500000000000999", status: "done" },
      ],
    }),
  );
  const results = await createNetworkHttp({ url: api.url, token: "t" }).apply(CHANGES);
  t.same(results, [
    { iccid: CHANGES[0]!.iccid, ok: true },
    { iccid: CHANGES[1]!.iccid, ok: false, reason: "network_rejected", detail: "Barred By Fraud Team" },
    { iccid: CHANGES[2]!.iccid, ok: false, reason: "unknown_subscriber", detail: "IMSI not provisioned in the HSS" },
  ], "a reason that is not a snake_case code is kept as the detail under the generic code; unknown ICCIDs ignored");
});

t.test("answers that leave the outcome unknown throw, so the job retries the chunk", async (t) => {
  const cases: Array<[string, Answer, RegExp]> = [
    ["a 5xx", (_q, res) => json(res, 503, { error: "maintenance" }), /HTTP 503.*maintenance/],
    ["a 500 without a body", (_q, res) => (res.writeHead(500), res.end()), /HTTP 500/],
    ["408", (_q, res) => json(res, 408, {}), /HTTP 408/],
    ["429", (_q, res) => json(res, 429, { error: "slow down" }), /HTTP 429/],
    ["malformed JSON", (_q, res) => json(res, 200, "{\"results\": [ {\"iccid\": "), /malformed answer \(the body is not JSON\)/],
    ["no results array", (_q, res) => json(res, 200, { ok: true }), /`results` is not an array/],
    ["an unknown status", (q, res) => json(res, 200, { results: q.body.changes.map((c: { iccid: string }) => ({ iccid: c.iccid, status: "pending" })) }), /neither "done" nor "rejected"/],
    ["a result missing", (q, res) => json(res, 200, { results: q.body.changes.slice(1).map((c: { iccid: string }) => ({ iccid: c.iccid, status: "done" })) }), /no result for ICCID 8944500000000000001/],
    ["a 204", (_q, res) => (res.writeHead(204), res.end()), /malformed answer/],
  ];
  for (const [name, answer, message] of cases) {
    const api = await operator(t, answer);
    await t.rejects(createNetworkHttp({ url: api.url, token: "t" }).apply(CHANGES), { message }, name);
  }
});

t.test("no answer within the timeout, or no server at all, throws", async (t) => {
  const silent = await operator(t, () => undefined);
  const started = Date.now();
  await t.rejects(createNetworkHttp({ url: silent.url, timeoutMs: 300 }).apply(CHANGES), { message: /no answer within 300 ms/ });
  t.ok(Date.now() - started < 3000, "gives up at the timeout");

  // A server that sends headers and then stalls the body is cut off by the same timeout.
  const trickle = await operator(t, (_q, res) => (res.writeHead(200, { "content-type": "application/json" }), res.write('{"results":[')));
  await t.rejects(createNetworkHttp({ url: trickle.url, timeoutMs: 300 }).apply(CHANGES), { message: /no answer within 300 ms/ });

  const closed = `http://127.0.0.1:${await freePort()}`;
  await t.rejects(createNetworkHttp({ url: closed }).apply(CHANGES), { message: /request failed \(ECONNREFUSED\)/ });
});

t.test("any other 4xx fails every change of the chunk with network_error and the status", async (t) => {
  const logged: string[] = [];
  const api = await operator(t, (_q, res) => json(res, 401, { error: "invalid token" }));
  const results = await createNetworkHttp({ url: api.url, token: "wrong-token", log: (m) => logged.push(m) }).apply(CHANGES);
  t.same(results, CHANGES.map((c) => ({ iccid: c.iccid, ok: false, reason: "network_error", detail: "The operator's provisioning API refused the request (HTTP 401)." })));
  t.match(logged.join("\n"), /HTTP 401 .*3 changes failed: .*invalid token/, "the operator's words go to the log");
  t.notMatch(logged.join("\n"), /wrong-token/, "never the token");

  const bad = await operator(t, (_q, res) => json(res, 422, { error: "batch too large" }));
  const refused = await createNetworkHttp({ url: bad.url }).apply(CHANGES.slice(0, 1));
  t.match(refused, [{ ok: false, reason: "network_error", detail: /HTTP 422/ }]);
  t.notOk(bad.received[0]!.headers.authorization, "no token configured: no Authorization header");
});

t.test("a batch above maxBatch is refused before any request", async (t) => {
  const api = await operator(t, allDone);
  const network = createNetworkHttp({ url: api.url, maxBatch: 2 });
  await t.rejects(network.apply(CHANGES), { message: /3 changes exceed the batch limit of 2/ });
  t.equal(api.received.length, 0);
});

t.test("createConnectors uses the HTTP connector when NETWORK_CONNECTOR_URL is set, else the simulator", async (t) => {
  const base = { NODE_ENV: "test", LOG_LEVEL: "silent" };
  const logs: string[] = [];
  const http = createConnectors(loadConfig({ ...base, NETWORK_CONNECTOR_URL: "https://operator.example/api/", NETWORK_CONNECTOR_TOKEN: "tok" }), (m) => logs.push(m));
  t.equal(http.network.kind, "http");
  t.match(logs.join("\n"), /network: operator provisioning API at https:\/\/operator\.example\/api/);
  t.notMatch(logs.join("\n"), /tok\b/);

  logs.length = 0;
  const sim = createConnectors(loadConfig(base), (m) => logs.push(m));
  t.equal(sim.network.kind, "simulator");
  t.match(logs.join("\n"), /network: built-in simulator/);
});
