import t from "tap";
import { build, type TestApp } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";
import { createTenant, createUser, createWorld } from "../helpers/factories.js";
import { createInvoice } from "../payments/helpers.js";

async function signedIn(ctx: TestApp, user: { email: string; password: string }): Promise<Client> {
  const c = ctx.client();
  const res = await c.login(user.email, user.password);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  return c;
}

const ADDRESS = { line1: "Invalidenstraße 7", postalCode: "10115", city: "Berlin", country: "DE" };

t.test("a billing contact reads and changes its tenant's billing details; issued invoices keep their snapshot", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const billing = await signedIn(ctx, w.usersA.billing);
  const issued = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, totalMinor: 100n });

  const before = await billing.get("/v1/billing/profile");
  t.equal(before.status, 200);
  t.match(before.json, { tenantId: w.tenantA.id, legalName: w.tenantA.legalName, country: "DE", vatId: "DE811907980", billingEmail: null, contacts: [] });

  const patched = await billing.patch("/v1/billing/profile", { billingAddress: ADDRESS, billingEmail: "Invoices@Example.com", vatId: "de 811.907-981" });
  t.equal(patched.status, 200);
  t.match(patched.json, { billingAddress: ADDRESS, billingEmail: "invoices@example.com", vatId: "DE811907981" }, "VAT id normalised, email lower-cased");
  const tenant = await ctx.prisma.tenant.findUniqueOrThrow({ where: { id: w.tenantA.id } });
  t.equal(tenant.vatId, "DE811907981");
  t.match(tenant.billingAddress, ADDRESS);
  const audit = await ctx.prisma.auditEvent.findFirstOrThrow({ where: { tenantId: w.tenantA.id, action: "billing_profile.updated" } });
  t.match(audit.data, { changed: ["billingAddress", "billingEmail", "vatId"], vatId: { before: "DE811907980", after: "DE811907981" } });
  t.equal(audit.actorId, w.usersA.billing.id);

  const snapshot = (await ctx.prisma.invoice.findUniqueOrThrow({ where: { id: issued.id } })).customer as { vatId: string };
  t.equal(snapshot.vatId, "DE811907980", "the issued invoice keeps the VAT id it was made with");

  t.equal((await billing.patch("/v1/billing/profile", { vatId: null })).json.vatId, null, "null clears the VAT id");

  // Bad input: 400 with the field, nothing changed.
  for (const [label, body] of [
    ["a VAT id without a country prefix", { vatId: "811907980" }],
    ["a VAT id too long", { vatId: "DE12345678901234" }],
    ["a VAT id too short after cleaning", { vatId: "DE 1" }],
    ["an address without a city", { billingAddress: { line1: "x", postalCode: "1", country: "DE" } }],
    ["a bad email", { billingEmail: "not-an-email" }],
    ["the legal name (not editable here)", { legalName: "Other GmbH" }],
    ["nothing", {}],
  ] as const) {
    const res = await billing.patch("/v1/billing/profile", body);
    t.equal(res.status, 400, label);
    t.equal(res.json.code, "validation_failed", label);
  }
  const bad = await billing.patch("/v1/billing/profile", { vatId: "DE 1" });
  t.match(bad.json.errors, [{ field: "/body/vatId" }]);
  t.equal((await ctx.prisma.tenant.findUniqueOrThrow({ where: { id: w.tenantA.id } })).vatId, null);
});

t.test("who sees and changes billing details: owner/admin/billing of the tenant, billing staff of any customer", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  for (const role of ["owner", "admin", "billing"] as const) {
    const c = await signedIn(ctx, w.usersA[role]);
    t.equal((await c.get("/v1/billing/profile")).status, 200, `${role} reads`);
    t.equal((await c.patch("/v1/billing/profile", { billingEmail: `${role}@example.com` })).status, 200, `${role} changes`);
    t.equal((await c.get(`/v1/billing/profile?tenantId=${w.tenantB.id}`)).status, 404, `${role}: another tenant is 404`);
    t.equal((await c.patch(`/v1/billing/profile?tenantId=${w.tenantB.id}`, { billingEmail: "x@example.com" })).status, 404);
  }
  for (const role of ["operator", "viewer"] as const) {
    const c = await signedIn(ctx, w.usersA[role]);
    t.equal((await c.get("/v1/billing/profile")).status, 403, `${role}: billing is not theirs`);
    t.equal((await c.patch("/v1/billing/profile", { billingEmail: "x@example.com" })).status, 403);
  }

  const clerk = await createUser(ctx.prisma, { tenantId: w.platform.id, role: "billing" });
  const staff = await signedIn(ctx, clerk);
  const missing = await staff.get("/v1/billing/profile");
  t.equal(missing.status, 400, "staff name the customer");
  t.match(missing.json.errors, [{ field: "/query/tenantId" }]);
  t.equal((await staff.get(`/v1/billing/profile?tenantId=${w.platform.id}`)).status, 404, "the platform tenant is not billed");
  const other = await staff.patch(`/v1/billing/profile?tenantId=${w.tenantB.id}`, { billingEmail: "ap@b.example.com" });
  t.equal(other.status, 200);
  t.equal(other.json.billingEmail, "ap@b.example.com");
  const viewer = await signedIn(ctx, w.staff.viewer);
  t.equal((await viewer.get(`/v1/billing/profile?tenantId=${w.tenantA.id}`)).status, 403, "platform viewer: no billing");

  const closed = await createTenant(ctx.prisma, { status: "closed" });
  const refused = await staff.patch(`/v1/billing/profile?tenantId=${closed.id}`, { billingEmail: "x@example.com" });
  t.equal(refused.status, 409);
  t.equal(refused.json.code, "tenant_closed");
});

t.test("billing contacts: create, list, change, delete; unique email per tenant; tenants kept apart", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const admin = await signedIn(ctx, w.usersA.admin);

  const created = await admin.post("/v1/billing/contacts", { name: " Ada Accounts ", email: "Ada@Example.com", phone: "+49 30 1234567" });
  t.equal(created.status, 201);
  t.match(created.json, { tenantId: w.tenantA.id, name: "Ada Accounts", email: "ada@example.com", phone: "+49 30 1234567", receivesInvoices: true });
  const id = created.json.id as string;

  const dup = await admin.post("/v1/billing/contacts", { name: "Ada again", email: "ADA@example.com" });
  t.equal(dup.status, 409);
  t.equal(dup.json.code, "duplicate_contact");
  const second = await admin.post("/v1/billing/contacts", { name: "Bob", email: "bob@example.com", receivesInvoices: false });
  t.equal(second.status, 201);
  const clash = await admin.patch(`/v1/billing/contacts/${second.json.id}`, { email: "ada@example.com" });
  t.equal(clash.status, 409);
  t.equal(clash.json.code, "duplicate_contact");

  const billing = await signedIn(ctx, w.usersA.billing);
  const list = await billing.get("/v1/billing/contacts");
  t.same(list.json.items.map((c: { email: string }) => c.email), ["ada@example.com", "bob@example.com"]);
  t.equal((await billing.get("/v1/billing/profile")).json.contacts.length, 2, "the profile shows the contacts");
  const page = await billing.get("/v1/billing/contacts?limit=1");
  t.equal(page.json.items.length, 1);
  t.same((await billing.get(`/v1/billing/contacts?limit=1&cursor=${page.json.nextCursor}`)).json.items.map((c: { email: string }) => c.email), ["bob@example.com"]);

  const changed = await billing.patch(`/v1/billing/contacts/${id}`, { phone: null, receivesInvoices: false, name: "Ada L." });
  t.equal(changed.status, 200);
  t.match(changed.json, { name: "Ada L.", phone: null, receivesInvoices: false });
  t.equal((await billing.patch(`/v1/billing/contacts/${id}`, {})).status, 400, "an empty change");
  t.equal((await billing.post("/v1/billing/contacts", { name: "X", email: "x@example.com", phone: "call me" })).status, 400, "a phone that is no number");
  t.equal((await billing.post("/v1/billing/contacts", { name: "   ", email: "y@example.com" })).status, 400, "a blank name");

  // Tenant B's people cannot see or touch A's contacts; B's contacts stay B's.
  const ownerB = await signedIn(ctx, w.usersB.owner);
  t.equal((await ownerB.patch(`/v1/billing/contacts/${id}`, { name: "pwned" })).status, 404);
  t.equal((await ownerB.request("DELETE", `/v1/billing/contacts/${id}`)).status, 404);
  t.same((await ownerB.get("/v1/billing/contacts")).json.items, []);
  t.equal((await ownerB.get(`/v1/billing/contacts?tenantId=${w.tenantA.id}`)).status, 404);
  t.equal((await ownerB.post("/v1/billing/contacts", { tenantId: w.tenantA.id, name: "Spy", email: "spy@example.com" })).status, 404);
  t.equal((await ownerB.post("/v1/billing/contacts", { name: "Ada B", email: "ada@example.com" })).status, 201, "the same email in another tenant");

  const operator = await signedIn(ctx, w.usersA.operator);
  t.equal((await operator.get("/v1/billing/contacts")).status, 403);
  t.equal((await operator.post("/v1/billing/contacts", { name: "Op", email: "op@example.com" })).status, 403);
  t.equal((await operator.request("DELETE", `/v1/billing/contacts/${id}`)).status, 403);

  // Staff manage any customer's contacts, naming the tenant.
  const clerk = await createUser(ctx.prisma, { tenantId: w.platform.id, role: "billing" });
  const staff = await signedIn(ctx, clerk);
  t.equal((await staff.post("/v1/billing/contacts", { name: "No tenant", email: "n@example.com" })).status, 400, "staff must name the tenant");
  const byStaff = await staff.post("/v1/billing/contacts", { tenantId: w.tenantA.id, name: "Carla", email: "carla@example.com" });
  t.equal(byStaff.status, 201);
  t.equal(byStaff.json.tenantId, w.tenantA.id);
  t.equal((await staff.get(`/v1/billing/contacts?tenantId=${w.tenantA.id}`)).json.items.length, 3);

  const removed = await billing.request("DELETE", `/v1/billing/contacts/${id}`);
  t.equal(removed.status, 204);
  t.equal(await ctx.prisma.billingContact.count({ where: { id } }), 0);
  t.equal((await billing.request("DELETE", `/v1/billing/contacts/${id}`)).status, 404, "gone");

  const actions = (await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.tenantA.id, action: { startsWith: "billing_contact." } }, orderBy: { seq: "asc" } })).map((e) => e.action);
  t.same(actions, ["billing_contact.created", "billing_contact.created", "billing_contact.updated", "billing_contact.created", "billing_contact.deleted"]);
});

t.test("at most 50 contacts per tenant, even when added at once", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  await ctx.prisma.billingContact.createMany({ data: Array.from({ length: 45 }, (_, i) => ({ tenantId: w.tenantA.id, name: `C${i}`, email: `c${i}@example.com` })) });
  const owner = await signedIn(ctx, w.usersA.owner);
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => owner.post("/v1/billing/contacts", { name: `N${i}`, email: `n${i}@example.com` })));
  t.same(results.map((r) => r.status).sort(), [201, 201, 201, 201, 201, 409, 409, 409]);
  t.ok(results.filter((r) => r.status === 409).every((r) => r.json.code === "contact_limit"));
  t.equal(await ctx.prisma.billingContact.count({ where: { tenantId: w.tenantA.id } }), 50);
});
