import t from "tap";
import { build } from "../helpers/build.js";
import { createWorld } from "../helpers/factories.js";
import { createEsim, es2, startFakeSmdp, subscribe, type SmdpHandler } from "./helpers.js";

/**
 * The service against an SM-DP+ over HTTP (a local one that fails on demand): a failed order leaves nothing
 * half-written, here or at the SM-DP+.
 */
t.test("SM-DP+ failures: the attempt is recorded as an error, nothing usable is written, the caller gets 502/503", async (t) => {
  let behaviour: SmdpHandler = () => undefined;
  const smdp = await startFakeSmdp((path, body) => behaviour(path, body));
  t.teardown(smdp.close);
  const ctx = await build(t, { SMDP_ES2PLUS_URL: smdp.url, SMDP_ADDRESS: "rsp.carrier.example", SMDP_FUNCTION_REQUESTER_ID: "conekt-test" });
  const w = await createWorld(ctx.prisma);
  const sim = await createEsim(ctx.prisma, w.tenantA.id);
  await subscribe(ctx.prisma, w.tenantA.id);
  const operator = ctx.client();
  await operator.login(w.usersA.operator.email, w.usersA.operator.password);
  const url = `/v1/sims/${sim.iccid}/esim-profile`;
  const fnsCalled = () => smdp.requests.splice(0).map((r) => r.path.split("/").pop());

  // ConfirmOrder refused after DownloadOrder allocated the profile: the allocation is cancelled.
  behaviour = (path) => (path.endsWith("/confirmOrder") ? { json: es2({}, "Failed", { subjectCode: "8.1.1", reasonCode: "3.8", message: "EID refused" }) } : undefined);
  const refused = await operator.post(url, { confirmationCodeRequired: true });
  t.equal(refused.status, 502, refused.body);
  t.match(refused.json, { code: "smdp_rejected", subjectCode: "8.1.1", reasonCode: "3.8" });
  t.match(refused.json.detail, /EID refused/);
  t.notOk("confirmationCode" in refused.json, "no confirmation code handed out");
  t.same(fnsCalled(), ["downloadOrder", "confirmOrder", "cancelOrder"], "the allocation was undone at the SM-DP+");

  const failed = await ctx.prisma.esimProfile.findUniqueOrThrow({ where: { id: refused.json.profileId } });
  t.match(failed, { orderState: "error", matchingId: null, confirmationCodeHash: null, smdpAddress: "rsp.carrier.example" });
  t.match(failed.errorReason, /refused confirmOrder: Failed \(subject 8\.1\.1, reason 3\.8\): EID refused/);
  const shown = await operator.get(url);
  t.match(shown.json, { id: failed.id, orderState: "error", activationCode: null, matchingId: null });
  t.equal((await operator.get(`${url}/qr.png`)).status, 409, "no QR code for a failed order");
  t.match(await ctx.prisma.simEvent.findMany({ where: { simId: sim.id } }), [{ reasonCode: "smdp_rejected", data: { orderState: "error", smdpFunction: "confirmOrder", smdpSubjectCode: "8.1.1", smdpReasonCode: "3.8" } }]);
  t.equal(await ctx.prisma.auditEvent.count({ where: { tenantId: w.tenantA.id, action: "esim_profile.order_failed" } }), 1);

  // No answer at all: 503, the attempt recorded, nothing else.
  behaviour = () => ({ status: 503, json: {} });
  const down = await operator.post(url, {});
  t.equal(down.status, 503, down.body);
  t.equal(down.json.code, "smdp_unavailable");
  t.notMatch(down.json.detail, /127\.0\.0\.1/, "no internal addresses in the answer");
  t.same(fnsCalled(), ["downloadOrder"]);
  t.equal(await ctx.prisma.esimProfile.count({ where: { simId: sim.id, OR: [{ matchingId: { not: null } }, { confirmationCodeHash: { not: null } }] } }), 0, "nothing usable was written");

  // A failed order holds nothing: the next order goes through, speaking ES2+ as SGP.22 says.
  behaviour = (path) => (path.endsWith("/confirmOrder") ? { json: es2({ matchingId: "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", smdpAddress: "rsp.carrier.example" }) } : undefined);
  const ok = await operator.post(url, {});
  t.equal(ok.status, 201, ok.body);
  t.equal(ok.json.activationCode, "LPA:1$rsp.carrier.example$AAAAA-BBBBB-CCCCC-DDDDD-EEEEE");
  const [download, confirm] = smdp.requests.splice(0);
  t.match(download, { path: "/gsma/rsp2/es2plus/downloadOrder", headers: { "x-admin-protocol": "gsma/rsp/v2.2.0" }, body: { header: { functionRequesterIdentifier: "conekt-test" }, iccid: sim.iccid } });
  t.match(confirm, { path: "/gsma/rsp2/es2plus/confirmOrder", body: { iccid: sim.iccid, releaseFlag: true } });

  // Cancelling when the SM-DP+ refuses changes nothing here.
  behaviour = () => ({ json: es2({}, "Failed", { subjectCode: "8.2.1", reasonCode: "3.5", message: "Not cancellable" }) });
  const cancel = await operator.request("DELETE", url);
  t.equal(cancel.status, 502);
  t.equal((await operator.get(url)).json.orderState, "released", "the order is unchanged");
  t.match(smdp.requests.splice(0), [{ path: "/gsma/rsp2/es2plus/cancelOrder", body: { iccid: sim.iccid, matchingId: "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", finalProfileStatusIndicator: "Available" } }]);
  behaviour = () => undefined;
  t.equal((await operator.request("DELETE", url)).json.orderState, "cancelled");
});
