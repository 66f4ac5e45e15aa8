import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { MATCHING_ID } from "../../src/connectors/smdp/matching-id.js";
import { sha256Hex } from "../../src/platform/crypto.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { checkResponse } from "../helpers/contract.js";
import { createWorld } from "../helpers/factories.js";
import { createEsim, randomEid, subscribe, svgToPgm, tenantKey, withTempDir, zbarDecode } from "./helpers.js";

const SMDP = "smdp.conekt.example";

t.test("acceptance: order a profile; its QR code (PNG and SVG) decodes to exactly the activation code", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createEsim(ctx.prisma, w.tenantA.id);
  await subscribe(ctx.prisma, w.tenantA.id);
  const operator = ctx.client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);

  const ordered = await operator.post(`/v1/sims/${sim.iccid}/esim-profile`, {});
  t.equal(ordered.status, 201, ordered.body);
  const p = ordered.json;
  t.match(p, { iccid: sim.iccid, orderState: "released", profileState: null, smdpAddress: SMDP, confirmationCodeRequired: false, confirmationCode: null, eid: null });
  t.match(p.matchingId, MATCHING_ID, "a matching id of 5 groups of 5 uppercase alphanumerics");
  t.equal(p.activationCode, `LPA:1$${SMDP}$${p.matchingId}`);
  t.same(p.history.map((h: { orderState: string }) => h.orderState), ["released"]);

  // The QR codes: fetched through the contract checker, decoded by zbarimg from what the API sent.
  for (const format of ["png", "svg"] as const) {
    const url = `/v1/sims/${sim.iccid}/esim-profile/qr.${format}`;
    const res = await ctx.app.inject({ method: "GET", url, headers: { cookie: operator.cookie! } });
    t.equal(res.statusCode, 200, `${format}: ${res.body.slice(0, 200)}`);
    t.same(checkResponse("GET", url, res.statusCode, res.headers["content-type"] as string, res.body), [], `${format} answer matches openapi.yaml`);
    t.equal(res.headers["content-type"], format === "png" ? "image/png" : "image/svg+xml");
    t.equal(res.headers["cache-control"], "no-store");
    const decoded = await withTempDir(async (dir) => {
      const file = join(dir, format === "png" ? "qr.png" : "qr.pgm");
      if (format === "png") await writeFile(file, res.rawPayload);
      else await svgToPgm(res.body, file);
      return zbarDecode(file);
    });
    t.equal(decoded, p.activationCode, `zbarimg reads the ${format.toUpperCase()} as exactly the activation code`);
  }

  // GET shows the same order.
  const got = await operator.get(`/v1/sims/${sim.iccid}/esim-profile`);
  t.equal(got.status, 200);
  t.equal(got.json.id, p.id);
  t.equal(got.json.activationCode, p.activationCode);

  // Recorded: the SIM's history, the audit log, the webhook outbox.
  const events = await ctx.prisma.simEvent.findMany({ where: { simId: sim.id } });
  t.match(events, [{ kind: "esim_order_changed", actorType: "user", actorId: w.usersA.operator.id, data: { profileId: p.id, fromOrderState: null, orderState: "released" } }]);
  const audit = await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: { startsWith: "esim_profile." } } });
  t.match(audit, [{ action: "esim_profile.ordered", targetType: "esim_profile", targetId: p.id, actorId: w.usersA.operator.id }]);
  const deliveries = await ctx.prisma.webhookDelivery.findMany({ where: { tenantId: w.tenantA.id } });
  t.match(deliveries, [{ eventType: "esim.profile_state_changed", payload: { type: "esim.profile_state_changed", data: { profileId: p.id, iccid: sim.iccid, orderState: "released", previousOrderState: null } } }]);
  t.notOk(JSON.stringify(deliveries[0]!.payload).includes(p.matchingId), "the webhook does not carry the matching id");
});

t.test("a confirmation code is shown once, flagged in the activation code, stored only as its hash", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const eid = randomEid();
  const sim = await createEsim(ctx.prisma, w.tenantA.id);
  const admin = ctx.client();
  await admin.login(w.usersA.admin.email, w.usersA.admin.password);

  const ordered = await admin.post(`/v1/sims/${sim.iccid}/esim-profile`, { eid, confirmationCodeRequired: true, profileType: "P9054-2" });
  t.equal(ordered.status, 201, ordered.body);
  const code = ordered.json.confirmationCode as string;
  t.match(code, /^\d{8}$/);
  t.equal(ordered.json.activationCode, `LPA:1$${SMDP}$${ordered.json.matchingId}$$1`, "the SGP.22 confirmation-code-required flag");
  t.equal(ordered.json.eid, eid);
  t.equal(ordered.json.profileType, "P9054-2");

  const row = await ctx.prisma.esimProfile.findUniqueOrThrow({ where: { id: ordered.json.id } });
  t.equal(row.confirmationCodeHash, sha256Hex(code), "stored as SHA-256");
  const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x));
  const dump = json(await ctx.prisma.$queryRaw`SELECT * FROM connectivity.esim_profiles`) + json(await ctx.prisma.simEvent.findMany()) + json(await ctx.prisma.auditEvent.findMany());
  t.notOk(dump.includes(code), "the code itself is nowhere in the database");

  const got = await admin.get(`/v1/sims/${sim.iccid}/esim-profile`);
  t.equal(got.status, 200);
  t.equal(got.json.confirmationCodeRequired, true);
  t.notOk("confirmationCode" in got.json, "GET never shows the code");
  t.notOk(got.body.includes(code) || got.body.includes(row.confirmationCodeHash!), "neither the code nor its hash");
});

t.test("refusals: invalid EID, non-eSIM, terminated, existing order, other tenant, roles", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createEsim(ctx.prisma, w.tenantA.id);
  const plastic = await createEsim(ctx.prisma, w.tenantA.id, { formFactor: "ff4" });
  const terminated = await createEsim(ctx.prisma, w.tenantA.id, { status: "terminated" });
  const other = await createEsim(ctx.prisma, w.tenantB.id);
  const sims = [sim, plastic, terminated, other];
  const session = async (role: "operator" | "billing" | "viewer") => {
    const c = ctx.client();
    await c.login(w.usersA[role].email, w.usersA[role].password);
    return c;
  };
  const operator = await session("operator");
  const url = (iccid: string) => `/v1/sims/${iccid}/esim-profile`;

  const valid = randomEid();
  const badCheck = valid.slice(0, 30) + String((Number(valid.slice(30)) + 1) % 100).padStart(2, "0");
  for (const [eid, reason] of [
    [badCheck, /check digits/],
    ["8904903212345123451234567890123", /32 digits long, got 31/],
    ["1904903212345123451234567890123X", /digits only/],
    ["19049032123451234512345678901235", /start with "89"/],
  ] as const) {
    const res = await operator.post(url(sim.iccid), { eid });
    t.equal(res.status, 400, `EID ${eid}`);
    t.equal(res.json.code, "validation_failed");
    t.equal(res.json.errors[0].field, "/body/eid");
    t.match(res.json.errors[0].reason, reason);
  }
  const extra = await operator.post(url(sim.iccid), { eid: valid, colour: "blue" });
  t.equal(extra.status, 400, "unknown properties refused");

  const notEsim = await operator.post(url(plastic.iccid), {});
  t.equal(notEsim.status, 409);
  t.equal(notEsim.json.code, "sim_not_esim");
  const dead = await operator.post(url(terminated.iccid), {});
  t.equal(dead.status, 409);
  t.equal(dead.json.code, "sim_terminated");

  const bound = await createEsim(ctx.prisma, w.tenantA.id, { eid: randomEid() });
  const mismatch = await operator.post(url(bound.iccid), { eid: valid });
  t.equal(mismatch.status, 409);
  t.equal(mismatch.json.code, "esim_eid_mismatch");
  sims.push(bound);

  const cross = await operator.post(url(other.iccid), {});
  t.equal(cross.status, 404, "another tenant's SIM is 404");
  t.equal((await operator.get(url(other.iccid))).status, 404);
  t.equal((await operator.request("DELETE", url(other.iccid))).status, 404);
  t.equal((await operator.post(url("8949019999999999990"), {})).status, 404, "an unknown ICCID is 404");
  t.equal((await operator.get(url(sim.iccid))).status, 404, "no order yet");
  t.equal((await operator.get(url(sim.iccid))).json.code, "esim_order_not_found");

  for (const role of ["billing", "viewer"] as const) {
    const c = await session(role);
    const res = await c.post(url(sim.iccid), {});
    t.equal(res.status, 403, `${role} may not order`);
  }
  const billing = await session("billing");
  t.equal((await billing.get(url(sim.iccid))).status, 403, "billing does not see the fleet");

  // An API key needs esim:write to order; with it, it may (no sims:read needed).
  const readOnly = new Client(ctx.app, { headers: { authorization: `Bearer ${await tenantKey(ctx.prisma, w.tenantA.id, ["sims:read"])}` } });
  t.equal((await readOnly.post(url(sim.iccid), {})).status, 403);
  const writer = new Client(ctx.app, { headers: { authorization: `Bearer ${await tenantKey(ctx.prisma, w.tenantA.id, ["esim:write"])}` } });
  t.equal((await writer.post(url(other.iccid), {})).status, 404, "the key's tenant only");

  t.equal(await ctx.prisma.esimProfile.count(), 0, "no refused request wrote an order");
  t.equal(await ctx.prisma.simEvent.count({ where: { simId: { in: sims.map((s) => s.id) } } }), 0);

  const first = await writer.post(url(sim.iccid), {});
  t.equal(first.status, 201, "an esim:write key orders");
  const again = await operator.post(url(sim.iccid), {});
  t.equal(again.status, 409);
  t.equal(again.json.code, "esim_order_exists");
  t.equal(again.json.profileId, first.json.id);
  t.equal(await ctx.prisma.esimProfile.count(), 1);
});

t.test("cancel, then a new order re-issues the profile with a new matching id", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const sim = await createEsim(ctx.prisma, w.tenantA.id);
  const owner = ctx.client();
  await owner.login(w.usersA.owner.email, w.usersA.owner.password);
  const url = `/v1/sims/${sim.iccid}/esim-profile`;

  t.equal((await owner.request("DELETE", url)).status, 404, "nothing to cancel");
  const first = (await owner.post(url, {})).json;
  const cancelled = await owner.request("DELETE", url);
  t.equal(cancelled.status, 200, cancelled.body);
  t.match(cancelled.json, { id: first.id, orderState: "cancelled", activationCode: null });
  t.ok(cancelled.json.cancelledAt);
  t.same(cancelled.json.history.map((h: { orderState: string }) => h.orderState), ["released", "cancelled"]);
  const twice = await owner.request("DELETE", url);
  t.equal(twice.status, 200, "cancelling again changes nothing");
  t.equal(twice.json.updatedAt, cancelled.json.updatedAt);
  const qr = await owner.get(`${url}/qr.png`);
  t.equal(qr.status, 409);
  t.equal(qr.json.code, "esim_no_activation_code");

  const second = await owner.post(url, {});
  t.equal(second.status, 201, second.body);
  t.not(second.json.matchingId, first.matchingId, "a new matching id");
  t.not(second.json.id, first.id);
  t.equal((await owner.get(url)).json.id, second.json.id, "GET shows the live order");

  // Once downloaded the profile is on the device: no cancelling.
  await ctx.prisma.esimProfile.update({ where: { id: second.json.id }, data: { orderState: "downloaded" } });
  const late = await owner.request("DELETE", url);
  t.equal(late.status, 409);
  t.equal(late.json.code, "esim_already_downloaded");

  const actions = (await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: { startsWith: "esim_profile." } }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["esim_profile.ordered", "esim_profile.cancelled", "esim_profile.ordered"]);
});

t.test("platform staff order for the platform's own inventory only", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const inventory = await createEsim(ctx.prisma, w.platform.id, { status: "inventory" });
  const customers = await createEsim(ctx.prisma, w.tenantA.id);
  const staff = ctx.client();
  await staff.login(w.staff.owner.email, w.staff.owner.password, undefined, { enrolMfa: true });
  t.equal((await staff.post(`/v1/sims/${inventory.iccid}/esim-profile`, {})).status, 201);
  const refused = await staff.post(`/v1/sims/${customers.iccid}/esim-profile`, {});
  t.equal(refused.status, 403, "a customer's SIM is theirs to order for");
  const viewer = ctx.client();
  await viewer.login(w.staff.viewer.email, w.staff.viewer.password, undefined, { enrolMfa: true });
  t.equal((await viewer.get(`/v1/sims/${inventory.iccid}/esim-profile`)).status, 200, "staff viewers read every fleet");
});
