// Issue 4 acceptance: an IMEI change on a SIM locked with `onMismatch: suspend` suspends it and sends a webhook
// whose signature a receiver verifies with the endpoint secret.

import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import { build } from "../helpers/build.js";
import { createWorld } from "../helpers/factories.js";
import { attach, createSimUnique, feed, imeiOf, networkFeed, put } from "./helpers.js";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * The receiver's side of Standard Webhooks, written from the specification (standardwebhooks.com), not from our
 * sender: the key is the base64 after `whsec_`; the signed content is `${webhook-id}.${webhook-timestamp}.${body}`;
 * the header holds space-separated `v1,<base64 HMAC-SHA256>` entries, any of which may match; the timestamp
 * must be within 5 minutes of now (replay protection).
 */
function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    if (version !== "v1" || !signature) return false;
    const given = Buffer.from(signature, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test("a SIM locked with onMismatch suspend, seen in another device: suspended, and a verifiable webhook", async (t) => {
  const ctx = await build(t, { WEBHOOK_ALLOW_PRIVATE_URLS: "true" }, { startJobs: true });
  const w = await createWorld(ctx.prisma);

  // The customer's receiver: a plain HTTP server that keeps what it gets.
  const received: Received[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/conekt/webhooks`;

  const owner = ctx.client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  const endpoint = await owner.post("/v1/webhook-endpoints", { url, events: ["imei.mismatch"] });
  t.equal(endpoint.status, 201);
  const secret: string = endpoint.json.secret;
  t.match(secret, /^whsec_/);

  const sim = await createSimUnique(ctx.prisma, { tenantId: w.tenantA.id });
  const [lockedTo, intruder] = [imeiOf("35345678"), imeiOf("86000003")];
  t.equal((await put(owner, sim.iccid, { mode: "lock", imei: lockedTo, onMismatch: "suspend" })).status, 200);

  // The operator's feed reports the SIM attaching in another device.
  const operatorFeed = await networkFeed(ctx, w.platform.id);
  const seenAt = new Date(Date.now() - 1000);
  t.match((await feed(operatorFeed, [attach(sim.iccid, intruder, seenAt, { network: "262-07" })])).json, { accepted: 1, rejected: 0 });

  const suspended = await waitFor("the suspension", async () => {
    const res = await owner.get(`/v1/sims/${sim.iccid}`);
    return res.json.status === "suspended" ? res.json : undefined;
  });
  t.equal(suspended.statusReason, "imei_mismatch");
  const history = await owner.get(`/v1/sims/${sim.iccid}/events`);
  t.match(
    history.json.items.find((e: { kind: string; toStatus: string | null }) => e.kind === "state_changed" && e.toStatus === "suspended"),
    { fromStatus: "active", reasonCode: "imei_mismatch" },
    "the SIM's history names the reason",
  );

  const delivery = await waitFor("the webhook", async () => received.find((r) => r.body.includes('"imei.mismatch"')));
  t.ok(verifyStandardWebhook(secret, delivery.headers, delivery.body), "the receiver verifies the signature with the endpoint secret");
  t.notOk(verifyStandardWebhook(secret, delivery.headers, delivery.body.replace(intruder, lockedTo)), "a changed body does not verify");
  t.notOk(verifyStandardWebhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`, delivery.headers, delivery.body), "another secret does not verify");
  const message = JSON.parse(delivery.body);
  t.match(message, {
    type: "imei.mismatch",
    data: { iccid: sim.iccid, mode: "lock", expectedImei: lockedTo, observedImei: intruder, network: "262-07", at: seenAt.toISOString(), action: "suspend" },
  });
  t.equal(delivery.headers["content-type"], "application/json");

  const events = (await owner.get(`/v1/sims/${sim.iccid}/imei-events`)).json.items;
  t.match(events[0], { kind: "mismatch", imei: intruder, previousImei: null, actionTaken: "suspend", source: "network_event" });
});
