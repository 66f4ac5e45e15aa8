import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import t, { type Test } from "tap";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { createWebhookDispatcher } from "../../src/modules/webhooks/webhook-dispatch.js";
import { emitWebhookEvents } from "../../src/modules/webhooks/webhook-events.js";
import { insertEndpoint } from "../../src/modules/webhooks/webhooks.repository.js";
import { createKeyring } from "../../src/platform/crypto.js";
import { build, type TestApp } from "../helpers/build.js";
import { createTenant } from "../helpers/factories.js";

/**
 * What happens at send time, driven through the dispatcher directly (no job workers): the address check
 * against DNS rebinding, redirects, the timeout and the answer excerpt.
 */
async function endpointWithDelivery(ctx: TestApp, url: string): Promise<string> {
  const tenant = await createTenant(ctx.prisma);
  const keyring = createKeyring(ctx.runtime.secrets.encryptionKeys);
  // Written past the API's check, as an endpoint saved when its host still resolved publicly would be.
  return ctx.prisma.$transaction(async (tx) => {
    await insertEndpoint(tx, keyring, systemActor("test"), { tenantId: tenant.id, url, events: ["sim.state_changed"], description: null });
    const [id] = await emitWebhookEvents(tx, [{ tenantId: tenant.id, type: "sim.state_changed", data: { iccid: "8949010000000000001" } }]);
    return id!;
  });
}

const dispatcher = (ctx: TestApp) =>
  createWebhookDispatcher({ prisma: ctx.prisma, keyring: createKeyring(ctx.runtime.secrets.encryptionKeys), config: ctx.config, jobs: () => ctx.runtime.jobs, log: () => undefined });

/** A TCP listener on 127.0.0.1 that only counts connections: proof of whether anything was sent. */
async function connectionCounter(t: Test) {
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, count: () => connections };
}

t.test("a host that now resolves to a private address is not contacted; the attempt records why", async (t) => {
  const ctx = await build(t);
  t.equal(ctx.config.webhooks.allowPrivateUrls, false);
  const counter = await connectionCounter(t);
  const cases: Array<[string, RegExp]> = [
    [`https://localhost:${counter.port}/hook`, /not allowed: the host localhost resolves to .*loopback/],
    [`https://127.0.0.1:${counter.port}/hook`, /not allowed: 127\.0\.0\.1 is a loopback address/],
    ["https://10.20.30.40/hook", /private/],
    ["https://169.254.169.254/latest/meta-data/", /link-local/],
    // Saved while development settings allowed it; refused once they no longer do.
    [`http://127.0.0.1:${counter.port}/hook`, /must use https/],
  ];
  for (const [url, why] of cases) {
    const deliveryId = await endpointWithDelivery(ctx, url);
    t.same(await dispatcher(ctx).deliver([deliveryId]), { sent: 1 }, url);
    const attempt = await ctx.prisma.webhookAttempt.findFirstOrThrow({ where: { deliveryId } });
    t.match(attempt, { attempt: 1, statusCode: null, trigger: "automatic", responseExcerpt: null }, url);
    t.match(attempt.error, why, `${url}: ${attempt.error}`);
    const delivery = await ctx.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } });
    t.equal(delivery.status, "pending", "retried later, in case the name is fixed");
    t.match(delivery.lastError, /not sent/);
  }
  t.equal(counter.count(), 0, "no connection was made");
});

t.test("redirects are not followed, slow receivers time out, excerpts are capped", async (t) => {
  const ctx = await build(t, { WEBHOOK_ALLOW_PRIVATE_URLS: "true", WEBHOOK_TIMEOUT_MS: "500" });
  const hits: string[] = [];
  const server = createHttpServer((req, res) => {
    hits.push(req.url ?? "");
    if (req.url === "/redirect") return res.writeHead(307, { location: "/target" }).end();
    if (req.url === "/slow") return void setTimeout(() => res.writeHead(200).end("late"), 2000).unref();
    if (req.url === "/chatty") return res.writeHead(500).end("x".repeat(50_000));
    res.writeHead(200).end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const redirected = await endpointWithDelivery(ctx, `${base}/redirect`);
  await dispatcher(ctx).deliver([redirected]);
  t.match(await ctx.prisma.webhookAttempt.findFirstOrThrow({ where: { deliveryId: redirected } }), { statusCode: 307, error: "HTTP 307" });
  t.notOk(hits.includes("/target"), "the Location was not followed");

  const slow = await endpointWithDelivery(ctx, `${base}/slow`);
  const started = Date.now();
  await dispatcher(ctx).deliver([slow]);
  const timedOut = await ctx.prisma.webhookAttempt.findFirstOrThrow({ where: { deliveryId: slow } });
  t.match(timedOut, { statusCode: null, error: /timeout/ });
  t.ok(timedOut.durationMs >= 450 && Date.now() - started < 1500, `given up after ${timedOut.durationMs} ms`);

  const chatty = await endpointWithDelivery(ctx, `${base}/chatty`);
  await dispatcher(ctx).deliver([chatty]);
  const capped = await ctx.prisma.webhookAttempt.findFirstOrThrow({ where: { deliveryId: chatty } });
  t.equal(capped.statusCode, 500);
  t.equal(capped.responseExcerpt, "x".repeat(1000), "the first 1000 characters");

  t.same(await dispatcher(ctx).deliver([chatty]), { sent: 0 }, "not due again yet: nothing is sent");
});
