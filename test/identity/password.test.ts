import t from "tap";
import { createWorld } from "../helpers/factories.js";
import { verifyPassword } from "../../src/platform/passwords.js";
import { passwordProblem } from "../../src/modules/identity/password-policy.js";
import { browser, buildForIdentity } from "./browser.js";

const NEW_PASSWORD = "plum tractor gazebo 42";

t.test("weak, common, overlong or wrong passwords are refused naming the field, and change nothing", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const user = w.usersA.operator;
  const c = browser(app);
  await c.signIn(user.email, user.password);
  const before = await app.prisma.user.findUniqueOrThrow({ where: { id: user.id } });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["too short", { currentPassword: user.password, newPassword: "eleven char" }, "/body/newPassword"],
    ["too long", { currentPassword: user.password, newPassword: "x".repeat(1025) }, "/body/newPassword"],
    ["common", { currentPassword: user.password, newPassword: "qwerty123456" }, "/body/newPassword"],
    ["common, whatever the case", { currentPassword: user.password, newPassword: "PassWord1234" }, "/body/newPassword"],
    ["the email address", { currentPassword: user.password, newPassword: user.email.toUpperCase() }, "/body/newPassword"],
    ["unchanged", { currentPassword: user.password, newPassword: user.password }, "/body/newPassword"],
    ["wrong current password", { currentPassword: "not my password", newPassword: NEW_PASSWORD }, "/body/currentPassword"],
    ["missing field", { newPassword: NEW_PASSWORD }, "/body/currentPassword"],
  ];
  for (const [label, body, field] of cases) {
    const res = await c.post("/v1/me/password", body);
    t.equal(res.status, 400, label);
    t.equal(res.json.code, "validation_failed", label);
    t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `${label}: names ${field}`);
  }

  const after = await app.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
  t.equal(after.passwordHash, before.passwordHash, "the password is unchanged");
  t.equal(await app.prisma.session.count({ where: { revokedAt: { not: null } } }), 0, "no session ended");
  t.equal((await c.get("/v1/me")).status, 200);
  t.equal(await app.prisma.auditEvent.count({ where: { action: "user.password_changed" } }), 0);
});

t.test("the common-password list is matched case-insensitively", async (t) => {
  t.match(passwordProblem("1QAZ2WSX3EDC"), /commonly used/);
  t.match(passwordProblem("SonyEricsson"), /commonly used/);
  t.equal(passwordProblem("plum tractor gazebo 42"), null);
  t.match(passwordProblem("short"), /at least 12/);
  t.equal(passwordProblem("ä".repeat(12)), null, "length counts characters, not bytes");
});

t.test("a password change ends every session of the account and starts a new one for the caller", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const user = w.usersA.admin;
  const laptop = browser(app);
  const phone = browser(app);
  await laptop.signIn(user.email, user.password);
  await phone.signIn(user.email, user.password);
  const oldLaptop = laptop.clone();
  const bystander = browser(app);
  await bystander.signIn(w.usersA.viewer.email, w.usersA.viewer.password);

  const res = await laptop.post("/v1/me/password", { currentPassword: user.password, newPassword: NEW_PASSWORD });
  t.equal(res.status, 200);
  t.equal(res.json.status, "authenticated");
  t.not(res.json.csrfToken, oldLaptop.csrfToken, "a new session, so a new CSRF token");
  t.equal((await laptop.get("/v1/me")).status, 200, "the caller goes on with the new session");
  t.equal((await laptop.post("/v1/auth/refresh")).status, 200, "and its new refresh token");

  t.equal((await phone.get("/v1/me")).status, 401, "the other device is signed out at once");
  t.equal((await oldLaptop.get("/v1/me")).status, 401, "so is the caller's previous session");
  t.equal((await oldLaptop.post("/v1/auth/refresh")).status, 401, "and its refresh token");
  t.equal((await bystander.get("/v1/me")).status, 200, "other accounts are untouched");

  const stored = await app.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
  t.ok(await verifyPassword(NEW_PASSWORD, stored.passwordHash));
  t.equal((await browser(app).signIn(user.email, user.password)).status, 401, "the old password no longer works");
  t.equal((await browser(app).signIn(user.email, NEW_PASSWORD)).status, 200, "the new one does");

  const revoked = await app.prisma.session.findMany({ where: { userId: user.id, revokedReason: "password_changed" } });
  t.equal(revoked.length, 2);
  const changed = await app.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "user.password_changed" } });
  t.equal(changed.actorId, user.id);
  t.match(changed.data, { sessionsRevoked: 2 });
  const ended = await app.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "session.revoked" } });
  t.same(ended.data, { reason: "password_changed", count: 2 });
});
