import t, { type Test } from "tap";
import { deliverSoon, emitWebhookEvents } from "../../src/modules/webhooks/webhook-events.js";
import { createWebhookDispatcher } from "../../src/modules/webhooks/webhook-dispatch.js";
import { createKeyring } from "../../src/platform/crypto.js";
import { build, type TestApp } from "../helpers/build.js";
import { eventually, signedIn, startReceiver, verifyStandardWebhook } from "./helpers.js";

/**
 * Real deliveries to receivers on 127.0.0.1 (hence WEBHOOK_ALLOW_PRIVATE_URLS=true), through the BullMQ workers
 * of this test's own Redis prefix.
 */
const ENV = { WEBHOOK_ALLOW_PRIVATE_URLS: "true", WEBHOOK_TIMEOUT_MS: "2000" };

async function setup(t: Test, answers: number[] = [200]) {
  const ctx = await build(t, ENV, { startJobs: true });
  const receiver = await startReceiver(t, answers);
  const { client, tenantId } = await signedIn(ctx, "admin");
  const endpoint = await client.post("/v1/webhook-endpoints", { url: receiver.url, events: ["sim.state_changed", "imei.mismatch"] });
  if (endpoint.status !== 201) throw new Error(endpoint.body);
  return { ctx, receiver, client, tenantId, endpointId: endpoint.json.id as string, secret: endpoint.json.secret as string };
}

/** Emits as a service would: the outbox rows in the change's transaction, the dispatch after commit. */
async function emit(ctx: TestApp, tenantId: string, data: Record<string, unknown>, type: "sim.state_changed" | "imei.mismatch" = "sim.state_changed"): Promise<string> {
  const [id] = await ctx.prisma.$transaction((tx) => emitWebhookEvents(tx, [{ tenantId, type, data }]));
  await deliverSoon(ctx.runtime.jobs, [id!]);
  return id!;
}

const dispatcher = (ctx: TestApp) =>
  createWebhookDispatcher({ prisma: ctx.prisma, keyring: createKeyring(ctx.runtime.secrets.encryptionKeys), config: ctx.config, jobs: () => ctx.runtime.jobs, log: () => undefined });

t.test("a delivery is signed so that an independent verifier accepts it", async (t) => {
  const { ctx, receiver, tenantId, endpointId, secret } = await setup(t);
  const deliveryId = await emit(ctx, tenantId, { iccid: "8949010000000000001", from: "active", to: "suspended", reason: "imei_mismatch" });
  const [got] = await receiver.waitFor(1);
  const delivery = await eventually(() => ctx.prisma.webhookDelivery.findFirst({ where: { id: deliveryId, status: "succeeded" } }), 10_000, "succeeded");

  t.equal(got!.headers["content-type"], "application/json");
  t.equal(got!.headers["user-agent"], "Conekt-Webhooks/1");
  t.equal(got!.headers["webhook-id"], delivery.messageId);
  t.match(got!.headers["webhook-id"], /^msg_[0-9a-f]{32}$/);
  t.ok(Math.abs(Number(got!.headers["webhook-timestamp"]) - Date.now() / 1000) < 10, "the timestamp is the attempt's, in Unix seconds");
  t.match(got!.headers["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}=$/, "one signature");
  t.ok(verifyStandardWebhook(secret, got!.headers, got!.body), "the receiver verifies it with the endpoint secret");
  const tampered = Buffer.from(got!.body.toString().replace("suspended", "active"));
  t.notOk(verifyStandardWebhook(secret, got!.headers, tampered), "a tampered body fails verification");
  const body = JSON.parse(got!.body.toString());
  t.match(body, { type: "sim.state_changed", timestamp: String, data: { iccid: "8949010000000000001", to: "suspended" } });

  const attempts = await ctx.prisma.webhookAttempt.findMany({ where: { deliveryId } });
  t.equal(attempts.length, 1);
  t.match(attempts[0], { attempt: 1, statusCode: 200, trigger: "automatic", error: null, responseExcerpt: "thanks" });
  t.equal(delivery.nextAttemptAt, null);

  const { client } = await signedIn(ctx, "owner", tenantId);
  const list = await client.get(`/v1/webhook-endpoints/${endpointId}/deliveries`);
  t.equal(list.status, 200);
  t.match(list.json.items[0], { id: deliveryId, status: "succeeded", attemptCount: 1, lastStatusCode: 200, attempts: [{ attempt: 1, statusCode: 200, trigger: "automatic" }] });
  t.same((await client.get(`/v1/webhook-endpoints/${endpointId}/deliveries?status=failed`)).json.items, []);
  t.same((await client.get(`/v1/webhook-endpoints/${endpointId}/deliveries?eventType=imei.mismatch`)).json.items, []);
});

t.test("a failure is retried with backoff; every attempt is logged", async (t) => {
  const { ctx, receiver, tenantId, endpointId, client } = await setup(t, [500, 200]);
  const deliveryId = await emit(ctx, tenantId, { iccid: "8949010000000000002" });
  await receiver.waitFor(1);
  const failed = await eventually(() => ctx.prisma.webhookAttempt.findFirst({ where: { deliveryId, attempt: 1 } }), 10_000, "attempt 1 logged");
  t.match(failed, { statusCode: 500, error: "HTTP 500", responseExcerpt: "receiver says no (500)", trigger: "automatic" });
  const pending = await ctx.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } });
  t.equal(pending.status, "pending");
  const gap = pending.nextAttemptAt!.getTime() - failed.at.getTime();
  t.ok(gap >= 4_500 && gap <= 5_500, `the second attempt is due 5 s (±10%) later: ${gap} ms`);

  // The 5 s retry runs on a delayed job of its own (the sweep would be up to 15 s late).
  const [first, second] = await receiver.waitFor(2, 15_000);
  t.equal(second!.headers["webhook-id"], first!.headers["webhook-id"], "the same webhook-id on the retry");
  const spacing = second!.at - first!.at;
  t.ok(spacing >= 4_400 && spacing < 12_000, `retried after ${spacing} ms`);
  const done = await eventually(() => ctx.prisma.webhookDelivery.findFirst({ where: { id: deliveryId, status: "succeeded" } }), 10_000, "succeeded");
  t.equal(done.attempts, 2);
  const log = (await client.get(`/v1/webhook-endpoints/${endpointId}/deliveries`)).json.items[0];
  t.match(log.attempts, [{ attempt: 1, statusCode: 500, error: "HTTP 500" }, { attempt: 2, statusCode: 200, error: null }]);
});

t.test("later retries follow the schedule; after the eighth attempt the delivery fails", async (t) => {
  const { ctx, receiver, tenantId } = await setup(t, [503]);
  const deliveryId = await emit(ctx, tenantId, { iccid: "8949010000000000003" });
  await eventually(() => ctx.prisma.webhookAttempt.findFirst({ where: { deliveryId, attempt: 1 } }), 10_000, "attempt 1");

  // Rather than wait 5 s: make the retry due now and drive the sweep processor directly.
  await ctx.prisma.webhookDelivery.update({ where: { id: deliveryId }, data: { nextAttemptAt: new Date(Date.now() - 1000) } });
  await dispatcher(ctx).sweep();
  const second = await eventually(() => ctx.prisma.webhookAttempt.findFirst({ where: { deliveryId, attempt: 2 } }), 10_000, "attempt 2");
  const afterTwo = await ctx.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } });
  const gap = afterTwo.nextAttemptAt!.getTime() - second.at.getTime();
  t.ok(gap >= 270_000 && gap <= 330_000, `the third attempt is due 5 min (±10%) later: ${gap} ms`);

  // Jump to the last step: six automatic attempts on record, the seventh now.
  for (let n = 3; n <= 7; n++) {
    await ctx.prisma.webhookAttempt.create({ data: { tenantId, deliveryId, attempt: n, statusCode: 503, durationMs: 1, trigger: "automatic" } });
  }
  await ctx.prisma.webhookDelivery.update({ where: { id: deliveryId }, data: { attempts: 7, nextAttemptAt: new Date(Date.now() - 1000) } });
  await dispatcher(ctx).sweep();
  const final = await eventually(() => ctx.prisma.webhookDelivery.findFirst({ where: { id: deliveryId, status: "failed" } }), 10_000, "failed");
  t.equal(final.attempts, 8);
  t.equal(final.nextAttemptAt, null, "no further attempt");
  t.equal(final.lastStatusCode, 503);
  t.equal(receiver.received.length, 3, "attempts 1, 2 and 8 reached the receiver");
});

t.test("manual redelivery: a new attempt now, same webhook-id, trigger manual, audited", async (t) => {
  const { ctx, receiver, tenantId, endpointId, client, secret } = await setup(t);
  const deliveryId = await emit(ctx, tenantId, { iccid: "8949010000000000004" }, "imei.mismatch");
  await eventually(() => ctx.prisma.webhookDelivery.findFirst({ where: { id: deliveryId, status: "succeeded" } }), 10_000, "succeeded");

  const res = await client.post(`/v1/webhook-endpoints/${endpointId}/deliveries/${deliveryId}/redeliver`);
  t.equal(res.status, 202, res.body);
  t.match(res.json, { id: deliveryId, status: "succeeded", eventType: "imei.mismatch" });
  const [first, again] = await receiver.waitFor(2);
  t.equal(again!.headers["webhook-id"], first!.headers["webhook-id"]);
  t.ok(verifyStandardWebhook(secret, again!.headers, again!.body), "signed afresh");
  t.same(again!.body, first!.body, "the same payload bytes");
  const manual = await eventually(() => ctx.prisma.webhookAttempt.findFirst({ where: { deliveryId, attempt: 2 } }), 10_000, "manual attempt");
  t.match(manual, { trigger: "manual", statusCode: 200 });
  const audit = await ctx.prisma.auditEvent.findFirstOrThrow({ where: { tenantId, action: "webhook_delivery.redelivery_requested" } });
  t.equal(audit.targetId, deliveryId);
  t.equal((await client.post(`/v1/webhook-endpoints/${endpointId}/deliveries/00000000-0000-7000-8000-000000000000/redeliver`)).status, 404);
});

t.test("after a rotation both secrets sign for the overlap", async (t) => {
  const { ctx, receiver, tenantId, endpointId, client, secret } = await setup(t);
  const rotated = await client.post(`/v1/webhook-endpoints/${endpointId}/rotate-secret`);
  t.equal(rotated.status, 200);
  await emit(ctx, tenantId, { iccid: "8949010000000000005" });
  const [got] = await receiver.waitFor(1);
  const signatures = String(got!.headers["webhook-signature"]).split(" ");
  t.equal(signatures.length, 2, "two signatures, space-separated");
  t.ok(verifyStandardWebhook(rotated.json.secret, got!.headers, got!.body), "the new secret verifies");
  t.ok(verifyStandardWebhook(secret, got!.headers, got!.body), "the old secret still verifies");
});

t.test("several workers never send the same attempt twice", async (t) => {
  const { ctx, receiver, tenantId } = await setup(t);
  // Outbox rows only (no deliver job): the sweeps of two dispatchers, and the scheduled one, race for them.
  const ids = await ctx.prisma.$transaction((tx) => emitWebhookEvents(tx, Array.from({ length: 30 }, (_, i) => ({ tenantId, type: "sim.state_changed" as const, data: { n: i } }))));
  await Promise.all([dispatcher(ctx).sweep(), dispatcher(ctx).sweep(), dispatcher(ctx).sweep()]);
  await eventually(async () => (await ctx.prisma.webhookDelivery.count({ where: { id: { in: ids }, status: "succeeded" } })) === 30, 15_000, "all delivered");
  await new Promise((r) => setTimeout(r, 500));
  const messageIds = receiver.received.map((r) => r.headers["webhook-id"]);
  t.equal(messageIds.length, 30, "30 requests for 30 deliveries");
  t.equal(new Set(messageIds).size, 30, "each message once");
  t.equal(await ctx.prisma.webhookAttempt.count({ where: { deliveryId: { in: ids } } }), 30);
  t.equal(await ctx.prisma.webhookAttempt.count({ where: { deliveryId: { in: ids }, attempt: { not: 1 } } }), 0);
});

t.test("a disabled or deleted endpoint gets nothing more", async (t) => {
  const { ctx, receiver, tenantId, endpointId, client } = await setup(t);
  const [pendingId] = await ctx.prisma.$transaction((tx) => emitWebhookEvents(tx, [{ tenantId, type: "sim.state_changed", data: { n: 1 } }]));
  await client.patch(`/v1/webhook-endpoints/${endpointId}`, { enabled: false });
  // Even if a retry were due, a claim skips a disabled endpoint.
  await ctx.prisma.webhookDelivery.update({ where: { id: pendingId! }, data: { status: "pending", nextAttemptAt: new Date(Date.now() - 1000) } });
  t.same(await dispatcher(ctx).deliver([pendingId!]), { sent: 0 });
  t.same(await ctx.prisma.$transaction((tx) => emitWebhookEvents(tx, [{ tenantId, type: "sim.state_changed", data: { n: 2 } }])), [], "no new delivery while disabled");
  await client.request("DELETE", `/v1/webhook-endpoints/${endpointId}`);
  t.equal(await ctx.prisma.webhookDelivery.count({ where: { endpointId } }), 0);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(receiver.received.length, 0);
});
