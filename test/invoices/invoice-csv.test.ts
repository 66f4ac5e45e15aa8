import t from "tap";
import { INVOICE_CSV_PAGE_ROWS, invoiceCsv } from "../../src/modules/invoices/invoice-csv.js";
import { build } from "../helpers/build.js";
import { createRatePlan, createTenant } from "../helpers/factories.js";
import { createInvoice } from "./factory.js";
import { parseCsv, signedIn } from "./helpers.js";

/** The per-SIM CSV is streamed in keyset pages: every charge exactly once, whatever the page size. */

t.test("pages of any size give every charge once, in the key's order; each page is read only when pulled", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const plans = [await createRatePlan(ctx.prisma), await createRatePlan(ctx.prisma)];
  const inv = await createInvoice(ctx.prisma, { tenantId: tenant.id, period: "2026-11", status: "draft", lines: [{ description: "Fees", quantity: "1", unit: "item", unitPrice: "1.00" }] });
  // 3 SIMs x 2 plans x 2 periods: ties on the first key columns exercise the whole keyset.
  await ctx.runtime.db.sql.query(
    `INSERT INTO enterprise.invoice_sim_charges (invoice_id, sim_id, iccid, rate_plan_id, usage_period, fee_amount)
     SELECT $1::uuid, s.id, s.iccid, p.id, d.day, 0.5
       FROM (VALUES ('01950000-0000-7000-8000-000000000001'::uuid, '8949010000000000001'), ('01950000-0000-7000-8000-000000000002', '8949010000000000002'),
                    ('01950000-0000-7000-8000-000000000003', '8949010000000000003')) s(id, iccid)
       CROSS JOIN unnest($2::uuid[]) p(id)
       CROSS JOIN (VALUES ('2026-10-01'::date), ('2026-11-01')) d(day)`,
    [inv.id, plans.map((p) => p.id)],
  );
  const all = async (pageRows?: number) => {
    let text = "";
    for await (const chunk of invoiceCsv(ctx.runtime.db.sql, inv.id, pageRows ? { pageRows } : {})) text += chunk;
    return text;
  };
  const whole = await all();
  t.equal(parseCsv(whole).length, 13, "header + 12 charges");
  for (const size of [1, 2, 5, 12, 13]) t.equal(await all(size), whole, `pages of ${size}: the same CSV`);

  // Nothing is queried before the reader asks: a generator that is never pulled past the header costs no query.
  const stream = invoiceCsv(ctx.runtime.db.sql, inv.id, { pageRows: 4 });
  t.match((await stream.next()).value, /^iccid,/);
  const chunks: string[] = [];
  for await (const c of stream) chunks.push(c);
  t.equal(chunks.length, 3, "12 rows in pages of 4: three chunks, one per query");

  // Staff may read a draft's CSV.
  const staffTenant = await createTenant(ctx.prisma, { kind: "platform" });
  const staff = await signedIn(ctx, staffTenant.id, "billing");
  t.equal((await staff.get(`/v1/invoices/${inv.id}/csv`)).body, whole, "the route streams the same CSV");
});

t.test("a 100,000-SIM invoice streams in pages", async (t) => {
  const ctx = await build(t);
  const tenant = await createTenant(ctx.prisma);
  const plan = await createRatePlan(ctx.prisma, { code: "BULK-1" });
  const inv = await createInvoice(ctx.prisma, { tenantId: tenant.id, status: "draft", lines: [{ description: "Fees", quantity: "100000", unit: "SIM-month", unitPrice: "0.10" }] });
  await ctx.runtime.db.sql.query(
    `INSERT INTO enterprise.invoice_sim_charges (invoice_id, sim_id, iccid, rate_plan_id, usage_period, billable_days, fee_amount)
     SELECT $1::uuid, gen_random_uuid(), '89490100' || lpad(g::text, 11, '0'), $2::uuid, $3::date, 30, 0.1
       FROM generate_series(1, 100000) g`,
    [inv.id, plan.id, inv.periodStart.toISOString().slice(0, 10)],
  );
  await ctx.prisma.invoice.update({ where: { id: inv.id }, data: { status: "issued", number: `INV-BULK-${Date.now()}`, issueDate: new Date(), issuedAt: new Date() } });
  const owner = await signedIn(ctx, tenant.id, "owner");
  const started = performance.now();
  const res = await ctx.app.inject({ method: "GET", url: `/v1/invoices/${inv.id}/csv`, headers: { cookie: owner.cookie! } });
  t.comment(`100,000 rows: ${Math.round(performance.now() - started)} ms, ${res.rawPayload.length} bytes`);
  t.equal(res.statusCode, 200);
  const lines = res.body.split("\r\n").filter(Boolean);
  t.equal(lines.length, 100_001, "header + a row per SIM");
  t.equal(new Set(lines).size, 100_001, "no row twice");
  t.equal(res.headers["transfer-encoding"], "chunked", `streamed (pages of ${INVOICE_CSV_PAGE_ROWS}), not sent as one body`);
});
