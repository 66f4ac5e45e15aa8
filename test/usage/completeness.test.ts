import t from "tap";
import { rollUpJournal } from "../../src/modules/usage/rollup.js";
import type { JobRunner } from "../../src/platform/jobs/job-runner.js";
import { createSimUnique, keyClient } from "../devices/helpers.js";
import { build, type TestApp } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";
import { createTenant, createUser, createWorld } from "../helpers/factories.js";
import { store } from "./journal.js";

const noJobs: JobRunner = { kind: "in-process", enqueue: async () => undefined, start: async () => undefined, close: async () => undefined, ping: async () => undefined };
const rollUp = (ctx: TestApp) => rollUpJournal({ prisma: ctx.prisma, jobs: noJobs });

const URL_ = "/v1/usage/completeness";
const declare = (client: Client, completeThrough: Date | string) => client.request("PUT", URL_, { body: { completeThrough: typeof completeThrough === "string" ? completeThrough : completeThrough.toISOString() } });
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);

async function signedIn(ctx: TestApp, user: { email: string; password: string }, opts: { mfa?: boolean } = {}): Promise<Client> {
  const client = ctx.client();
  const res = await client.login(user.email, user.password, undefined, { enrolMfa: opts.mfa ?? false });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return client;
}

t.test("a tenant's feed: unknown before any declaration, then final through what it declared; forward only", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const owner = await signedIn(ctx, w.usersA.owner);

  const before = Date.now();
  const first = await owner.get(URL_);
  t.equal(first.status, 200);
  t.match(first.json, { tenantId: w.tenantA.id, finalThrough: null, declarations: [] });
  t.ok(new Date(first.json.rolledUpThrough).getTime() >= before - 1000, "nothing waits: rolled up through now");

  const t1 = ago(30);
  const declared = await declare(owner, t1);
  t.equal(declared.status, 200);
  t.match(declared.json, { tenantId: w.tenantA.id, finalThrough: t1.toISOString(), declarations: [{ scope: "tenant", completeThrough: t1.toISOString() }] });
  const events = await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: "usage.completeness_declared" } });
  t.match(events, [{ actorType: "user", actorId: w.usersA.owner.id, targetType: "usage_watermark", data: { completeThrough: t1.toISOString(), previousThrough: null } }]);

  // Back in time: refused, nothing changes.
  const back = await declare(owner, ago(31));
  t.equal(back.status, 409);
  t.match(back.json, { code: "completeness_regression", completeThrough: t1.toISOString() });
  // The same instant again: accepted, changes nothing (no second audit event).
  t.equal((await declare(owner, t1)).status, 200);
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: w.tenantA.id, action: "usage.completeness_declared" } }), 1);
  // Too far ahead of the clock: 400 naming the field; four minutes ahead is clock skew, accepted, and the answer
  // stops at now.
  const future = await declare(owner, new Date(Date.now() + 6 * 60_000));
  t.equal(future.status, 400);
  t.match(future.json, { code: "validation_failed", errors: [{ field: "/body/completeThrough" }] });
  t.equal((await declare(owner, "not a date")).status, 400);
  const ahead = await declare(owner, new Date(Date.now() + 4 * 60_000));
  t.equal(ahead.status, 200);
  t.ok(new Date(ahead.json.finalThrough).getTime() <= Date.now(), "never final past now");
  t.equal(ahead.json.finalThrough, ahead.json.rolledUpThrough);

  const row = await ctx.prisma.usageWatermark.findUniqueOrThrow({ where: { tenantId: w.tenantA.id } });
  t.equal(row.previousThrough?.toISOString(), t1.toISOString(), "the declaration it replaced");
  t.equal(row.declaredBy, w.usersA.owner.id);
});

t.test("rolledUpThrough lags while records wait; a new declaration counts only once they are rolled up", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const sim = await createSimUnique(ctx.prisma, { tenantId: tenant.id });
  const feed = await keyClient(ctx, tenant.id, ["usage:write", "usage:read"]);

  const t1 = ago(60);
  t.equal((await declare(feed, t1)).json.finalThrough, t1.toISOString());
  // Declared a minute ago (the records below arrive after it).
  await ctx.prisma.usageWatermark.update({ where: { tenantId: tenant.id }, data: { declaredAt: ago(1) } });

  // Records arrive and wait for the rollup (a journal row of 20 s ago).
  await store(ctx.runtime.db.sql, [{ tenantId: tenant.id, simId: sim.id, startedAt: ago(50), bytesUp: 10 }]);
  const waiting = new Date(Date.now() - 20_000);
  await ctx.prisma.usageRollupJournal.updateMany({ where: { tenantId: tenant.id }, data: { createdAt: waiting } });
  const lagging = await feed.get(URL_);
  t.equal(lagging.json.rolledUpThrough, waiting.toISOString(), "rolled up through the oldest waiting record");
  t.equal(lagging.json.finalThrough, t1.toISOString(), "the declaration made before them still counts");

  // The feed declares 40 minutes ago final; the records it sent before are not counted yet: the previous answers.
  const t2 = ago(40);
  const declared = await declare(feed, t2);
  t.equal(declared.status, 200);
  t.equal(declared.json.finalThrough, t1.toISOString(), "the previous declaration answers until the rollup");
  t.match(declared.json.declarations, [{ scope: "tenant", completeThrough: t2.toISOString() }]);
  // Another declaration while still waiting: the fallback stays the last one that counted (t1), not t2.
  const t3 = ago(35);
  t.equal((await declare(feed, t3)).json.finalThrough, t1.toISOString());
  t.equal((await ctx.prisma.usageWatermark.findUniqueOrThrow({ where: { tenantId: tenant.id } })).previousThrough?.toISOString(), t1.toISOString());

  await rollUp(ctx);
  const after = await feed.get(URL_);
  t.equal(after.json.finalThrough, t3.toISOString(), "rolled up: the latest declaration counts");
  t.ok(new Date(after.json.rolledUpThrough).getTime() > waiting.getTime());
});

t.test("the platform's feed covers every tenant; both feeds must be complete", async (t) => {
  const ctx = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "100000" });
  const w = await createWorld(ctx.prisma);
  const platformOperator = await createUser(ctx.prisma, { tenantId: w.platform.id, role: "operator" });
  const staff = await signedIn(ctx, platformOperator, { mfa: true });
  const owner = await signedIn(ctx, w.usersA.owner);
  const billing = await signedIn(ctx, w.usersA.billing);

  const tp = ago(20);
  const byStaff = await declare(staff, tp);
  t.equal(byStaff.status, 200);
  t.match(byStaff.json, { tenantId: w.platform.id, finalThrough: tp.toISOString(), declarations: [{ scope: "platform" }] });
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: w.platform.id, action: "usage.completeness_declared" } }), 1);

  // Tenant A has no feed of its own: the operator's feed makes its usage final.
  t.match((await billing.get(URL_)).json, { tenantId: w.tenantA.id, finalThrough: tp.toISOString(), declarations: [{ scope: "platform", completeThrough: tp.toISOString() }] });
  // Once A's own feed declares, the earlier of the two answers.
  const ta = ago(25);
  t.match((await declare(owner, ta)).json, { finalThrough: ta.toISOString(), declarations: [{ scope: "platform" }, { scope: "tenant" }] });
  t.equal((await billing.get(URL_)).json.finalThrough, ta.toISOString());
  t.equal((await declare(owner, ago(10))).json.finalThrough, tp.toISOString());

  // Staff read any tenant's completeness; a customer naming another tenant is 404, its own is fine.
  t.match((await staff.get(`${URL_}?tenantId=${w.tenantA.id}`)).json, { tenantId: w.tenantA.id, finalThrough: tp.toISOString() });
  t.equal((await owner.get(`${URL_}?tenantId=${w.tenantB.id}`)).status, 404);
  t.equal((await owner.get(`${URL_}?tenantId=${w.platform.id}`)).status, 404);
  t.equal((await owner.get(`${URL_}?tenantId=${w.tenantA.id}`)).status, 200);
  t.equal((await staff.get(`${URL_}?tenantId=00000000-0000-7000-8000-000000000000`)).status, 404);
});

t.test("who may declare: owners, admins and usage:write keys; readers only read", async (t) => {
  const ctx = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "100000" });
  const w = await createWorld(ctx.prisma);
  for (const role of ["operator", "billing", "viewer"] as const) {
    const client = await signedIn(ctx, w.usersA[role]);
    t.equal((await declare(client, ago(5))).status, 403, `${role} cannot declare`);
    t.equal((await client.get(URL_)).status, 200, `${role} reads`);
  }
  const admin = await signedIn(ctx, w.usersA.admin);
  t.equal((await declare(admin, ago(5))).status, 200, "admin declares");
  const reader = await keyClient(ctx, w.tenantA.id, ["usage:read"]);
  t.equal((await declare(reader, ago(4))).status, 403, "usage:read key cannot declare");
  t.equal((await reader.get(URL_)).status, 200);
  const simsOnly = await keyClient(ctx, w.tenantA.id, ["sims:read"]);
  t.equal((await simsOnly.get(URL_)).status, 403, "a key without usage scopes reads nothing");
  const platformFeed = await keyClient(ctx, w.platform.id, ["usage:write"]);
  t.match((await declare(platformFeed, ago(3))).json, { tenantId: w.platform.id, declarations: [{ scope: "platform" }] });
  t.equal((await ctx.client().get(URL_)).status, 401);
  // B's declaration touches only B's row.
  const aBefore = await ctx.prisma.usageWatermark.findUniqueOrThrow({ where: { tenantId: w.tenantA.id } });
  const ownerB = await signedIn(ctx, w.usersB.owner);
  t.match((await declare(ownerB, ago(2))).json, { tenantId: w.tenantB.id });
  t.same(await ctx.prisma.usageWatermark.findUniqueOrThrow({ where: { tenantId: w.tenantA.id } }), aBefore);
  t.equal(await ctx.prisma.usageWatermark.count(), 3, "A, B and the platform each have their own row");
});
