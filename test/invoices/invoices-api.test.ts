import { createHash } from "node:crypto";
import t from "tap";
import { invoicesRenderJob } from "../../jobs/invoices-render.job.js";
import { toMinor, Money } from "../../src/modules/billing/money.js";
import { build, type TestApp } from "../helpers/build.js";
import { createRatePlan, createTenant, createWorld } from "../helpers/factories.js";
import { createSimUnique, keyClient } from "../devices/helpers.js";
import { createInvoice, linesForCharges, type ChargeSpec } from "./factory.js";
import { download, parseCsv, platformTenant, signedIn } from "./helpers.js";

/** Reading invoices through the API: who sees what, the stored PDF, the per-SIM CSV, the render job. */

const LINE = { kind: "monthly_fee" as const, description: "Monthly fee – TEST", quantity: "10", unit: "SIM-month", unitPrice: "5.00" };

const renderJob = (ctx: TestApp) => invoicesRenderJob({ prisma: ctx.prisma });
const jobCtx = { progress: async () => undefined, attempt: 1, log: () => undefined };

t.test("a billing contact lists and reads their tenant's invoices; drafts and other tenants' stay invisible", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const older = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, period: "2026-10", lines: [LINE] });
  const newer = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, period: "2026-11", lines: [LINE, { ...LINE, description: "Second", quantity: "2" }], status: "paid" });
  const note = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, kind: "credit_note", creditedInvoiceId: older.id, reason: "Goodwill", lines: [{ ...LINE, quantity: "1" }] });
  const draft = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, period: "2026-12", status: "draft", lines: [LINE] });
  const theirs = await createInvoice(ctx.prisma, { tenantId: w.tenantB.id, period: "2026-11", lines: [LINE] });
  const billing = await signedIn(ctx, w.tenantA.id, "billing");

  const list = await billing.get("/v1/invoices");
  t.equal(list.status, 200);
  t.same(list.json.items.map((i: { id: string }) => i.id), [note.id, newer.id, older.id], "newest first, no draft, nothing of tenant B");
  const olderItem = list.json.items.find((i: { id: string }) => i.id === older.id);
  t.match(olderItem, { number: older.number, kind: "invoice", status: "issued", period: "2026-10", supplyFrom: "2026-10-01", supplyTo: "2026-10-31", customerName: "Łódź Sp. z o.o." });
  t.same(olderItem.totals, { net: "50.00", vat: "9.50", total: "59.50", paid: "0.00", credited: "-5.95", outstanding: "53.55" }, "the credit note reduces what is outstanding");
  t.match(list.json.items.find((i: { id: string }) => i.id === newer.id).totals, { total: "71.40", paid: "71.40", outstanding: "0.00" });

  // Pages of one, following the cursor, give the same order.
  const seen: string[] = [];
  let url = "/v1/invoices?limit=1";
  for (;;) {
    const res = await billing.get(url);
    seen.push(...res.json.items.map((i: { id: string }) => i.id));
    if (!res.json.nextCursor) break;
    url = `/v1/invoices?limit=1&cursor=${res.json.nextCursor}`;
  }
  t.same(seen, [note.id, newer.id, older.id], "cursor pagination");

  t.same((await billing.get("/v1/invoices?kind=credit_note")).json.items.map((i: { id: string }) => i.id), [note.id]);
  t.same((await billing.get("/v1/invoices?status=paid")).json.items.map((i: { id: string }) => i.id), [newer.id]);
  t.same((await billing.get("/v1/invoices?status=issued&status=paid&period=2026-10")).json.items.map((i: { id: string }) => i.id), [older.id]);
  t.same((await billing.get("/v1/invoices?status=draft")).json.items, [], "asking for drafts finds none");

  const one = await billing.get(`/v1/invoices/${older.id}`);
  t.equal(one.status, 200);
  t.match(one.json, {
    id: older.id,
    supplier: { legalName: "Conekt Connectivity GmbH", vatId: "DE811907980", bankDetails: { iban: "DE89370400440532013000", bic: "COBADEFFXXX" } },
    customer: { legalName: "Łódź Sp. z o.o.", address: { city: "Łódź", country: "PL" } },
    vatBreakdown: [{ rate: "19.00", net: "50.00", vat: "9.50" }],
    lines: [{ position: 1, kind: "monthly_fee", quantity: "10", unit: "SIM-month", unitPrice: "5.00", net: "50.00", vatRate: "19.00" }],
    creditNotes: [{ id: note.id, number: note.number, total: "-5.95" }],
    creditedInvoiceNumber: null,
    links: { pdf: `/v1/invoices/${older.id}/pdf`, csv: `/v1/invoices/${older.id}/csv` },
  });
  t.notOk("bankDetails" in one.json.customer, "the customer has no bank details");
  t.match((await billing.get(`/v1/invoices/${note.id}`)).json, { kind: "credit_note", creditedInvoiceId: older.id, creditedInvoiceNumber: older.number, reason: "Goodwill" });

  for (const id of [draft.id, theirs.id, "01950000-0000-7000-8000-00000000dead"]) {
    for (const suffix of ["", "/pdf", "/csv"]) {
      const res = suffix === "/pdf" ? await download(billing, `/v1/invoices/${id}${suffix}`) : await billing.get(`/v1/invoices/${id}${suffix}`);
      t.equal(res.status, 404, `GET /v1/invoices/<${id === draft.id ? "draft" : id === theirs.id ? "tenant B's" : "unknown"}>${suffix}: 404`);
    }
  }
  t.equal(await ctx.prisma.invoiceDocument.count({ where: { invoiceId: theirs.id } }), 0, "nothing rendered for a refused request");

  // Tenant B's billing contact sees B's only.
  const other = await signedIn(ctx, w.tenantB.id, "billing");
  t.same((await other.get("/v1/invoices")).json.items.map((i: { id: string }) => i.id), [theirs.id]);
  t.equal((await other.get(`/v1/invoices/${older.id}`)).status, 404);
});

t.test("roles: owners, admins and billing contacts read invoices; operators and viewers get 403; keys need billing:read", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, lines: [LINE] });
  for (const role of ["owner", "admin", "billing"] as const) {
    const c = await signedIn(ctx, w.tenantA.id, role);
    t.equal((await c.get("/v1/invoices")).status, 200, `${role}: list`);
    t.equal((await c.get(`/v1/invoices/${inv.id}/csv`)).status, 200, `${role}: CSV`);
  }
  for (const role of ["operator", "viewer"] as const) {
    const c = await signedIn(ctx, w.tenantA.id, role);
    for (const path of ["/v1/invoices", `/v1/invoices/${inv.id}`, `/v1/invoices/${inv.id}/csv`]) {
      const res = await c.get(path);
      t.equal(res.status, 403, `${role}: GET ${path}`);
      t.equal(res.json.code, "forbidden");
    }
    t.equal((await download(c, `/v1/invoices/${inv.id}/pdf`)).status, 403, `${role}: PDF`);
  }
  const reader = await keyClient(ctx, w.tenantA.id, ["billing:read"]);
  t.same((await reader.get("/v1/invoices")).json.items.map((i: { id: string }) => i.id), [inv.id], "a key with billing:read");
  const fleetKey = await keyClient(ctx, w.tenantA.id, ["sims:read", "usage:read"]);
  t.equal((await fleetKey.get("/v1/invoices")).status, 403, "a key without billing:read");

  // Platform staff: billing staff read every tenant's (drafts too) and narrow by tenant; others see nothing.
  const draft = await createInvoice(ctx.prisma, { tenantId: w.tenantB.id, status: "draft", lines: [LINE] });
  const platform = await platformTenant(ctx);
  const staff = await signedIn(ctx, platform, "billing");
  t.same(new Set((await staff.get("/v1/invoices")).json.items.map((i: { id: string }) => i.id)), new Set([inv.id, draft.id]), "every tenant's, drafts included");
  t.same((await staff.get(`/v1/invoices?tenantId=${w.tenantB.id}`)).json.items.map((i: { id: string }) => i.id), [draft.id]);
  t.match((await staff.get(`/v1/invoices/${draft.id}`)).json, { status: "draft", number: null, issueDate: null });
  const unknownTenant = await staff.get("/v1/invoices?tenantId=01950000-0000-7000-8000-00000000beef");
  t.equal(unknownTenant.status, 404);
  t.equal(unknownTenant.json.code, "not_found");
  t.equal((await billingOf(ctx, w.tenantA.id)).status, 404, "a customer naming another tenant: 404");
  const staffOperator = await signedIn(ctx, platform, "operator");
  t.equal((await staffOperator.get("/v1/invoices")).status, 403, "platform operators see no billing");
});

async function billingOf(ctx: TestApp, tenantId: string) {
  const c = await signedIn(ctx, tenantId, "billing");
  const other = await createTenant(ctx.prisma);
  return c.get(`/v1/invoices?tenantId=${other.id}`);
}

t.test("bad input is refused with a problem and a stable code", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const billing = await signedIn(ctx, w.tenantA.id, "billing");
  const cases: Array<[string, string]> = [
    ["/v1/invoices/not-a-uuid", "/params/id"],
    ["/v1/invoices/not-a-uuid/csv", "/params/id"],
    ["/v1/invoices?period=2026-13", "/query/period"],
    ["/v1/invoices?status=sent", "/query/status/0"],
    ["/v1/invoices?kind=receipt", "/query/kind"],
    ["/v1/invoices?limit=0", "/query/limit"],
    ["/v1/invoices?cursor=bm90LWEtY3Vyc29y", "/query/cursor"],
    ["/v1/invoices?tenantId=nope", "/query/tenantId"],
    ["/v1/invoices?colour=blue", "/query/colour"],
  ];
  for (const [url, field] of cases) {
    const res = await billing.get(url);
    t.equal(res.status, 400, url);
    t.equal(res.headers["content-type"], "application/problem+json; charset=utf-8");
    t.equal(res.json.code, "validation_failed", url);
    t.ok(res.json.errors.some((e: { field: string }) => e.field === field), `${url} names ${field}`);
  }
  const pdf = await download(billing, "/v1/invoices/not-a-uuid/pdf");
  t.equal(pdf.status, 400);
  t.equal(JSON.parse(pdf.bytes.toString()).code, "validation_failed");
  const anonymous = ctx.client();
  t.equal((await anonymous.get("/v1/invoices")).status, 401);
});

t.test("the PDF: stored once, the same bytes on every download, ETag and 304; the render job stores it once", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const billing = await signedIn(ctx, w.tenantA.id, "billing");

  // Two first downloads at once: one document stored, both answers its bytes.
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, lines: [LINE] });
  const [a, b] = await Promise.all([download(billing, `/v1/invoices/${inv.id}/pdf`), download(billing, `/v1/invoices/${inv.id}/pdf`)]);
  t.equal(a.status, 200);
  t.equal(b.status, 200);
  t.ok(a.bytes.equals(b.bytes), "both first requests serve the same bytes");
  const stored = await ctx.prisma.invoiceDocument.findUniqueOrThrow({ where: { invoiceId: inv.id } });
  t.ok(Buffer.from(stored.pdf).equals(a.bytes), "what is served is what is stored");
  const sha = createHash("sha256").update(a.bytes).digest("hex");
  t.equal(stored.sha256, sha);
  t.equal(a.headers.etag, `"${sha}"`, "the ETag is the SHA-256");
  t.equal(a.headers["content-disposition"], `attachment; filename="${inv.number}.pdf"`);
  t.equal(a.headers["cache-control"], "private, no-cache");
  t.equal(await ctx.prisma.auditEvent.count({ where: { action: "invoice.document_stored", targetId: inv.id } }), 1, "storing it was audited once");

  // Paid later: the document does not change.
  await ctx.prisma.invoice.update({ where: { id: inv.id }, data: { status: "paid", paidMinor: inv.totalMinor, paidAt: new Date() } });
  const later = await download(billing, `/v1/invoices/${inv.id}/pdf`);
  t.ok(later.bytes.equals(a.bytes), "byte-identical on a later download");
  const notModified = await download(billing, `/v1/invoices/${inv.id}/pdf`, { "if-none-match": `"${sha}"` });
  t.equal(notModified.status, 304);
  t.equal(notModified.bytes.length, 0, "no body");
  t.equal((await download(billing, `/v1/invoices/${inv.id}/pdf`, { "if-none-match": '"0000"' })).status, 200, "another tag: the document");

  // The job renders a freshly issued invoice once; a second run (a retry) and a later download change nothing.
  const next = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, lines: [LINE] });
  const job = renderJob(ctx);
  t.match(await job({ invoiceId: next.id }, jobCtx), { stored: true });
  t.match(await job({ invoiceId: next.id }, jobCtx), { stored: false });
  const doc = await ctx.prisma.invoiceDocument.findUniqueOrThrow({ where: { invoiceId: next.id } });
  t.ok((await download(billing, `/v1/invoices/${next.id}/pdf`)).bytes.equals(Buffer.from(doc.pdf)), "the download serves the job's document");
  const events = await ctx.prisma.auditEvent.findMany({ where: { action: "invoice.document_stored", targetId: next.id } });
  t.equal(events.length, 1);
  t.match(events[0], { actorType: "system", actorId: "invoices-render", tenantId: w.tenantA.id });

  const draft = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, status: "draft", lines: [LINE] });
  t.match(await job({ invoiceId: draft.id }, jobCtx), { stored: false, reason: "draft" });
  t.match(await job({ invoiceId: "01950000-0000-7000-8000-00000000dead" }, jobCtx), { stored: false, reason: "not_found" });
  t.equal(await ctx.prisma.invoiceDocument.count({ where: { invoiceId: draft.id } }), 0);
  // The stored document is immutable (the database refuses a change).
  await t.rejects(ctx.prisma.invoiceDocument.update({ where: { invoiceId: next.id }, data: { sha256: "0".repeat(64) } }));
});

t.test("the CSV: one row per SIM charge, exact decimals whose sums are the lines they detail, safe for spreadsheets", async (t) => {
  const ctx = await build(t);
  const w = await createWorld(ctx.prisma);
  const plan = await createRatePlan(ctx.prisma, { code: "IOT-1GB-EU" });
  const tricky = await createRatePlan(ctx.prisma, { code: "=HYPERLINK(1)" });
  const sims = await Promise.all([0, 1, 2, 3].map(() => createSimUnique(ctx.prisma, { tenantId: w.tenantA.id })));
  const charges: ChargeSpec[] = [
    { simId: sims[0]!.id, iccid: sims[0]!.iccid, ratePlanId: plan.id, billableDays: 30, activated: true, bytes: 1_500_000_000n, includedBytes: 1_000_000_000n, overageBytes: 500_000_000n, smsMo: 3, smsMt: 1, feeAmount: "5.000000", activationAmount: "10.000000", overageAmount: "6.250000", smsAmount: "0.170000" },
    { simId: sims[1]!.id, iccid: sims[1]!.iccid, ratePlanId: plan.id, billableDays: 11, suspendedDays: 19, feeAmount: "1.833333", smsAmount: "0.005000" },
    { simId: sims[2]!.id, iccid: sims[2]!.iccid, ratePlanId: plan.id, billableDays: 7, feeAmount: "1.166667", overageAmount: "0.000125", bytes: 9_007_199_254_740_993n, includedBytes: 1_000_000_000n, overageBytes: 9_007_198_254_740_993n },
    { simId: sims[3]!.id, iccid: sims[3]!.iccid, ratePlanId: tricky.id, billableDays: 30, feeAmount: "5" },
    // Late usage of the month before, on the same SIM.
    { simId: sims[0]!.id, iccid: sims[0]!.iccid, ratePlanId: plan.id, usagePeriod: "2026-10", billableDays: 0, bytes: 2_000_000n, overageBytes: 2_000_000n, overageAmount: "0.025000" },
  ];
  const inv = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, period: "2026-11", charges, lines: linesForCharges(charges) });
  const billing = await signedIn(ctx, w.tenantA.id, "billing");

  const res = await billing.get(`/v1/invoices/${inv.id}/csv`);
  t.equal(res.status, 200);
  t.equal(res.headers["content-type"], "text/csv; charset=utf-8");
  t.equal(res.headers["content-disposition"], `attachment; filename="${inv.number}-sims.csv"`);
  t.ok(res.body.endsWith("\r\n"), "CRLF line ends");
  const [header, ...rows] = parseCsv(res.body);
  t.same(header, ["iccid", "ratePlanCode", "usagePeriod", "billableDays", "suspendedDays", "activated", "bytes", "includedBytes", "overageBytes", "smsMo", "smsMt", "fee", "activation", "overage", "sms", "total"]);
  t.equal(rows.length, charges.length, "one row per charge");
  const col = (name: string) => header!.indexOf(name);
  const byKey = new Map(rows.map((r) => [`${r[col("iccid")]}/${r[col("usagePeriod")]}`, r]));
  t.same(byKey.get(`${sims[0]!.iccid}/2026-11`), [sims[0]!.iccid, "IOT-1GB-EU", "2026-11", "30", "0", "true", "1500000000", "1000000000", "500000000", "3", "1", "5.00", "10.00", "6.25", "0.17", "21.42"]);
  t.same(byKey.get(`${sims[1]!.iccid}/2026-11`)!.slice(3, 16), ["11", "19", "false", "0", "0", "0", "0", "0", "1.833333", "0.00", "0.00", "0.005", "1.838333"]);
  t.equal(byKey.get(`${sims[2]!.iccid}/2026-11`)![col("bytes")], "9007199254740993", "byte counts beyond 2^53, exact");
  t.equal(byKey.get(`${sims[2]!.iccid}/2026-11`)![col("overage")], "0.000125");
  t.equal(byKey.get(`${sims[0]!.iccid}/2026-10`)![col("overage")], "0.025", "late usage of October");
  t.equal(byKey.get(`${sims[3]!.iccid}/2026-11`)![col("ratePlanCode")], "'=HYPERLINK(1)", "a formula-like text cell is defused");

  // Each amount column, summed and rounded once, is the invoice line it details.
  const lines = await ctx.prisma.invoiceLine.findMany({ where: { invoiceId: inv.id } });
  const lineNet = (kind: string) => lines.find((l) => l.kind === kind)!.netMinor;
  const columnSum = (name: string) => toMinor(rows.reduce((s, r) => s.add(r[col(name)]!), new Money(0)), "EUR");
  t.equal(columnSum("fee"), lineNet("monthly_fee"), "fees = the monthly fee line");
  t.equal(columnSum("overage"), lineNet("data_overage"), "overage = the data overage line");
  t.equal(columnSum("sms"), lineNet("sms_mo"), "SMS = the SMS line");
  t.equal(columnSum("activation"), lineNet("activation_fee"), "activation = the activation line");
  // Each line is rounded once, so the rounded sum of the row totals may differ from the net by those roundings.
  const drift = columnSum("total") - inv.netMinor;
  t.ok(drift >= -BigInt(lines.length) && drift <= BigInt(lines.length), `row totals = the invoice's net, to the lines' rounding (${drift})`);

  // A document without per-SIM charges: the header alone. Another tenant's: 404. HEAD: headers only.
  const bare = await createInvoice(ctx.prisma, { tenantId: w.tenantA.id, lines: [LINE] });
  t.same(parseCsv((await billing.get(`/v1/invoices/${bare.id}/csv`)).body).length, 1);
  const other = await signedIn(ctx, w.tenantB.id, "owner");
  t.equal((await other.get(`/v1/invoices/${inv.id}/csv`)).status, 404);
  const head = await ctx.app.inject({ method: "HEAD", url: `/v1/invoices/${inv.id}/csv`, headers: { cookie: billing.cookie! } });
  t.equal(head.statusCode, 200);
  t.equal(head.body, "");
});
