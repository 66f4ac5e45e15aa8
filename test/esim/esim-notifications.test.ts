import t from "tap";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";
import { createEsim, platformKey, progressInfo, randomEid, subscribe, tenantKey } from "./helpers.js";

/** The SM-DP+'s ES2+ HandleDownloadProgressInfo moving orders along, idempotently. */
t.test("notifications move the order and profile states; a repeat changes nothing", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createEsim(ctx.prisma, w.tenantA.id);
  await subscribe(ctx.prisma, w.tenantA.id);
  const operator = ctx.client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);
  const order = (await operator.post(`/v1/sims/${sim.iccid}/esim-profile`, {})).json;
  const smdp = new Client(ctx.app, { headers: { authorization: `Bearer ${await platformKey(ctx.prisma, w.platform.id)}` } });
  const notify = (body: unknown) => smdp.post("/v1/esim/notifications", body);
  const current = async () => (await operator.get(`/v1/sims/${sim.iccid}/esim-profile`)).json;
  const counts = async () => ({
    events: await ctx.prisma.simEvent.count({ where: { simId: sim.id } }),
    audit: await ctx.prisma.auditEvent.count({ where: { tenantId: w.tenantA.id, action: "esim_profile.state_changed" } }),
    webhooks: await ctx.prisma.webhookDelivery.count({ where: { tenantId: w.tenantA.id } }),
  });

  const eid = randomEid();
  const steps: Array<[number, string, string, string | null]> = [
    [1, "Executed-Success", "released", null], // eligibility passed: nothing to record
    [3, "Executed-Success", "downloaded", null],
    [4, "Executed-Success", "installed", null],
    [6, "Executed-Success", "installed", "enabled"],
    [7, "Executed-Success", "installed", "disabled"],
  ];
  let before = await counts();
  for (const [point, status, orderState, profileState] of steps) {
    const body = progressInfo(sim.iccid, point, status as "Executed-Success", { eid });
    const res = await notify(body);
    t.equal(res.status, 204, `point ${point}: ${res.body}`);
    const now = await current();
    t.equal(now.orderState, orderState, `point ${point}: order ${orderState}`);
    t.equal(now.profileState, profileState, `point ${point}: profile ${profileState}`);
    const after = await counts();
    const changed = point !== 1;
    t.same(after, changed ? { events: before.events + 1, audit: before.audit + 1, webhooks: before.webhooks + 1 } : before, `point ${point}: ${changed ? "one" : "no"} SIM event, audit event and webhook`);
    // The same notification again (the SM-DP+ retries): nothing changes, nothing is recorded.
    t.equal((await notify(body)).status, 204);
    t.same(await counts(), after, `point ${point}: a repeat records nothing`);
    before = after;
  }
  const late = await notify(progressInfo(sim.iccid, 3, "Executed-Success"));
  t.equal(late.status, 204);
  t.equal((await current()).orderState, "installed", "a late download notification does not move an installed order back");
  t.same(await counts(), before);

  const final = await current();
  t.equal(final.eid, eid, "the EID the SM-DP+ reported is recorded");
  t.same(final.history.map((h: { orderState: string; profileState: string | null }) => `${h.orderState}/${h.profileState}`), [
    "released/null",
    "downloaded/null",
    "installed/null",
    "installed/enabled",
    "installed/disabled",
  ]);
  const hook = await ctx.prisma.webhookDelivery.findFirstOrThrow({ where: { tenantId: w.tenantA.id }, orderBy: { createdAt: "desc" } });
  t.match(hook.payload, { type: "esim.profile_state_changed", data: { profileId: order.id, iccid: sim.iccid, orderState: "installed", profileState: "disabled", previousProfileState: "enabled" } });
  const audit = await ctx.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "esim_profile.state_changed" }, orderBy: { seq: "desc" } });
  t.equal(audit.actorType, "api_key");
  t.match(audit.data, { notificationPointId: 7, orderState: "installed", profileState: "disabled", fromProfileState: "enabled" });

  // Deleted on the device: the order no longer holds the profile. Whether its ICCID may be ordered again is
  // the SM-DP+'s policy: the request now goes to it (no esim_order_exists). The simulator, which hears of no
  // downloads, still holds the ICCID as ordered and refuses a second DownloadOrder of it.
  t.equal((await notify(progressInfo(sim.iccid, 5))).status, 204);
  t.equal((await current()).profileState, "deleted");
  const reorder = await operator.post(`/v1/sims/${sim.iccid}/esim-profile`, {});
  t.equal(reorder.json.code, "smdp_rejected", reorder.body);
  t.match(reorder.json, { status: 502, subjectCode: "8.2.1", reasonCode: "3.3" });
});

t.test("a failed step puts the order in error with the SGP.22 codes; a retry that succeeds moves it on", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createEsim(ctx.prisma, w.tenantA.id);
  const operator = ctx.client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);
  await operator.post(`/v1/sims/${sim.iccid}/esim-profile`, {});
  const smdp = new Client(ctx.app, { headers: { authorization: `Bearer ${await platformKey(ctx.prisma, w.platform.id)}` } });

  t.equal((await smdp.post("/v1/esim/notifications", progressInfo(sim.iccid, 4, "Failed"))).status, 204);
  let now = (await operator.get(`/v1/sims/${sim.iccid}/esim-profile`)).json;
  t.equal(now.orderState, "error");
  t.equal(now.errorReason, "profile installation failed (subject 8.1, reason 4.8): Insufficient memory");
  t.ok(now.activationCode, "the activation code still works for a retry");
  t.match(await ctx.prisma.simEvent.findFirst({ where: { simId: sim.id }, orderBy: { at: "desc" } }), { reasonCode: "esim_installation_failed", data: { notificationPointId: 4, notificationStatus: "Failed" } });
  t.equal((await smdp.post("/v1/esim/notifications", progressInfo(sim.iccid, 4, "Failed"))).status, 204, "a repeat is acknowledged");
  t.equal(await ctx.prisma.simEvent.count({ where: { simId: sim.id } }), 2, "and recorded once");

  t.equal((await smdp.post("/v1/esim/notifications", progressInfo(sim.iccid, 4))).status, 204);
  now = (await operator.get(`/v1/sims/${sim.iccid}/esim-profile`)).json;
  t.equal(now.orderState, "installed", "the end user retried and it worked");
  t.equal((await smdp.post("/v1/esim/notifications", progressInfo(sim.iccid, 2, "Failed"))).status, 204);
  t.equal((await operator.get(`/v1/sims/${sim.iccid}/esim-profile`)).json.orderState, "installed", "a stale failure after installation changes nothing");

  // A cancelled order ignores the SM-DP+'s late news.
  const other = await createEsim(ctx.prisma, w.tenantA.id);
  await operator.post(`/v1/sims/${other.iccid}/esim-profile`, {});
  await operator.request("DELETE", `/v1/sims/${other.iccid}/esim-profile`);
  t.equal((await smdp.post("/v1/esim/notifications", progressInfo(other.iccid, 3))).status, 204);
  t.equal((await operator.get(`/v1/sims/${other.iccid}/esim-profile`)).json.orderState, "cancelled");
});

t.test("only a platform key with network:write may notify; unknown orders are 404", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createEsim(ctx.prisma, w.tenantA.id);
  const owner = ctx.client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  await owner.post(`/v1/sims/${sim.iccid}/esim-profile`, {});
  const body = progressInfo(sim.iccid, 3);

  const staff = ctx.client();
  await staff.login(w.staff.owner.email, w.staff.owner.password, undefined, { enrolMfa: true });
  const refused: Array<[string, Client]> = [
    ["customer owner", owner],
    ["platform owner (a person)", staff],
    ["customer key with every scope", new Client(ctx.app, { headers: { authorization: `Bearer ${await tenantKey(ctx.prisma, w.tenantA.id, ["sims:read", "esim:write", "tenant:read"])}` } })],
    ["platform key without network:write", new Client(ctx.app, { headers: { authorization: `Bearer ${await platformKey(ctx.prisma, w.platform.id, ["sims:read", "esim:write"])}` } })],
  ];
  for (const [who, client] of refused) t.equal((await client.post("/v1/esim/notifications", body)).status, 403, who);
  t.equal((await ctx.client().post("/v1/esim/notifications", body)).status, 401, "anonymous");
  t.equal((await owner.get(`/v1/sims/${sim.iccid}/esim-profile`)).json.orderState, "released", "nothing changed");

  const smdp = new Client(ctx.app, { headers: { authorization: `Bearer ${await platformKey(ctx.prisma, w.platform.id)}` } });
  const unordered = await createEsim(ctx.prisma, w.tenantB.id);
  const none = await smdp.post("/v1/esim/notifications", progressInfo(unordered.iccid, 3));
  t.equal(none.status, 404);
  t.equal(none.json.code, "esim_order_not_found");
  t.equal((await smdp.post("/v1/esim/notifications", progressInfo("8949029999999999993", 3))).status, 404);
  const malformed = await smdp.post("/v1/esim/notifications", { ...body, notificationPointStatus: { status: "Maybe" } });
  t.equal(malformed.status, 400);
  t.equal(malformed.json.errors[0].field, "/body/notificationPointStatus/status");
});
