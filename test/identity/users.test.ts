import t from "tap";
import type { Role } from "../../src/generated/prisma/enums.js";
import { createTenant, createUser, createWorld } from "../helpers/factories.js";
import { Client, type Reply } from "../helpers/client.js";
import { browser, buildForIdentity, type Browser } from "./browser.js";

const ROLES: Role[] = ["owner", "admin", "operator", "billing", "viewer"];

t.test("every member lists and reads the users of their own tenant, never another's", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  await app.prisma.user.update({ where: { id: w.usersA.viewer.id }, data: { status: "disabled" } });
  const idsA = ROLES.map((r) => w.usersA[r].id).sort();

  for (const role of ROLES.filter((r) => r !== "viewer")) {
    const c = browser(app);
    await c.signIn(w.usersA[role].email, w.usersA[role].password);
    const res = await c.get("/v1/users");
    t.equal(res.status, 200, `${role} lists`);
    t.same(res.json.items.map((u: { id: string }) => u.id).sort(), idsA, `${role} sees exactly tenant A's members`);
    t.notMatch(res.body, /passwordHash|scrypt\$|secret/i, "no hashes or secrets");
    const other = await c.get(`/v1/users/${w.usersB.owner.id}`);
    t.equal(other.status, 404, `${role}: another tenant's user is not found`);
  }

  const c = browser(app);
  await c.signIn(w.usersA.operator.email, w.usersA.operator.password);
  const one = await c.get(`/v1/users/${w.usersA.viewer.id}`);
  t.equal(one.status, 200);
  t.same(Object.keys(one.json).sort(), ["createdAt", "email", "id", "lastLoginAt", "mfaEnabled", "name", "role", "status"]);
  t.match(one.json, { role: "viewer", status: "disabled", mfaEnabled: false, lastLoginAt: null });
  const me = await c.get(`/v1/users/${w.usersA.operator.id}`);
  t.ok(me.json.lastLoginAt, "last sign-in recorded");

  // Pages of two, with filters.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await c.get(`/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    t.ok(res.json.items.length <= 2);
    seen.push(...res.json.items.map((u: { id: string }) => u.id));
    cursor = res.json.nextCursor;
  } while (cursor);
  t.same(seen, idsA, "every member once, in id order");
  t.same((await c.get("/v1/users?status=disabled")).json.items.map((u: { id: string }) => u.id), [w.usersA.viewer.id]);
  t.same((await c.get("/v1/users?role=billing")).json.items.map((u: { id: string }) => u.id), [w.usersA.billing.id]);
  const bad = await c.get("/v1/users?role=god&limit=0");
  t.equal(bad.status, 400);
  // Fastify calls the query string "querystring"; the problem handler may name it either way.
  const fields = new Set(bad.json.errors.map((e: { field: string }) => e.field.replace(/^\/querystring\//, "/query/")));
  t.same([...fields].sort(), ["/query/limit", "/query/role"]);
});

t.test("only owners and admins change roles; admins never touch owners", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const as = async (role: Role): Promise<Browser> => {
    const c = browser(app);
    await c.signIn(w.usersA[role].email, w.usersA[role].password);
    return c;
  };
  const roleOf = async (userId: string) => (await app.prisma.membership.findUniqueOrThrow({ where: { tenantId_userId: { tenantId: w.tenantA.id, userId } } })).role;

  for (const role of ["operator", "billing", "viewer"] as const) {
    const res = await (await as(role)).patch(`/v1/users/${w.usersA.viewer.id}`, { role: "admin" });
    t.equal(res.status, 403, `${role} cannot change roles`);
  }
  t.equal(await roleOf(w.usersA.viewer.id), "viewer", "nothing changed");

  const admin = await as("admin");
  t.equal((await admin.patch(`/v1/users/${w.usersA.owner.id}`, { role: "viewer" })).status, 403, "an admin cannot demote an owner");
  t.equal((await admin.patch(`/v1/users/${w.usersA.viewer.id}`, { role: "owner" })).status, 403, "nor make an owner");
  t.equal(await roleOf(w.usersA.owner.id), "owner");
  t.equal(await roleOf(w.usersA.viewer.id), "viewer");

  const changed = await admin.patch(`/v1/users/${w.usersA.viewer.id}`, { role: "operator" });
  t.equal(changed.status, 200);
  t.equal(changed.json.role, "operator");
  const event = await app.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "user.updated" } });
  t.same(event.data, { changes: { role: { from: "viewer", to: "operator" } } });
  t.equal(event.actorId, w.usersA.admin.id);

  // The new role applies to the member's next request (read fresh, not from the token).
  const promoted = browser(app);
  await promoted.signIn(w.usersA.billing.email, w.usersA.billing.password);
  t.equal((await promoted.get("/v1/invitations")).status, 403);
  const owner = await as("owner");
  t.equal((await owner.patch(`/v1/users/${w.usersA.billing.id}`, { role: "admin" })).status, 200);
  t.equal((await promoted.get("/v1/invitations")).status, 200, "the same session now acts as admin");

  const self = await owner.patch(`/v1/users/${w.usersA.owner.id}`, { role: "admin" });
  t.equal(self.status, 409);
  t.equal(self.json.code, "self_change");
  t.equal((await admin.patch(`/v1/users/${w.usersA.admin.id}`, { status: "disabled" })).json.code, "self_change");

  const other = await owner.patch(`/v1/users/${w.usersB.viewer.id}`, { role: "admin" });
  t.equal(other.status, 404, "another tenant's user is not found");
  t.equal((await app.prisma.membership.findUniqueOrThrow({ where: { tenantId_userId: { tenantId: w.tenantB.id, userId: w.usersB.viewer.id } } })).role, "viewer");

  const invalid = await owner.patch(`/v1/users/${w.usersA.viewer.id}`, { role: "emperor", extra: 1 });
  t.equal(invalid.status, 400);
  t.same([...new Set(invalid.json.errors.map((e: { field: string }) => e.field))].sort(), ["/body/extra", "/body/role"]);
  t.equal((await owner.patch(`/v1/users/${w.usersA.viewer.id}`, {})).status, 400, "an empty change is refused");
});

t.test("a tenant never loses its last active owner, even to concurrent demotions", async (t) => {
  const app = await buildForIdentity(t);
  const tenant = await createTenant(app.prisma);
  const first = await createUser(app.prisma, { tenantId: tenant.id, role: "owner" });
  const second = await createUser(app.prisma, { tenantId: tenant.id, role: "owner" });
  const a = browser(app);
  const b = browser(app);
  await a.signIn(first.email, first.password);
  await b.signIn(second.email, second.password);

  const results = await Promise.all([a.patch(`/v1/users/${second.id}`, { role: "admin" }), b.patch(`/v1/users/${first.id}`, { status: "disabled" })]);
  t.same(results.map((r) => r.status).filter((s) => s === 200), [200], "exactly one change goes through");
  const refused = results.find((r) => r.status !== 200)!;
  t.ok(["last_owner", "forbidden"].includes(refused.json.code), `the other is refused (${refused.json.code})`);
  const owners = await app.prisma.membership.count({ where: { tenantId: tenant.id, role: "owner", user: { status: "active" } } });
  t.equal(owners, 1, "one active owner remains");
});

t.test("disabling a user ends their sessions at once and refuses sign-in", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const victim = browser(app);
  await victim.signIn(w.usersA.operator.email, w.usersA.operator.password);
  const admin = browser(app);
  await admin.signIn(w.usersA.admin.email, w.usersA.admin.password);

  const res = await admin.patch(`/v1/users/${w.usersA.operator.id}`, { status: "disabled" });
  t.equal(res.status, 200);
  t.equal(res.json.status, "disabled");
  t.equal((await victim.get("/v1/me")).status, 401, "the access token is refused at once");
  t.equal((await victim.post("/v1/auth/refresh")).status, 401, "so is the refresh token");
  t.equal((await browser(app).signIn(w.usersA.operator.email, w.usersA.operator.password)).status, 401, "sign-in refused");
  t.equal((await app.prisma.session.findFirstOrThrow({ where: { userId: w.usersA.operator.id } })).revokedReason, "user_disabled");
  const actions = (await app.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: { in: ["user.updated", "session.revoked"] } }, orderBy: { seq: "asc" } })).map((e) => [e.action, e.data]);
  t.same(actions, [
    ["user.updated", { changes: { status: { from: "active", to: "disabled" } } }],
    ["session.revoked", { reason: "user_disabled", count: 1 }],
  ]);

  t.equal((await admin.patch(`/v1/users/${w.usersA.operator.id}`, { status: "active" })).status, 200);
  t.equal((await browser(app).signIn(w.usersA.operator.email, w.usersA.operator.password)).status, 200, "enabled again, they sign in");
});

t.test("an account shared with another tenant cannot be disabled by one of them", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  await app.prisma.membership.create({ data: { tenantId: w.tenantB.id, userId: w.usersA.viewer.id, role: "viewer" } });
  const owner = browser(app);
  await owner.signIn(w.usersA.owner.email, w.usersA.owner.password);
  const res = await owner.patch(`/v1/users/${w.usersA.viewer.id}`, { status: "disabled" });
  t.equal(res.status, 409);
  t.equal(res.json.code, "shared_account");
  t.equal((await app.prisma.user.findUniqueOrThrow({ where: { id: w.usersA.viewer.id } })).status, "active");
  t.equal((await owner.patch(`/v1/users/${w.usersA.viewer.id}`, { role: "billing" })).status, 200, "its role in this tenant is this tenant's to change");
});

t.test("API keys and anonymous callers get no user management", async (t) => {
  const app = await buildForIdentity(t);
  const w = await createWorld(app.prisma);
  const anonymous = browser(app);
  t.equal((await anonymous.get("/v1/users")).status, 401);
  t.equal((await anonymous.patch(`/v1/users/${w.usersA.viewer.id}`, { role: "admin" })).status, 401);

  const owner = browser(app);
  await owner.signIn(w.usersA.owner.email, w.usersA.owner.password);
  const created = await owner.post("/v1/api-keys", { name: "all it may", scopes: ["tenant:read", "audit:read"] });
  t.equal(created.status, 201);
  const key = new Client(app.app, { headers: { authorization: `Bearer ${created.json.key}` } });
  for (const [label, res] of [
    ["list users", await key.get("/v1/users")],
    ["read a user", await key.get(`/v1/users/${w.usersA.viewer.id}`)],
    ["change a user", await key.patch(`/v1/users/${w.usersA.viewer.id}`, { role: "admin" })],
    ["invite", await key.post("/v1/invitations", { email: "bot@example.com", role: "viewer" })],
    ["list invitations", await key.get("/v1/invitations")],
    ["change a password", await key.post("/v1/me/password", { currentPassword: "x", newPassword: "plum tractor gazebo 42" })],
  ] as const) {
    t.equal(res.status, 403, `an API key cannot ${label}`);
    t.equal(res.json.code, "user_required", label);
  }
  t.equal((await app.prisma.membership.findUniqueOrThrow({ where: { tenantId_userId: { tenantId: w.tenantA.id, userId: w.usersA.viewer.id } } })).role, "viewer");
  t.equal(await app.prisma.invitation.count(), 0);
});
