import t from "tap";
import { createWorld } from "../helpers/factories.js";
import { browser, buildForIdentity, setCookies } from "./browser.js";

t.test("refresh rotates the refresh token and issues a new access cookie", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const c = browser(app);
  const login = await c.signIn(w.usersA.operator.email, w.usersA.operator.password);
  const first = c.jar.get("conekt_refresh");

  const res = await c.post("/v1/auth/refresh");
  t.equal(res.status, 200);
  t.equal(res.json.status, "authenticated");
  t.equal(res.json.csrfToken, login.json.csrfToken, "the CSRF token is bound to the session, which goes on");
  t.equal(res.json.sessionExpiresAt, login.json.sessionExpiresAt, "refreshing never extends the session");
  t.equal(res.json.session.role, "operator");
  t.not(c.jar.get("conekt_refresh"), first, "a new refresh token");
  t.match(setCookies(res).find((x) => x.name === "conekt_session")?.attributes, /Max-Age=900/, "a new 15-minute access cookie");
  t.match(setCookies(res).find((x) => x.name === "conekt_refresh")?.attributes, /Path=\/v1\/auth/);
  t.equal((await c.get("/v1/me")).status, 200, "the new access cookie works");

  const tokens = await app.prisma.refreshToken.findMany({ orderBy: { createdAt: "asc" } });
  t.equal(tokens.length, 2, "one session, a chain of two tokens");
  t.equal(new Set(tokens.map((x) => x.sessionId)).size, 1);
  t.ok(tokens[0]?.usedAt, "the presented one is used up");
  t.equal(tokens[1]?.usedAt, null);
  t.ok(tokens[1]!.expiresAt.getTime() <= Date.now() + 2 * 3600_000 + 1000, "a refresh token lives at most 2 hours");

  // And again: rotation goes on link by link.
  t.equal((await c.post("/v1/auth/refresh")).status, 200);
  t.equal(await app.prisma.refreshToken.count({ where: { usedAt: null } }), 1);
});

t.test("refresh needs the session's CSRF token and a refresh cookie", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const c = browser(app);
  await c.signIn(w.usersA.viewer.email, w.usersA.viewer.password);
  const token = c.csrfToken;

  c.csrfToken = undefined;
  const noCsrf = await c.post("/v1/auth/refresh");
  t.equal(noCsrf.status, 403);
  t.equal(noCsrf.json.code, "csrf_token_invalid");
  c.csrfToken = "A".repeat(token!.length);
  t.equal((await c.post("/v1/auth/refresh")).status, 403, "another value is refused too");
  t.equal(await app.prisma.refreshToken.count({ where: { usedAt: { not: null } } }), 0, "a refused refresh uses nothing up");
  c.csrfToken = token;

  const anonymous = browser(app);
  const missing = await anonymous.post("/v1/auth/refresh");
  t.equal(missing.status, 401);
  t.equal(missing.json.code, "refresh_token_missing");
  anonymous.jar.set("conekt_refresh", "x".repeat(43));
  const unknown = await anonymous.post("/v1/auth/refresh");
  t.equal(unknown.status, 401);
  t.equal(unknown.json.code, "refresh_token_invalid");

  t.equal((await c.post("/v1/auth/refresh")).status, 200, "with both, it works");
});

t.test("a rotated refresh token presented again revokes the whole session at once", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const victim = browser(app);
  await victim.signIn(w.usersA.admin.email, w.usersA.admin.password);
  const thief = victim.clone();

  t.equal((await victim.post("/v1/auth/refresh")).status, 200, "the victim refreshes; the thief's copy is now used");
  t.equal((await victim.get("/v1/me")).status, 200);

  const replay = await thief.post("/v1/auth/refresh");
  t.equal(replay.status, 401);
  t.equal(replay.json.code, "refresh_token_reused");
  t.same([...thief.jar.keys()], [], "the failed refresh clears the cookies");

  const me = await victim.get("/v1/me");
  t.equal(me.status, 401, "the newest access token stops working at once");
  t.equal(me.json.code, "session_invalid");
  const again = await victim.post("/v1/auth/refresh");
  t.equal(again.status, 401, "and so does the newest refresh token");

  const session = await app.prisma.session.findFirstOrThrow({ where: { userId: w.usersA.admin.id } });
  t.equal(session.revokedReason, "refresh_reuse");
  const events = await app.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: { in: ["auth.refresh_reuse", "session.revoked"] } }, orderBy: { seq: "asc" } });
  t.same(events.map((e) => e.action), ["auth.refresh_reuse", "session.revoked"]);
  t.equal(events[0]?.targetId, session.id);
  t.equal(events[0]?.actorId, w.usersA.admin.id);

  // Other sessions of the same account are not affected.
  const elsewhere = browser(app);
  t.equal((await elsewhere.signIn(w.usersA.admin.email, w.usersA.admin.password)).status, 200);
  t.equal((await elsewhere.get("/v1/me")).status, 200);
});

t.test("two concurrent refreshes with one token: one wins, the other counts as reuse", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const a = browser(app);
  await a.signIn(w.usersA.billing.email, w.usersA.billing.password);
  const b = a.clone();
  const results = await Promise.all([a.post("/v1/auth/refresh"), b.post("/v1/auth/refresh")]);
  t.same(results.map((r) => r.status).sort(), [200, 401]);
  t.equal(results.find((r) => r.status === 401)?.json.code, "refresh_token_reused");
  t.equal(await app.prisma.refreshToken.count({ where: { usedAt: null, session: { revokedAt: null } } }), 0, "no usable token is left");
  t.equal((await app.prisma.session.findFirstOrThrow({ where: { userId: w.usersA.billing.id } })).revokedReason, "refresh_reuse");
});

t.test("refresh respects the session's end and the account's state", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const c = browser(app);
  await c.signIn(w.usersA.viewer.email, w.usersA.viewer.password);
  const session = await app.prisma.session.findFirstOrThrow({ where: { userId: w.usersA.viewer.id } });

  // Near the session's end, the access token is cut to what is left of it.
  await app.prisma.session.update({ where: { id: session.id }, data: { expiresAt: new Date(Date.now() + 60_000) } });
  const near = await c.post("/v1/auth/refresh");
  t.equal(near.status, 200);
  const maxAge = Number(/Max-Age=(\d+)/.exec(setCookies(near).find((x) => x.name === "conekt_session")!.attributes)?.[1]);
  t.ok(maxAge > 0 && maxAge <= 60, `the access cookie ends with the session (Max-Age ${maxAge})`);

  await app.prisma.session.update({ where: { id: session.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  const over = await c.post("/v1/auth/refresh");
  t.equal(over.status, 401);
  t.equal(over.json.code, "session_invalid");

  const d = browser(app);
  await d.signIn(w.usersA.viewer.email, w.usersA.viewer.password);
  await app.prisma.user.update({ where: { id: w.usersA.viewer.id }, data: { status: "disabled" } });
  const disabled = await d.post("/v1/auth/refresh");
  t.equal(disabled.status, 401, "a disabled account cannot refresh");
  t.equal(disabled.json.code, "session_invalid");
});
