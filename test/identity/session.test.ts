import { createHash } from "node:crypto";
import t from "tap";
import { build } from "../helpers/build.js";
import { createTenant, createUser, createWorld } from "../helpers/factories.js";
import { browser, buildForIdentity, setCookies } from "./browser.js";

t.test("sign in, session cookie, CSRF, sign out", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const c = client();

  const res = await c.login(w.usersA.admin.email.toUpperCase(), w.usersA.admin.password);
  t.equal(res.status, 200, "email is case-insensitive");
  t.equal(res.json.status, "authenticated");
  t.match(res.json.session, { role: "admin", tenant: { id: w.tenantA.id, kind: "customer" }, user: { email: w.usersA.admin.email } });
  const cookie = [res.headers["set-cookie"]].flat().find((v) => String(v).startsWith("conekt_session=")) as string;
  t.match(cookie, /HttpOnly/i);
  t.match(cookie, /SameSite=Strict/i);
  t.match(cookie, /Max-Age=900/, "15-minute session");
  t.notMatch(res.body, /passwordHash|scrypt\$/, "no hash in the answer");

  const me = await c.get("/v1/me");
  t.equal(me.status, 200);
  t.equal(me.json.user.id, w.usersA.admin.id);
  t.equal((await c.get("/v1/auth/csrf")).json.csrfToken, c.csrfToken, "the CSRF endpoint returns the login's token");

  // A state change with the cookie but without (or with a wrong) CSRF token is refused.
  const token = c.csrfToken;
  c.csrfToken = undefined;
  const noCsrf = await c.post("/v1/auth/logout");
  t.equal(noCsrf.status, 403);
  t.equal(noCsrf.json.code, "csrf_token_invalid");
  c.csrfToken = "x".repeat(token!.length);
  t.equal((await c.post("/v1/auth/logout")).status, 403);
  c.csrfToken = token;

  const out = await c.post("/v1/auth/logout");
  t.equal(out.status, 204);
  t.match(String([out.headers["set-cookie"]].flat()[0]), /conekt_session=;/, "cookie cleared");

  const actions = (await prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: { startsWith: "auth." } }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["auth.login_succeeded", "auth.logout"], "the refused logouts changed nothing");
});

t.test("wrong credentials get one answer, and failures are audited", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const wrongPassword = await client().post("/v1/auth/login", { email: w.usersA.viewer.email, password: "not the password" });
  const noSuchUser = await client().post("/v1/auth/login", { email: "nobody@example.com", password: "not the password" });
  t.equal(wrongPassword.status, 401);
  t.equal(noSuchUser.status, 401);
  t.equal(wrongPassword.json.code, "invalid_credentials");
  t.equal(wrongPassword.json.detail, noSuchUser.json.detail, "an unknown email is indistinguishable");
  const failed = await prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "auth.login_failed" } });
  t.equal(failed.targetId, w.usersA.viewer.id);
  t.equal(failed.ip, "127.0.0.1");
});

t.test("a disabled user, a closed tenant or a revoked membership ends access at once", async (t) => {
  const { client, prisma } = await build(t);
  const tenant = await createTenant(prisma);
  const user = await createUser(prisma, { tenantId: tenant.id, role: "operator" });
  const c = client();
  await c.login(user.email, user.password);
  t.equal((await c.get("/v1/me")).status, 200);

  await prisma.user.update({ where: { id: user.id }, data: { status: "disabled" } });
  const afterDisable = await c.get("/v1/me");
  t.equal(afterDisable.status, 401, "the live session stops working");
  t.equal(afterDisable.json.code, "session_invalid");
  t.equal((await client().post("/v1/auth/login", { email: user.email, password: user.password })).status, 401, "and sign-in is refused");

  await prisma.user.update({ where: { id: user.id }, data: { status: "active" } });
  await c.login(user.email, user.password);
  await prisma.tenant.update({ where: { id: tenant.id }, data: { status: "closed" } });
  t.equal((await c.get("/v1/me")).status, 401, "closing the tenant ends its sessions");
  const closedLogin = await client().post("/v1/auth/login", { email: user.email, password: user.password });
  t.equal(closedLogin.status, 403);
  t.equal(closedLogin.json.code, "no_tenant_access");
});

t.test("an account in several tenants chooses one", async (t) => {
  const { client, prisma } = await build(t);
  const a = await createTenant(prisma);
  const b = await createTenant(prisma);
  const user = await createUser(prisma, { tenantId: a.id, role: "admin" });
  await prisma.membership.create({ data: { tenantId: b.id, userId: user.id, role: "viewer" } });

  const ambiguous = await client().post("/v1/auth/login", { email: user.email, password: user.password });
  t.equal(ambiguous.status, 409);
  t.equal(ambiguous.json.code, "tenant_required");
  t.same([...ambiguous.json.tenants].sort(), [a.slug, b.slug].sort());

  const c = client();
  const res = await c.login(user.email, user.password, b.slug);
  t.equal(res.status, 200);
  t.equal(res.json.session.role, "viewer", "the role is the one held in the chosen tenant");
  t.equal((await client().post("/v1/auth/login", { email: user.email, password: user.password, tenant: "not-mine" })).status, 403);
});

t.test("forged or foreign tokens are refused", async (t) => {
  const { client, prisma, app } = await build(t);
  const w = await createWorld(prisma);
  const c = client();
  c.cookie = `conekt_session=${app.jwt.sign({ sub: w.usersA.owner.id, tid: w.tenantA.id, sid: "x", typ: "refresh" }, { expiresIn: 60, aud: "conekt:portal", iss: "conekt" })}`;
  t.equal((await c.get("/v1/me")).status, 401, "another token type");
  c.cookie = `conekt_session=${app.jwt.sign({ sub: w.usersA.owner.id, tid: w.tenantA.id, sid: "x", typ: "session" }, { expiresIn: 60, aud: "someone-else", iss: "conekt" })}`;
  t.equal((await c.get("/v1/me")).status, 401, "another audience");
  const [h, p] = app.jwt.sign({ sub: w.usersA.owner.id, tid: w.tenantA.id, sid: "x", typ: "session" }, { expiresIn: 60, aud: "conekt:portal", iss: "conekt" }).split(".");
  const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
  c.cookie = `conekt_session=${none}.${p}.`;
  t.equal((await c.get("/v1/me")).status, 401, "alg none");
  c.cookie = `conekt_session=${h}.${p}.${"A".repeat(43)}`;
  t.equal((await c.get("/v1/me")).status, 401, "bad signature");
  // A user of tenant B holding a token naming tenant A (membership check).
  c.cookie = `conekt_session=${app.jwt.sign({ sub: w.usersB.owner.id, tid: w.tenantA.id, sid: "x", typ: "session" }, { expiresIn: 60, aud: "conekt:portal", iss: "conekt" })}`;
  t.equal((await c.get("/v1/me")).status, 401, "no membership, no session");
});

t.test("sign-in sets an access cookie and a refresh cookie scoped to /v1/auth, Secure over TLS", async (t) => {
  const app = await buildForIdentity(t, { PUBLIC_URL: "https://portal.example.com" });
  const w = await createWorld(app.prisma);
  const res = await browser(app).signIn(w.usersA.viewer.email, w.usersA.viewer.password);
  t.equal(res.status, 200);
  const cookies = Object.fromEntries(setCookies(res).map((c) => [c.name, c]));
  t.match(cookies.conekt_session?.attributes, /HttpOnly/i);
  t.match(cookies.conekt_session?.attributes, /Secure/);
  t.match(cookies.conekt_session?.attributes, /SameSite=Strict/i);
  t.match(cookies.conekt_refresh?.attributes, /HttpOnly/i);
  t.match(cookies.conekt_refresh?.attributes, /Secure/);
  t.match(cookies.conekt_refresh?.attributes, /SameSite=Strict/i);
  t.match(cookies.conekt_refresh?.attributes, /Path=\/v1\/auth\b/, "the refresh token only travels to the auth routes");
  t.match(res.headers["cache-control"], /no-store/);

  const session = await app.prisma.session.findFirstOrThrow({ where: { userId: w.usersA.viewer.id } });
  const hours = (session.expiresAt.getTime() - session.createdAt.getTime()) / 3_600_000;
  t.ok(hours > 11.9 && hours <= 12, "absolute lifetime 12 h");
  t.equal(res.json.sessionExpiresAt, session.expiresAt.toISOString());
  const stored = await app.prisma.refreshToken.findFirstOrThrow({ where: { sessionId: session.id } });
  t.equal(stored.tokenHash, createHash("sha256").update(cookies.conekt_refresh!.value).digest("hex"), "stored as SHA-256, never in clear");
  t.equal(session.ip, "127.0.0.1");

  const plain = await buildForIdentity(t);
  const w2 = await createWorld(plain.prisma);
  const overHttp = await browser(plain).signIn(w2.usersA.viewer.email, w2.usersA.viewer.password);
  t.notMatch(setCookies(overHttp).map((c) => c.attributes).join("|"), /Secure/, "no Secure flag without TLS (a browser would drop the cookie)");
});

t.test("sign-out revokes the session: its access and refresh tokens stop working at once", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const c = browser(app);
  await c.signIn(w.usersA.operator.email, w.usersA.operator.password);
  const stolen = c.clone();
  t.equal((await stolen.get("/v1/me")).status, 200);

  const out = await c.post("/v1/auth/logout");
  t.equal(out.status, 204);
  t.same([...c.jar.keys()], [], "both cookies cleared");

  const me = await stolen.get("/v1/me");
  t.equal(me.status, 401, "a copy of the 15-minute access token is refused at once");
  t.equal(me.json.code, "session_invalid");
  const refresh = await stolen.post("/v1/auth/refresh");
  t.equal(refresh.status, 401, "and so is its refresh token");
  t.equal(refresh.json.code, "session_invalid");
  const row = await app.prisma.session.findFirstOrThrow({ where: { userId: w.usersA.operator.id } });
  t.ok(row.revokedAt);
  t.equal(row.revokedReason, "logout");
  t.equal((await stolen.post("/v1/auth/logout")).status, 401, "signing out twice needs a session");
});

t.test("the per-request check refuses expired sessions and tokens naming another session", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const c = browser(app);
  await c.signIn(w.usersA.admin.email, w.usersA.admin.password);
  const session = await app.prisma.session.findFirstOrThrow({ where: { userId: w.usersA.admin.id } });

  // A token whose sid is a real session of someone else: the claims must match the row.
  const other = browser(app);
  other.jar.set("conekt_session", app.app.jwt.sign({ sub: w.usersA.viewer.id, tid: w.tenantA.id, sid: session.id, typ: "session" }, { expiresIn: 60, aud: "conekt:portal", iss: "conekt" }));
  t.equal((await other.get("/v1/me")).status, 401, "sub must be the session's user");

  await app.prisma.session.update({ where: { id: session.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  const expired = await c.get("/v1/me");
  t.equal(expired.status, 401, "past its absolute end the session is over, whatever the token says");
  t.equal(expired.json.code, "session_invalid");
});

t.test("a sign-in to a tenant the account does not belong to is refused and audited", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const res = await browser(app).signIn(w.usersA.viewer.email, w.usersA.viewer.password, w.tenantB.slug);
  t.equal(res.status, 403);
  t.equal(res.json.code, "no_tenant_access");
  const failed = await app.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "auth.login_failed" } });
  t.same(failed.data, { reason: "no_tenant_access" });
  t.equal(failed.actorId, w.usersA.viewer.id, "recorded with the account as the actor");
  t.equal(await app.prisma.session.count(), 0, "no session was created");
});
