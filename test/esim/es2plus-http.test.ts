import { readFileSync } from "node:fs";
import https from "node:https";
import t from "tap";
import { Es2PlusError } from "../../src/connectors/smdp/es2plus-connector.js";
import { createEs2PlusHttpClient } from "../../src/connectors/smdp/es2plus-http.js";
import { es2, makeCertificates, startFakeSmdp, withTempDir } from "./helpers.js";

/** The ES2+ HTTP client against a local SM-DP+ that checks each request's shape and answers like SGP.22. */
const ICCID = "8949010000000000018";
const EID = "89049032123451234512345678901235";

t.test("every function is a POST of the SGP.22 JSON shape, and successes are read", async (t) => {
  const smdp = await startFakeSmdp((path) => {
    if (path.endsWith("/downloadOrder")) return { json: es2({ iccid: ICCID }) };
    if (path.endsWith("/confirmOrder")) return { json: es2({ eid: EID, matchingId: "ABCDE-12345-FGHIJ-67890-KLMNO", smdpAddress: "rsp.smdp.example" }) };
    return { json: es2() };
  });
  t.teardown(smdp.close);
  const client = createEs2PlusHttpClient({ baseUrl: `${smdp.url}/`, functionRequesterId: "conekt-op", smdpAddress: "fallback.example" });

  t.same(await client.downloadOrder({ iccid: ICCID, eid: EID, profileType: "P9054-2" }), { iccid: ICCID });
  t.same(await client.confirmOrder({ iccid: ICCID, eid: EID, confirmationCode: "12345678", releaseFlag: true }), {
    matchingId: "ABCDE-12345-FGHIJ-67890-KLMNO",
    smdpAddress: "rsp.smdp.example",
    eid: EID,
  });
  await client.cancelOrder({ iccid: ICCID, matchingId: "ABCDE-12345-FGHIJ-67890-KLMNO", finalProfileStatusIndicator: "Available" });
  await client.releaseProfile({ iccid: ICCID });

  t.same(
    smdp.requests.map((r) => r.path),
    ["/gsma/rsp2/es2plus/downloadOrder", "/gsma/rsp2/es2plus/confirmOrder", "/gsma/rsp2/es2plus/cancelOrder", "/gsma/rsp2/es2plus/releaseProfile"],
  );
  for (const r of smdp.requests) {
    t.equal(r.headers["x-admin-protocol"], "gsma/rsp/v2.2.0", `${r.path}: X-Admin-Protocol`);
    t.equal(r.headers["content-type"], "application/json;charset=UTF-8", `${r.path}: Content-Type`);
    t.equal(r.body.header.functionRequesterIdentifier, "conekt-op");
    t.match(r.body.header.functionCallIdentifier, /^[0-9a-f-]{36}$/);
  }
  const ids = smdp.requests.map((r) => r.body.header.functionCallIdentifier);
  t.equal(new Set(ids).size, ids.length, "each call has its own functionCallIdentifier");
  const bodies = smdp.requests.map(({ body: { header: _h, ...rest } }) => rest);
  t.same(bodies, [
    { eid: EID, iccid: ICCID, profileType: "P9054-2" },
    { iccid: ICCID, eid: EID, confirmationCode: "12345678", releaseFlag: true },
    { iccid: ICCID, matchingId: "ABCDE-12345-FGHIJ-67890-KLMNO", finalProfileStatusIndicator: "Available" },
    { iccid: ICCID },
  ], "the function's fields, omitted ones left out");
});

t.test("ConfirmOrder without an SM-DP+ address in the answer uses the configured one", async (t) => {
  const smdp = await startFakeSmdp(() => ({ json: es2({ matchingId: "QWERT-ASDFG-ZXCVB-12345-67890" }) }));
  t.teardown(smdp.close);
  const client = createEs2PlusHttpClient({ baseUrl: smdp.url, functionRequesterId: "conekt", smdpAddress: "smdp.conekt.example" });
  t.same(await client.confirmOrder({ iccid: ICCID, releaseFlag: true }), { matchingId: "QWERT-ASDFG-ZXCVB-12345-67890", smdpAddress: "smdp.conekt.example" });
});

t.test("failures: a refusal names the SGP.22 codes; no answer is 'unavailable'", async (t) => {
  let answer: { status?: number; json?: unknown; delayMs?: number } = {};
  const smdp = await startFakeSmdp(() => answer);
  t.teardown(smdp.close);
  const client = createEs2PlusHttpClient({ baseUrl: smdp.url, functionRequesterId: "conekt", smdpAddress: "x.example", timeoutMs: 300 });
  const failure = async (fn: () => Promise<unknown>): Promise<Es2PlusError> => {
    const err = await fn().then(() => null, (e: unknown) => e);
    if (!(err instanceof Es2PlusError)) throw new Error(`expected an Es2PlusError, got ${String(err)}`);
    return err;
  };

  answer = { json: es2({}, "Failed", { subjectCode: "8.2.1", reasonCode: "3.9", subjectIdentifier: ICCID, message: "Unknown ICCID" }) };
  let err = await failure(() => client.downloadOrder({ iccid: ICCID }));
  t.equal(err.kind, "rejected");
  t.equal(err.fn, "downloadOrder");
  t.same(err.statusCode, { subjectCode: "8.2.1", reasonCode: "3.9" });
  t.equal(err.message, "The SM-DP+ refused downloadOrder: Failed (subject 8.2.1, reason 3.9): Unknown ICCID");

  answer = { json: es2({}, "Expired") };
  err = await failure(() => client.confirmOrder({ iccid: ICCID, releaseFlag: true }));
  t.equal(err.kind, "rejected");
  t.equal(err.message, "The SM-DP+ refused confirmOrder: Expired");

  answer = { json: es2({}, "Executed-WithWarning") };
  await client.cancelOrder({ iccid: ICCID, finalProfileStatusIndicator: "Available" });
  t.pass("Executed-WithWarning counts as executed (SGP.22)");

  answer = { json: es2({}) };
  err = await failure(() => client.confirmOrder({ iccid: ICCID, releaseFlag: true }));
  t.equal(err.kind, "rejected", "a ConfirmOrder success without a matching id is unusable");

  answer = { json: { hello: "world" } };
  err = await failure(() => client.releaseProfile({ iccid: ICCID }));
  t.match(err.message, /no functionExecutionStatus/);

  answer = { status: 401, json: { error: "nope" } };
  err = await failure(() => client.releaseProfile({ iccid: ICCID }));
  t.equal(err.kind, "rejected");
  t.match(err.message, /HTTP 401/);

  answer = { status: 503, json: {} };
  err = await failure(() => client.releaseProfile({ iccid: ICCID }));
  t.equal(err.kind, "unavailable");

  answer = { delayMs: 1000, json: es2() };
  const started = Date.now();
  err = await failure(() => client.releaseProfile({ iccid: ICCID }));
  t.equal(err.kind, "unavailable", "a timeout is unavailable");
  t.ok(Date.now() - started < 900, "given up at the deadline");
  t.equal(err.message, "The SM-DP+ did not answer releaseProfile.", "no transport details in the customer-facing message");
  t.match(String((err.cause as Error).message), /no answer within 300 ms/);

  const closed = createEs2PlusHttpClient({ baseUrl: "http://127.0.0.1:1", functionRequesterId: "conekt", smdpAddress: "x.example" });
  err = await failure(() => closed.downloadOrder({ iccid: ICCID }));
  t.equal(err.kind, "unavailable", "connection refused");
});

t.test("mutual TLS: the client presents its certificate and checks the SM-DP+'s against the CA", async (t) => {
  await withTempDir(async (dir) => {
    const pem = await makeCertificates(dir);
    const server = https.createServer({ cert: readFileSync(pem.serverCert), key: readFileSync(pem.serverKey), ca: readFileSync(pem.ca), requestCert: true, rejectUnauthorized: true });
    const seen: string[] = [];
    server.on("secureConnection", (socket) => seen.push(String((socket.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN)));
    const smdp = await startFakeSmdp(() => ({ json: es2({ iccid: ICCID }) }), server);
    t.teardown(smdp.close);

    const mutual = createEs2PlusHttpClient({ baseUrl: smdp.url, functionRequesterId: "conekt", smdpAddress: "x.example", tls: { certFile: pem.clientCert, keyFile: pem.clientKey, caFile: pem.ca } });
    t.same(await mutual.downloadOrder({ iccid: ICCID }), { iccid: ICCID });
    t.same(seen, ["client"], "the SM-DP+ saw our client certificate");

    const noCert = createEs2PlusHttpClient({ baseUrl: smdp.url, functionRequesterId: "conekt", smdpAddress: "x.example", tls: { caFile: pem.ca } });
    const refused = await noCert.downloadOrder({ iccid: ICCID }).then(() => null, (e: Es2PlusError) => e);
    t.equal(refused?.kind, "unavailable", "without a client certificate the handshake fails");

    const unknownCa = createEs2PlusHttpClient({ baseUrl: smdp.url, functionRequesterId: "conekt", smdpAddress: "x.example", tls: { certFile: pem.clientCert, keyFile: pem.clientKey } });
    const untrusted = await unknownCa.downloadOrder({ iccid: ICCID }).then(() => null, (e: Es2PlusError) => e);
    t.equal(untrusted?.kind, "unavailable", "an SM-DP+ certificate not signed by the configured CA is refused");
    t.equal(smdp.requests.length, 1, "only the mutually authenticated call reached the SM-DP+");
  });

  t.throws(() => createEs2PlusHttpClient({ baseUrl: "https://x.example", functionRequesterId: "c", smdpAddress: "x", tls: { certFile: "/nonexistent.pem" } }), /must be set together/);
});
