import t from "tap";
import { loadBillingSettings } from "../../src/modules/billing/billing-settings.js";
import { isValidIban } from "../../src/modules/billing/iban.js";
import { build, type TestApp } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";
import { createUser, createWorld } from "../helpers/factories.js";

async function signedIn(ctx: TestApp, user: { email: string; password: string }): Promise<Client> {
  const c = ctx.client();
  const res = await c.login(user.email, user.password);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  return c;
}

const put = (c: Client, body: unknown) => c.request("PUT", "/v1/billing/settings", { body });

const ISSUER = {
  legalName: "Conekt GmbH",
  address: { line1: "Chausseestraße 10", postalCode: "10115", city: "Berlin", country: "DE" },
  country: "DE",
  vatId: "DE 123 456 789",
  email: "Billing@Conekt.example",
};

t.test("IBAN check digits (ISO 13616 mod-97)", async (t) => {
  for (const good of ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606", "NL91ABNA0417164300"]) t.ok(isValidIban(good), good);
  for (const bad of ["DE89370400440532013001", "DE98370400440532013000", "GB82WEST1234569876543", "XX00", "de89370400440532013000"]) t.notOk(isValidIban(bad), bad);
});

t.test("staff read the defaults, save settings, and the billing code loads them", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const clerk = await createUser(ctx.prisma, { tenantId: w.platform.id, role: "billing" });
  const staff = await signedIn(ctx, clerk);

  const defaults = await staff.get("/v1/billing/settings");
  t.equal(defaults.status, 200);
  t.match(defaults.json, { configured: false, paymentTermsDays: 30, invoicePrefix: "INV", creditNotePrefix: "CN", autoIssue: true, runDelayHours: 24, vatRateOverrides: {}, bankDetails: null, updatedAt: null });

  const saved = await put(staff, {
    issuer: ISSUER,
    bankDetails: { iban: "de89 3704 0044 0532 0130 00", bic: "cobadeffxxx", bankName: "Commerzbank" },
    paymentTermsDays: 14,
    invoicePrefix: "CK",
    creditNotePrefix: "CKCN",
    autoIssue: false,
    runDelayHours: 48,
    vatRateOverrides: { DE: "19.00", FR: "20.00" },
  });
  t.equal(saved.status, 200);
  t.match(saved.json, {
    configured: true,
    issuer: { legalName: "Conekt GmbH", country: "DE", vatId: "DE123456789", email: "billing@conekt.example" },
    bankDetails: { iban: "DE89370400440532013000", bic: "COBADEFFXXX", bankName: "Commerzbank" },
    paymentTermsDays: 14,
    invoicePrefix: "CK",
    creditNotePrefix: "CKCN",
    autoIssue: false,
    runDelayHours: 48,
    vatRateOverrides: { DE: "19.00", FR: "20.00" },
    updatedBy: clerk.id,
  });
  const loaded = await loadBillingSettings(ctx.prisma);
  t.match(loaded, { configured: true, paymentTermsDays: 14, invoicePrefix: "CK", autoIssue: false, vatRateOverrides: { FR: "20.00" }, issuer: { vatId: "DE123456789", bankDetails: { iban: "DE89370400440532013000" } } });

  // Omitted policy fields go back to their defaults; bank details can be removed.
  const minimal = await put(staff, { issuer: { ...ISSUER, vatId: null, email: null } });
  t.equal(minimal.status, 200);
  t.match(minimal.json, { configured: true, bankDetails: null, paymentTermsDays: 30, invoicePrefix: "INV", creditNotePrefix: "CN", autoIssue: true, runDelayHours: 24, vatRateOverrides: {}, issuer: { vatId: null, email: null } });
  t.equal((await ctx.prisma.billingSettings.findUniqueOrThrow({ where: { id: 1 } })).bankDetails, null);

  const audit = await ctx.prisma.auditEvent.findMany({ where: { tenantId: w.platform.id, action: "billing_settings.updated" }, orderBy: { seq: "asc" } });
  t.equal(audit.length, 2);
  t.match(audit[0]!.data, { first: true });
  t.match(audit[1]!.data, { first: false, invoicePrefix: "INV" });
  t.ok((audit[1]!.data as { changed: string[] }).changed.includes("bankDetails"));
  t.notOk((audit[1]!.data as { changed: string[] }).changed.includes("issuerAddress"), "the unchanged address is not reported");
});

t.test("settings validation: every problem named, nothing saved", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const staff = await signedIn(ctx, w.staff.owner);
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ["a bad IBAN", { bankDetails: { iban: "DE89 3704 0044 0532 0130 01" } }, ["/body/bankDetails/iban"]],
    ["a bad BIC", { bankDetails: { iban: "DE89370400440532013000", bic: "COBADE" } }, []],
    ["a BIC of the wrong shape", { bankDetails: { iban: "DE89370400440532013000", bic: "1OBADEFF" } }, ["/body/bankDetails/bic"]],
    ["terms over 120 days", { paymentTermsDays: 121 }, []],
    ["negative terms", { paymentTermsDays: -1 }, []],
    ["a prefix with digits", { invoicePrefix: "INV1" }, []],
    ["a lower-case prefix", { creditNotePrefix: "cn" }, []],
    ["a one-letter prefix", { invoicePrefix: "I" }, []],
    ["the same prefix twice", { invoicePrefix: "AB", creditNotePrefix: "AB" }, ["/body/creditNotePrefix"]],
    ["a run delay over 240 h", { runDelayHours: 241 }, []],
    ["a VAT override outside the EU", { vatRateOverrides: { CH: "8.10", DE: "19.00" } }, ["/body/vatRateOverrides/CH"]],
    ["a VAT override of 60 %", { vatRateOverrides: { DE: "60.00" } }, ["/body/vatRateOverrides/DE"]],
    ["a VAT rate as a number", { vatRateOverrides: { DE: 19 } }, []],
    ["a lower-case country key", { vatRateOverrides: { de: "19.00" } }, []],
    ["an issuer VAT id without prefix", { issuer: { ...ISSUER, vatId: "123456789" } }, []],
    ["an issuer without address", { issuer: { legalName: "X", country: "DE" } }, []],
    ["an unknown field", { currency: "EUR" }, []],
  ];
  for (const [label, patch, fields] of cases) {
    const res = await put(staff, { issuer: ISSUER, ...patch });
    t.equal(res.status, 400, label);
    t.equal(res.json.code, "validation_failed", label);
    for (const field of fields) t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `${label}: names ${field}`);
  }
  const several = await put(staff, { issuer: ISSUER, bankDetails: { iban: "DE00370400440532013000" }, vatRateOverrides: { US: "5.00" }, invoicePrefix: "CN" });
  t.same(several.json.errors.map((e: { field: string }) => e.field).sort(), ["/body/bankDetails/iban", "/body/creditNotePrefix", "/body/vatRateOverrides/US"], "all at once");
  t.equal(await ctx.prisma.billingSettings.count(), 0, "nothing saved");
});

t.test("only platform owners, admins and billing staff see or change the settings", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const allowed = [w.staff.owner, await createUser(ctx.prisma, { tenantId: w.platform.id, role: "admin" }), await createUser(ctx.prisma, { tenantId: w.platform.id, role: "billing" })];
  for (const user of allowed) {
    const c = await signedIn(ctx, user);
    t.equal((await c.get("/v1/billing/settings")).status, 200);
    t.equal((await put(c, { issuer: ISSUER })).status, 200);
  }
  const refused = [w.staff.viewer, await createUser(ctx.prisma, { tenantId: w.platform.id, role: "operator" }), w.usersA.owner, w.usersA.billing, w.usersA.admin];
  for (const user of refused) {
    const c = await signedIn(ctx, user);
    t.equal((await c.get("/v1/billing/settings")).status, 403);
    t.equal((await put(c, { issuer: { ...ISSUER, legalName: "Hijacked" } })).status, 403);
  }
  t.equal((await ctx.prisma.billingSettings.findUniqueOrThrow({ where: { id: 1 } })).issuerLegalName, "Conekt GmbH");
});
