import t from "tap";
import { build } from "../helpers/build.js";
import { createTenant, createUser, createWorld } from "../helpers/factories.js";

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

  const actions = (await prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["auth.login_succeeded", "auth.logout"]);
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
