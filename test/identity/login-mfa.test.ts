import t from "tap";
import { DEFAULT_TENANT_SETTINGS } from "../../src/modules/tenants/tenants.schemas.js";
import { createTenant, createUser, createWorld } from "../helpers/factories.js";
import { awayFromStepEnd, browser, buildForIdentity, setCookies, totp } from "./browser.js";

t.test("a tenant that requires MFA: enrol at the first sign-in, then sign in with a code or a recovery code", async (t) => {
  const app = await buildForIdentity(t);
  const tenant = await createTenant(app.prisma);
  await app.prisma.tenant.update({ where: { id: tenant.id }, data: { settings: { ...DEFAULT_TENANT_SETTINGS, mfaRequired: true } } });
  const user = await createUser(app.prisma, { tenantId: tenant.id, role: "admin" });

  // 1. The password alone is not enough: enrolment comes first, and no cookie is set.
  const c = browser(app);
  const first = await c.signIn(user.email, user.password);
  t.equal(first.status, 200);
  t.equal(first.json.status, "mfa_enrollment_required");
  t.same(setCookies(first), [], "no session before the second factor");
  t.match(first.headers["cache-control"], /no-store/);
  const enrolToken = first.json.mfaToken as string;
  t.equal(await app.prisma.session.count(), 0);

  // The step token is good for its step only, and never as a session.
  c.jar.set("conekt_session", enrolToken);
  t.equal((await c.get("/v1/me")).status, 401, "an mfaToken is not a session token");
  c.jar.clear();
  const wrongStep = await c.post("/v1/auth/mfa/verify", { mfaToken: enrolToken, code: "123456" });
  t.equal(wrongStep.status, 401);
  t.equal(wrongStep.json.code, "mfa_token_invalid");

  const begun = await c.post("/v1/auth/mfa/enrol", { mfaToken: enrolToken });
  t.equal(begun.status, 200);
  t.match(begun.json.otpauthUri, /^otpauth:\/\/totp\//);
  t.match(begun.headers["cache-control"], /no-store/);
  const secret = begun.json.secret as string;

  const badCode = await c.post("/v1/auth/mfa/enrol/confirm", { mfaToken: enrolToken, code: "000000" === totp(secret) ? "111111" : "000000" });
  t.equal(badCode.status, 400);
  t.equal(badCode.json.errors[0].field, "/body/code");
  t.equal(await app.prisma.session.count(), 0, "a wrong code signs nobody in");

  await awayFromStepEnd();
  const enrolled = await c.post("/v1/auth/mfa/enrol/confirm", { mfaToken: enrolToken, code: totp(secret) });
  t.equal(enrolled.status, 200);
  t.equal(enrolled.json.status, "authenticated");
  t.equal(enrolled.json.recoveryCodes.length, 10, "recovery codes, shown once");
  t.match(enrolled.json.session, { role: "admin", tenant: { id: tenant.id } });
  t.equal((await c.get("/v1/me")).status, 200, "signed in");
  t.equal((await c.get(`/v1/users/${user.id}`)).json.mfaEnabled, true);
  t.equal((await c.post("/v1/auth/logout")).status, 204);

  // 2. The next sign-in asks for a code.
  const second = await c.signIn(user.email, user.password);
  t.equal(second.json.status, "mfa_required");
  t.same(setCookies(second), []);
  const wrong = await c.post("/v1/auth/mfa/verify", { mfaToken: second.json.mfaToken, code: totp(secret, new Date(Date.now() - 5 * 60_000)) });
  t.equal(wrong.status, 401, "an old code is refused");
  t.equal(wrong.json.code, "invalid_mfa_code");
  const enrolAgain = await c.post("/v1/auth/mfa/enrol", { mfaToken: second.json.mfaToken });
  t.equal(enrolAgain.status, 401, "a verify token cannot restart enrolment");
  // The enrolment code's step is used up; the next step's code is within the accepted drift.
  const verified = await c.post("/v1/auth/mfa/verify", { mfaToken: second.json.mfaToken, code: totp(secret, new Date(Date.now() + 30_000)) });
  t.equal(verified.status, 200);
  t.equal(verified.json.status, "authenticated");
  t.equal((await c.get("/v1/me")).status, 200);

  // 3. A recovery code works once.
  const recovery = enrolled.json.recoveryCodes[0] as string;
  const third = await browser(app).signIn(user.email, user.password);
  const viaRecovery = await browser(app).post("/v1/auth/mfa/verify", { mfaToken: third.json.mfaToken, code: recovery.toUpperCase() });
  t.equal(viaRecovery.status, 200, "a recovery code (case does not matter)");
  const fourth = await browser(app).signIn(user.email, user.password);
  t.equal((await browser(app).post("/v1/auth/mfa/verify", { mfaToken: fourth.json.mfaToken, code: recovery })).status, 401, "but only once");

  const actions = (await app.prisma.auditEvent.findMany({ where: { tenantId: tenant.id, action: { in: ["auth.mfa_required", "auth.login_succeeded", "auth.logout"] } }, orderBy: { seq: "asc" } })).map((e) => [e.action, (e.data as Record<string, unknown>).step ?? (e.data as Record<string, unknown>).mfa ?? null]);
  t.same(actions.slice(0, 4), [
    ["auth.mfa_required", "enrol"],
    ["auth.login_succeeded", "totp"],
    ["auth.logout", null],
    ["auth.mfa_required", "verify"],
  ]);
  t.ok(actions.some(([a, m]) => a === "auth.login_succeeded" && m === "recovery_code"));
});

t.test("a user with MFA is asked for a code even where the tenant does not require it", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const c = browser(app);
  await c.signIn(w.usersA.operator.email, w.usersA.operator.password);
  const begun = await c.post("/v1/me/mfa/totp");
  t.equal(begun.status, 200);
  await awayFromStepEnd();
  t.equal((await c.post("/v1/me/mfa/totp/confirm", { code: totp(begun.json.secret) })).status, 200);

  const login = await browser(app).signIn(w.usersA.operator.email, w.usersA.operator.password);
  t.equal(login.json.status, "mfa_required");
  const noMfa = await browser(app).signIn(w.usersA.viewer.email, w.usersA.viewer.password);
  t.equal(noMfa.json.status, "authenticated", "others are not affected");
});

t.test("an mfaToken is refused once expired, forged, or when the account was disabled meanwhile", async (t) => {
  const app = await buildForIdentity(t);
  const tenant = await createTenant(app.prisma);
  await app.prisma.tenant.update({ where: { id: tenant.id }, data: { settings: { ...DEFAULT_TENANT_SETTINGS, mfaRequired: true } } });
  const user = await createUser(app.prisma, { tenantId: tenant.id, role: "viewer" });
  const c = browser(app);

  const claims = { sub: user.id, tid: tenant.id, typ: "mfa", purpose: "enrol" };
  const expired = app.app.jwt.sign({ ...claims, iat: Math.floor(Date.now() / 1000) - 600 }, { expiresIn: 300, aud: "conekt:mfa", iss: "conekt" });
  t.equal((await c.post("/v1/auth/mfa/enrol", { mfaToken: expired })).json.code, "mfa_token_invalid", "expired");
  const session = app.app.jwt.sign({ ...claims, typ: "session", sid: user.id }, { expiresIn: 300, aud: "conekt:portal", iss: "conekt" });
  t.equal((await c.post("/v1/auth/mfa/enrol", { mfaToken: session })).status, 401, "a session token is not an mfaToken");
  const [h, p] = app.app.jwt.sign(claims, { expiresIn: 300, aud: "conekt:mfa", iss: "conekt" }).split(".");
  t.equal((await c.post("/v1/auth/mfa/enrol", { mfaToken: `${h}.${p}.${"A".repeat(43)}` })).status, 401, "bad signature");

  const login = await c.signIn(user.email, user.password);
  await app.prisma.user.update({ where: { id: user.id }, data: { status: "disabled" } });
  const afterDisable = await c.post("/v1/auth/mfa/enrol", { mfaToken: login.json.mfaToken });
  t.equal(afterDisable.status, 401, "the account is read again at every step");
  t.equal(afterDisable.json.code, "mfa_token_invalid");
  t.equal(await app.prisma.mfaFactor.count(), 0, "no factor was created");
});
