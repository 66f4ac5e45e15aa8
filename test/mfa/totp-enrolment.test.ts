import t, { type Test } from "tap";
import { issueApiKey } from "../../src/modules/api-keys/api-keys.repository.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { build } from "../helpers/build.js";
import { Client } from "../helpers/client.js";
import { createTenant, createUser } from "../helpers/factories.js";
import { awayFromStepBoundary, enrolThroughApi, oathCode, oathCodeAt } from "./oathtool.js";

async function signedIn(t: Test) {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const user = await createUser(ctx.prisma, { tenantId: tenant.id, role: "operator" });
  const client = ctx.client();
  t.equal((await client.login(user.email, user.password)).status, 200);
  return { ...ctx, tenant, user, api: client };
}

t.test("enrolment through the API, checked against oathtool", async (t) => {
  const { api, prisma, user, tenant } = await signedIn(t);

  const before = await api.get("/v1/me/mfa");
  t.equal(before.status, 200);
  t.same(before.json, { enabled: false, confirmedAt: null, recoveryCodesRemaining: 0 });

  const begun = await api.post("/v1/me/mfa/totp");
  t.equal(begun.status, 200);
  t.equal(begun.headers["cache-control"], "no-store", "the secret is not cached");
  const { secret, otpauthUri, qrSvg } = begun.json as { secret: string; otpauthUri: string; qrSvg: string };
  t.match(secret, /^[A-Z2-7]{32}$/, "160-bit base32 secret");
  const uri = new URL(otpauthUri);
  t.equal(uri.protocol, "otpauth:");
  t.equal(uri.host, "totp");
  t.equal(decodeURIComponent(uri.pathname), `/Conekt:${user.email}`, "label is issuer:email");
  t.equal(uri.searchParams.get("secret"), secret);
  t.equal(uri.searchParams.get("issuer"), "Conekt");
  for (const [param, standard] of [["algorithm", "SHA1"], ["digits", "6"], ["period", "30"]] as const) {
    const value = uri.searchParams.get(param);
    t.ok(value === null || value === standard, `${param} is absent (the default) or ${standard}`);
  }
  t.match(qrSvg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(qrSvg, /<path/);
  t.equal((await api.get("/v1/me/mfa")).json.enabled, false, "not on until confirmed");

  // At rest the secret is encrypted under the configured key, bound to the user.
  const row = await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } });
  const stored = Buffer.from(row.secretEnc);
  t.equal(row.keyId, "t1");
  t.equal(row.confirmedAt, null);
  for (const encoding of ["utf8", "latin1", "hex", "base64"] as const) {
    t.notOk(stored.toString(encoding).includes(secret), `secret_enc (${encoding}) does not contain the secret`);
  }
  const [raw] = await prisma.$queryRaw<Array<{ hex: string }>>`SELECT encode(secret_enc, 'escape') AS hex FROM enterprise.mfa_factors WHERE user_id = ${user.id}::uuid`;
  t.notOk(raw?.hex.includes(secret), "not in the column as the database sees it either");

  // A code from an independent implementation confirms it.
  const confirmed = await api.post("/v1/me/mfa/totp/confirm", { code: oathCode(secret) });
  t.equal(confirmed.status, 200);
  t.equal(confirmed.headers["cache-control"], "no-store");
  const codes = confirmed.json.recoveryCodes as string[];
  t.equal(codes.length, 10);
  t.equal(new Set(codes).size, 10, "all different");
  for (const c of codes) t.match(c, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
  const hashes = await prisma.recoveryCode.findMany({ where: { userId: user.id } });
  t.equal(hashes.length, 10);
  for (const h of hashes) {
    t.match(h.codeHash, /^[0-9a-f]{64}$/);
    t.notOk(codes.some((c) => h.codeHash.includes(c.replace(/-/g, ""))), "stored hashed, not plain");
  }

  const after = await api.get("/v1/me/mfa");
  t.equal(after.status, 200);
  t.equal(after.json.enabled, true);
  t.equal(after.json.recoveryCodesRemaining, 10);
  t.ok(Date.parse(after.json.confirmedAt) <= Date.now());
  t.notOk(after.body.includes(secret), "the secret never appears again");
  t.notOk(codes.some((c) => after.body.includes(c)), "nor do the recovery codes");
  t.notOk(confirmed.body.includes(secret), "not even in the confirmation");

  const actions = (await prisma.auditEvent.findMany({ where: { tenantId: tenant.id, action: { startsWith: "mfa." } }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["mfa.enrolment_started", "mfa.enabled"]);
  const events = await prisma.auditEvent.findMany({ where: { tenantId: tenant.id } });
  t.notOk(JSON.stringify(events, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)).includes(secret), "no secret in the audit trail");
  t.ok(events.filter((e) => e.action.startsWith("mfa.")).every((e) => e.actorType === "user" && e.actorId === user.id), "the user is the actor");

  // Enrolling again while enabled is refused and changes nothing.
  const again = await api.post("/v1/me/mfa/totp");
  t.equal(again.status, 409);
  t.equal(again.json.code, "mfa_already_enabled");
  const unchanged = await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } });
  t.same(Buffer.from(unchanged.secretEnc), stored, "secret untouched");
  const reconfirm = await api.post("/v1/me/mfa/totp/confirm", { code: oathCode(secret) });
  t.equal(reconfirm.status, 409);
  t.equal(reconfirm.json.code, "mfa_already_enabled");
});

t.test("confirmation refuses bad input, wrong codes and a replaced secret", async (t) => {
  const { api, prisma, user } = await signedIn(t);

  const none = await api.post("/v1/me/mfa/totp/confirm", { code: "123456" });
  t.equal(none.status, 409, "nothing to confirm yet");
  t.equal(none.json.code, "mfa_enrolment_missing");

  const first = (await api.post("/v1/me/mfa/totp")).json.secret as string;
  const second = (await api.post("/v1/me/mfa/totp")).json.secret as string;
  t.not(first, second, "restarting enrolment issues a new secret");
  t.equal(await prisma.mfaFactor.count({ where: { userId: user.id } }), 1, "one factor row, replaced");

  for (const [body, field] of [
    [{ code: "12345" }, "/body/code"],
    [{ code: "12345a" }, "/body/code"],
    [{ code: "1234567" }, "/body/code"],
    [{}, "/body/code"],
    [{ code: "123456", extra: 1 }, "/body/extra"],
  ] as const) {
    const res = await api.post("/v1/me/mfa/totp/confirm", body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.equal(res.json.code, "validation_failed");
    t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `names ${field}`);
  }

  await awayFromStepBoundary();
  const stale = await api.post("/v1/me/mfa/totp/confirm", { code: oathCode(first) });
  t.equal(stale.status, 400, "the replaced secret's code does not confirm");
  t.same(stale.json.errors, [{ field: "/body/code", reason: "is not the current code" }]);
  const far = await api.post("/v1/me/mfa/totp/confirm", { code: oathCodeAt(second, 2) });
  t.equal(far.status, 400, "two steps ahead is outside the drift window");
  const farBack = await api.post("/v1/me/mfa/totp/confirm", { code: oathCodeAt(second, -2) });
  t.equal(farBack.status, 400, "two steps behind too");

  const factor = await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } });
  t.equal(factor.confirmedAt, null, "still unconfirmed");
  t.equal(factor.failedCount, 3, "each wrong code counted");
  t.equal(await prisma.recoveryCode.count({ where: { userId: user.id } }), 0);
  t.equal((await api.get("/v1/me/mfa")).json.enabled, false);

  const ok = await api.post("/v1/me/mfa/totp/confirm", { code: oathCodeAt(second, 1) });
  t.equal(ok.status, 200, "the next step's code is within the drift window");
  t.equal((await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } })).failedCount, 0, "success clears the count");
});

t.test("ten wrong confirmation codes lock the account's MFA: 429 with Retry-After, even for the right code", async (t) => {
  const { api, prisma, user, tenant } = await signedIn(t);
  const secret = (await api.post("/v1/me/mfa/totp")).json.secret as string;
  await awayFromStepBoundary();
  const right = oathCode(secret);
  const wrong = right === "000000" ? "111111" : "000000";
  for (let i = 1; i <= 10; i++) t.equal((await api.post("/v1/me/mfa/totp/confirm", { code: wrong })).status, 400, `wrong code ${i}`);
  const locked = await api.post("/v1/me/mfa/totp/confirm", { code: right });
  t.equal(locked.status, 429);
  t.equal(locked.json.code, "rate_limited");
  const retryAfter = Number(locked.headers["retry-after"]);
  t.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter} s is within the 15-minute window`);
  t.equal(locked.json.retryAfter, retryAfter);
  t.equal((await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } })).confirmedAt, null, "not confirmed");
  t.equal(await prisma.auditEvent.count({ where: { tenantId: tenant.id, action: "auth.mfa_locked" } }), 1);
  t.equal(await prisma.auditEvent.count({ where: { tenantId: tenant.id, action: "auth.mfa_failed" } }), 10);
  t.equal((await api.post("/v1/me/mfa/totp/confirm", { code: wrong })).status, 429, "further attempts are not counted");
  t.equal(await prisma.auditEvent.count({ where: { tenantId: tenant.id, action: "auth.mfa_failed" } }), 10);
});

t.test("disabling and regenerating recovery codes need the password", async (t) => {
  const { api, prisma, user, tenant } = await signedIn(t);
  const del = (body: unknown) => api.request("DELETE", "/v1/me/mfa/totp", { body });

  const notYet = await del({ password: user.password });
  t.equal(notYet.status, 409);
  t.equal(notYet.json.code, "mfa_not_enabled");
  t.equal((await api.post("/v1/me/mfa/recovery-codes", { password: user.password })).json.code, "mfa_not_enabled");

  const { recoveryCodes: original } = await enrolThroughApi(api);
  const originalHashes = (await prisma.recoveryCode.findMany({ where: { userId: user.id }, orderBy: { codeHash: "asc" } })).map((r) => r.codeHash);

  const badRegen = await api.post("/v1/me/mfa/recovery-codes", { password: "not the password" });
  t.equal(badRegen.status, 403);
  t.equal(badRegen.json.code, "invalid_password");
  const sameHashes = (await prisma.recoveryCode.findMany({ where: { userId: user.id }, orderBy: { codeHash: "asc" } })).map((r) => r.codeHash);
  t.same(sameHashes, originalHashes, "codes unchanged");

  const missing = await api.post("/v1/me/mfa/recovery-codes", {});
  t.equal(missing.status, 400);
  t.equal(missing.json.errors[0].field, "/body/password");

  const regen = await api.post("/v1/me/mfa/recovery-codes", { password: user.password });
  t.equal(regen.status, 200);
  const fresh = regen.json.recoveryCodes as string[];
  t.equal(fresh.length, 10);
  t.notOk(fresh.some((c) => original.includes(c)), "all new");
  t.equal(await prisma.recoveryCode.count({ where: { userId: user.id } }), 10, "old ones gone");

  const badDel = await del({ password: "wrong" });
  t.equal(badDel.status, 403);
  t.equal(badDel.json.code, "invalid_password");
  t.equal((await api.get("/v1/me/mfa")).json.enabled, true, "still on");
  t.equal((await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: user.id } })).failedCount, 2, "wrong passwords count towards the lockout");
  const failed = await prisma.auditEvent.findMany({ where: { tenantId: tenant.id, action: "auth.mfa_failed" }, orderBy: { seq: "asc" } });
  t.same(failed.map((e) => (e.data as { reason: string }).reason), ["bad_password:regenerate", "bad_password:disable"]);

  const badBody = await del({ password: "" });
  t.equal(badBody.status, 400);

  const ok = await del({ password: user.password });
  t.equal(ok.status, 204);
  t.equal(ok.body, "");
  t.equal(await prisma.mfaFactor.count({ where: { userId: user.id } }), 0);
  t.equal(await prisma.recoveryCode.count({ where: { userId: user.id } }), 0);
  t.same((await api.get("/v1/me/mfa")).json, { enabled: false, confirmedAt: null, recoveryCodesRemaining: 0 });

  const actions = (await prisma.auditEvent.findMany({ where: { tenantId: tenant.id, action: { startsWith: "mfa." } }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["mfa.enrolment_started", "mfa.enabled", "mfa.recovery_codes_regenerated", "mfa.disabled"]);

  // Enrolling again after disabling works, with a new secret.
  t.equal((await api.post("/v1/me/mfa/totp")).status, 200);
});

t.test("MFA routes need a signed-in user, and a user manages only their own factor", async (t) => {
  const { client, prisma, api, user } = await signedIn(t);
  const anonymous = client();
  t.equal((await anonymous.get("/v1/me/mfa")).status, 401);
  t.equal((await anonymous.post("/v1/me/mfa/totp")).status, 401);
  t.equal((await anonymous.post("/v1/me/mfa/totp/confirm", { code: "123456" })).status, 401);
  t.equal((await anonymous.request("DELETE", "/v1/me/mfa/totp", { body: { password: "x" } })).status, 401);
  t.equal((await anonymous.post("/v1/me/mfa/recovery-codes", { password: "x" })).status, 401);

  // MFA belongs to a person: an API key, even an owner's with every scope, gets 403.
  const { key } = await issueApiKey(prisma, systemActor("test"), { tenantId: (await prisma.membership.findFirstOrThrow({ where: { userId: user.id } })).tenantId, name: "ci", scopes: ["tenant:read", "audit:read"], expiresAt: null, createdById: user.id });
  const bearer = new Client(api.app, { headers: { authorization: `Bearer ${key}` } });
  for (const res of [await bearer.get("/v1/me/mfa"), await bearer.post("/v1/me/mfa/totp"), await bearer.post("/v1/me/mfa/recovery-codes", { password: user.password })]) {
    t.equal(res.status, 403);
    t.equal(res.json.code, "user_required");
  }

  const noCsrf = await api.post("/v1/me/mfa/totp", undefined, { "x-csrf-token": "forged" });
  t.equal(noCsrf.status, 403);
  t.equal(noCsrf.json.code, "csrf_token_invalid");
  t.equal(await prisma.mfaFactor.count(), 0, "nothing created");

  // Another user's enrolment is independent: my routes never touch it.
  const tenant = await createTenant(prisma);
  const other = await createUser(prisma, { tenantId: tenant.id, role: "owner" });
  const otherApi = client();
  await otherApi.login(other.email, other.password);
  await enrolThroughApi(otherApi);
  t.equal((await api.get("/v1/me/mfa")).json.enabled, false, "someone else's factor is not mine");
  t.equal((await api.request("DELETE", "/v1/me/mfa/totp", { body: { password: user.password } })).status, 409);
  t.equal(await prisma.mfaFactor.count({ where: { userId: other.id, confirmedAt: { not: null } } }), 1, "theirs is untouched");
});
