import t from "tap";
import { build } from "../helpers/build.js";
import type { Reply } from "../helpers/client.js";
import { createWorld } from "../helpers/factories.js";

const newTenant = (slug: string) => ({
  slug,
  legalName: "Acme Telematics GmbH",
  country: "DE",
  vatId: "DE123456789",
  billingAddress: { line1: "Alexanderplatz 1", postalCode: "10178", city: "Berlin", country: "DE" },
  billingEmail: "Billing@Acme.example",
});

t.test("platform staff onboard, list, change and close customer tenants", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const staff = client();
  t.equal((await staff.login(w.staff.owner.email, w.staff.owner.password)).status, 200);

  const created = await staff.post("/v1/tenants", newTenant("acme"));
  t.equal(created.status, 201);
  t.match(created.json, { slug: "acme", kind: "customer", status: "active", billingEmail: "billing@acme.example", closedAt: null });
  t.same(created.json.settings, { mfaRequired: false, connectivityRetentionDays: 400, enterpriseRetentionYears: 3, testUsageThresholdBytes: 1048576 }, "defaults applied");
  const id = created.json.id;

  const dup = await staff.post("/v1/tenants", newTenant("acme"));
  t.equal(dup.status, 409);
  t.equal(dup.json.code, "slug_taken");
  t.equal(await prisma.tenant.count({ where: { slug: "acme" } }), 1, "no second row");

  const patched = await staff.patch(`/v1/tenants/${id}`, { legalName: "Acme IoT GmbH", settings: { mfaRequired: true }, vatId: null });
  t.equal(patched.status, 200);
  t.equal(patched.json.legalName, "Acme IoT GmbH");
  t.equal(patched.json.vatId, null);
  t.same(patched.json.settings, { mfaRequired: true, connectivityRetentionDays: 400, enterpriseRetentionYears: 3, testUsageThresholdBytes: 1048576 }, "settings merged");

  const closed = await staff.post(`/v1/tenants/${id}/close`, { reason: "contract ended" });
  t.equal(closed.status, 200);
  t.equal(closed.json.status, "closed");
  t.ok(closed.json.closedAt);
  const again = await staff.post(`/v1/tenants/${id}/close`, { reason: "twice" });
  t.equal(again.status, 409);
  t.equal(again.json.code, "tenant_closed");
  const afterClose = await staff.patch(`/v1/tenants/${id}`, { legalName: "Zombie" });
  t.equal(afterClose.status, 409);

  const actions = (await prisma.auditEvent.findMany({ where: { tenantId: id }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["tenant.created", "tenant.updated", "tenant.closed"], "every state change audited, refusals change nothing");
  const closeEvent = await prisma.auditEvent.findFirstOrThrow({ where: { tenantId: id, action: "tenant.closed" } });
  t.equal(closeEvent.actorId, w.staff.owner.id);
  t.same(closeEvent.data, { reason: "contract ended" });
});

t.test("the platform tenant itself cannot be closed", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const staff = client();
  await staff.login(w.staff.owner.email, w.staff.owner.password);
  const res = await staff.post(`/v1/tenants/${w.platform.id}/close`, { reason: "oops" });
  t.equal(res.status, 403);
  t.equal((await prisma.tenant.findUniqueOrThrow({ where: { id: w.platform.id } })).status, "active");
});

t.test("listing pages with a cursor and filters", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const staff = client();
  await staff.login(w.staff.viewer.email, w.staff.viewer.password);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: Reply = await staff.get(`/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    t.equal(res.status, 200);
    t.ok(res.json.items.length <= 2);
    seen.push(...res.json.items.map((x: { id: string }) => x.id));
    cursor = res.json.nextCursor;
  } while (cursor);
  t.same(seen, [w.platform.id, w.tenantA.id, w.tenantB.id], "every tenant once, in creation order");

  const customers = await staff.get("/v1/tenants?kind=customer");
  t.same(customers.json.items.map((x: { id: string }) => x.id), [w.tenantA.id, w.tenantB.id]);
  const byName = await staff.get(`/v1/tenants?q=${w.tenantB.slug.toUpperCase()}`);
  t.same(byName.json.items.map((x: { id: string }) => x.id), [w.tenantB.id], "q matches slug case-insensitively");

  const badCursor = await staff.get("/v1/tenants?cursor=bm90LWEtY3Vyc29y");
  t.equal(badCursor.status, 400);
  t.equal(badCursor.json.errors[0].field, "/query/cursor");
  const badLimit = await staff.get("/v1/tenants?limit=501");
  t.equal(badLimit.status, 400);
});

t.test("roles and tenant isolation", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);

  // Platform viewers read but do not change.
  const viewer = client();
  await viewer.login(w.staff.viewer.email, w.staff.viewer.password);
  t.equal((await viewer.get(`/v1/tenants/${w.tenantA.id}`)).status, 200);
  const refused = await viewer.post("/v1/tenants", newTenant("viewer-made"));
  t.equal(refused.status, 403);
  t.equal(refused.json.code, "forbidden");
  t.equal((await viewer.patch(`/v1/tenants/${w.tenantA.id}`, { legalName: "x" })).status, 403);
  t.equal(await prisma.tenant.count({ where: { slug: "viewer-made" } }), 0);

  // A customer's members see only their own tenant; another tenant is a 404, whatever the role.
  for (const role of ["owner", "admin", "operator", "billing", "viewer"] as const) {
    const member = client();
    await member.login(w.usersA[role].email, w.usersA[role].password);
    const list = await member.get("/v1/tenants");
    t.same(list.json.items.map((x: { id: string }) => x.id), [w.tenantA.id], `${role}: list holds only the own tenant`);
    t.equal((await member.get(`/v1/tenants/${w.tenantA.id}`)).status, 200, `${role}: reads own tenant`);
    const other = await member.get(`/v1/tenants/${w.tenantB.id}`);
    t.equal(other.status, 404, `${role}: another tenant is not found`);
    t.equal(other.json.code, "not_found");
    t.equal((await member.patch(`/v1/tenants/${w.tenantB.id}`, { legalName: "pwned" })).status, 404, `${role}: cannot change another tenant`);
    t.equal((await member.post(`/v1/tenants/${w.tenantB.id}/close`, { reason: "pwned" })).status, 404, `${role}: cannot close another tenant`);
    t.equal((await member.patch(`/v1/tenants/${w.tenantA.id}`, { legalName: "self-service" })).status, 403, `${role}: customer roles do not administer tenants`);
    t.equal((await member.post("/v1/tenants", newTenant(`by-${role}`))).status, 403);
  }
  const b = await prisma.tenant.findUniqueOrThrow({ where: { id: w.tenantB.id } });
  t.equal(b.legalName, w.tenantB.legalName, "tenant B unchanged");
  t.equal(b.status, "active");
  t.equal((await prisma.tenant.findUniqueOrThrow({ where: { id: w.tenantA.id } })).legalName, w.tenantA.legalName);
});

t.test("input is bounded and validated field by field", async (t) => {
  const { client, prisma } = await build(t);
  const w = await createWorld(prisma);
  const staff = client();
  await staff.login(w.staff.owner.email, w.staff.owner.password);
  const res = await staff.post("/v1/tenants", {
    ...newTenant("Bad Slug!"),
    country: "de",
    vatId: "123",
    billingAddress: { line1: "", postalCode: "1", city: "x".repeat(101), country: "DEU" },
    settings: { connectivityRetentionDays: 5 },
  });
  t.equal(res.status, 400);
  const fields = new Set(res.json.errors.map((e: { field: string }) => e.field));
  for (const f of ["/body/slug", "/body/country", "/body/vatId", "/body/billingAddress/line1", "/body/billingAddress/city", "/body/billingAddress/country", "/body/settings/connectivityRetentionDays"]) {
    t.ok(fields.has(f), `names ${f}`);
  }
  t.equal((await staff.patch(`/v1/tenants/${w.tenantA.id}`, {})).status, 400, "an empty patch is refused");
  t.equal((await staff.patch(`/v1/tenants/${w.tenantA.id}`, { status: "closed" })).status, 400, "closing goes through /close");
  t.equal((await staff.get("/v1/tenants/not-a-uuid")).status, 400);
});
