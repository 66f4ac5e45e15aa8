// The billing benchmark's data: 1,000 customer tenants x 1,000 SIMs with a month of history and 30 days of
// usage_daily (30 M rows), written set-based (generate_series, INSERT ... SELECT) into a migrated database and
// kept as a template database named by the generator version, the sizes and the migrations: a re-run clones it
// (CREATE DATABASE ... TEMPLATE, a file copy) instead of writing 30 M rows again. The tables are the migrated
// ones as they are (logged, every index in place); only the load's commits are asynchronous.
//
// What the month looks like (period 2026-09, 30 days; every rule of the computation has SIMs to bite on):
// - tenants (t % 20): 0-9 and 19 Germany (domestic, standard VAT 19 %), 10-13 France and 14-16 the Netherlands
//   with VAT ids (reverse charge), 17 EU consumers without a VAT id (AT, IT, ES, PL: standard VAT at their rate),
//   18 outside the EU (CH, GB, NO and US; the US tenants are on the USD plan, every other tenant on EUR plans);
// - five plans, with price versions (one from 2026-07, in force; one from 2026-10, not yet): per-SIM and pooled
//   allowances, prorated and not, activation, suspended and SMS prices; each tenant has a main plan and puts one
//   SIM in ten on a second one;
// - SIMs by n % 100: 0-77 active all month; 78-82 activated in the month (activation fee); 83-87 suspended in the
//   month (83-84 resumed five days later); 88-89 terminated in the month, 90 suspended then terminated; 91-93
//   suspended since August; 94-95 still in test (ready: their usage is not billed); 96 activated at 2026-09-01
//   00:00:00.000; 97 terminated in August; 98 an immediate plan change in the month (both plans prorated);
//   99 a plan change for the next period (2026-10-01: no effect on September);
// - usage_daily: every SIM, every day of the month (usage on days a SIM was in test or terminated is there too:
//   the computation must leave it out), 10-50 MB a day by SIM, a heavy user in 17 four times that, SMS.
// Ids are built from the row numbers (uuid-shaped, ascending like the service's UUIDv7s), and every statement
// reads the SIMs in order (no sort), so SIMs and their history are written in key order. usage_daily is written
// day after day, as the rollup writes it.

import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { MIGRATIONS_DIR } from "../src/platform/paths.js";
import { DEFAULT_TENANT_SETTINGS } from "../src/modules/tenants/tenants.schemas.js";
import { ADMIN_URL, createTestDatabase, databaseUrl } from "../test/helpers/database.js";

/** Bump when the generated data changes: a new template is built and the old one dropped. */
export const GENERATOR_VERSION = 2;

export const BENCH_PERIOD = { key: "2026-09", start: "2026-09-01", end: "2026-10-01", days: 30 };

export interface BillingDataSize {
  tenants: number;
  simsPerTenant: number;
}

export interface BillingTemplate {
  name: string;
  /** Set when this call built it (else it was cached). */
  built?: { seconds: number; steps: Record<string, number> };
  sizeMiB: number;
}

const uuidOf = (prefix: string, n: string) => `('${prefix}-0000-7000-8000-' || lpad(to_hex(${n}), 12, '0'))::uuid`;
const PLATFORM_TENANT_ID = "01920000-0000-7000-8000-000000000001";
const tenantId = (t: string) => uuidOf("01950000", t);
const simId = (g: string) => uuidOf("01960000", g);
const planId = (i: string) => uuidOf("01930000", i);
const versionId = (i: number, v: number) => uuidOf("01940000", String(i * 16 + v));

/** The five plans: [code, name, currency, versions as [version, from, monthly, suspended, prorate, included bytes, allowance, overage/MB, SMS MO, SMS MT, activation]]. */
const PLANS: Array<[string, string, string, Array<[number, string, string, string, boolean, string, "per_sim" | "pooled", string, string, string, string]>]> = [
  ["BENCH-EU-1GB", "IoT 1 GB Europe", "EUR", [
    [1, "2025-01-01", "2.90", "0.60", false, "1000000000", "per_sim", "0.012", "0.05", "0.02", "1.00"],
    [2, "2026-07-01", "2.50", "0.50", false, "1000000000", "per_sim", "0.010", "0.05", "0.02", "1.00"],
  ]],
  ["BENCH-EU-POOL", "IoT pooled 500 MB Europe", "EUR", [
    [1, "2025-01-01", "1.80", "0.30", true, "500000000", "pooled", "0.008", "0.04", "0", "0.50"],
    [2, "2026-10-01", "1.95", "0.30", true, "500000000", "pooled", "0.008", "0.04", "0", "0.50"],
  ]],
  ["BENCH-EU-LITE", "IoT Lite 10 MB", "EUR", [[1, "2025-01-01", "0.90", "0", false, "10000000", "per_sim", "0.05", "0.06", "0.03", "0"]]],
  ["BENCH-EU-PRO", "IoT Pro 5 GB", "EUR", [[1, "2025-01-01", "6.00", "1.00", true, "5000000000", "per_sim", "0.006", "0.05", "0.01", "2.00"]]],
  ["BENCH-US-POOL", "IoT pooled 1 GB North America", "USD", [[1, "2025-01-01", "3.00", "0.50", false, "1000000000", "pooled", "0.009", "0.05", "0", "1.50"]]],
];
const USD_PLAN = 5;

export function dataSize(): BillingDataSize {
  const read = (name: string, fallback: number) => {
    const v = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
    return v;
  };
  // Smaller sizes are for trying the bench out; the figures of record are 1,000 x 1,000.
  return { tenants: read("BENCH_BILLING_TENANTS", 1000), simsPerTenant: read("BENCH_BILLING_SIMS_PER_TENANT", 1000) };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "bench-billing-load" });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Templates of one size share a prefix: a new version replaces the old one of its size only. */
const templatePrefix = (size: BillingDataSize) => `conekt_bench_billing_${size.tenants}x${size.simsPerTenant}_`;

async function templateName(size: BillingDataSize): Promise<string> {
  const hash = createHash("sha256").update(`v${GENERATOR_VERSION}:${size.tenants}x${size.simsPerTenant}`);
  for (const dir of (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    hash.update(dir);
    hash.update(await readFile(join(MIGRATIONS_DIR, dir, "migration.sql")).catch(() => Buffer.alloc(0)));
  }
  return `${templatePrefix(size)}${hash.digest("hex").slice(0, 12)}`;
}

/**
 * The template for this size, built now if missing (concurrent bench runs wait on an advisory lock). Templates
 * of other versions of the same size are dropped once a new one is ready (the full size takes 7 GiB).
 */
export async function ensureBillingTemplate(size: BillingDataSize, log: (msg: string) => void): Promise<BillingTemplate> {
  const name = await templateName(size);
  return withClient(ADMIN_URL, async (admin) => {
    await admin.query("SELECT pg_advisory_lock(hashtext('conekt:bench-billing-template'))");
    try {
      const sizeOf = async () => Number((await admin.query<{ mib: string }>("SELECT (pg_database_size($1) / 1048576)::text AS mib", [name])).rows[0]!.mib);
      if ((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount) return { name, sizeMiB: await sizeOf() };
      log(`no cached data for generator v${GENERATOR_VERSION}, ${size.tenants} x ${size.simsPerTenant} SIMs: generating ${name} (a few minutes, once)`);
      const fresh = await createTestDatabase();
      let built: BillingTemplate["built"];
      try {
        built = await generate(fresh.url, size, log);
        await admin.query(`ALTER DATABASE ${fresh.name} RENAME TO ${name}`);
      } catch (err) {
        await fresh.drop().catch(() => undefined);
        throw err;
      }
      const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, $2) AND datname <> $1", [name, templatePrefix(size)]);
      for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
      return { name, built, sizeMiB: await sizeOf() };
    } finally {
      await admin.query("SELECT pg_advisory_unlock(hashtext('conekt:bench-billing-template'))");
    }
  });
}

/**
 * A database of its own for one run, cloned from the template (file copy: much faster than WAL-logged for GiBs),
 * with `settings` as its own defaults (ALTER DATABASE ... SET) for diagnoses.
 */
export async function cloneBillingTemplate(template: string, settings: Record<string, string> = {}): Promise<{ name: string; url: string; seconds: number; drop: () => Promise<void> }> {
  const name = `conekt_bench_billing_run_${process.pid}_${randomBytes(3).toString("hex")}`;
  const began = performance.now();
  await withClient(ADMIN_URL, async (admin) => {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`);
    for (const [key, value] of Object.entries(settings)) {
      if (!/^[a-z_]+$/.test(key)) throw new Error(`not a setting name: ${key}`);
      await admin.query(`ALTER DATABASE ${name} SET ${key} = ${pg.escapeLiteral(value)}`);
    }
  });
  return {
    name,
    url: databaseUrl(name),
    seconds: (performance.now() - began) / 1000,
    drop: () => withClient(ADMIN_URL, async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The generator.

async function generate(url: string, size: BillingDataSize, log: (msg: string) => void): Promise<NonNullable<BillingTemplate["built"]>> {
  const began = performance.now();
  const steps: Record<string, number> = {};
  const step = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    steps[label] = (performance.now() - t0) / 1000;
    log(`  ${label}: ${steps[label]!.toFixed(1)} s`);
    return out;
  };
  await withClient(url, async (c) => {
    await c.query("SET synchronous_commit = off");
    await step("tenants, plans, settings", () => seedReferenceData(c, size));
  });
  // SIMs and their history in chunks of tenants, then usage_daily day by day, each on two connections at once
  // (one per core). Usage goes in day after day, as the rollup writes it in production (a day's rows appear
  // together), so the table's pages hold days, not whole months of one SIM: a tenant's month is read from 30
  // stretches of the heap, as it would be in production, not from one.
  const chunkTenants = Math.max(1, Math.floor(50_000 / size.simsPerTenant));
  const chunks: Array<[number, number]> = [];
  for (let t = 0; t < size.tenants; t += chunkTenants) chunks.push([t, Math.min(size.tenants, t + chunkTenants)]);
  const totals = { sims: 0, events: 0, assignments: 0, usage: 0 };
  const twoAtOnce = async <T>(tasks: T[], work: (c: pg.Client, task: T) => Promise<void>) => {
    let next = 0;
    await Promise.all(
      [0, 1].map(() =>
        withClient(url, async (c) => {
          await c.query("SET synchronous_commit = off");
          while (next < tasks.length) await work(c, tasks[next++]!);
        }),
      ),
    );
  };
  let done = 0;
  await step("SIMs, history, plan assignments", () =>
    twoAtOnce(chunks, async (c, [t0, t1]) => {
      const n = await seedChunk(c, size, t0, t1);
      totals.sims += n.sims;
      totals.events += n.events;
      totals.assignments += n.assignments;
      if (++done % 4 === 0 || done === chunks.length) log(`  ${done}/${chunks.length} chunks (${totals.sims} SIMs)`);
    }),
  );
  const sims = size.tenants * size.simsPerTenant;
  const halves: Array<[number, number, number]> = [];
  for (let d = 0; d < BENCH_PERIOD.days; d++) halves.push([d, 0, Math.floor(sims / 2)], [d, Math.floor(sims / 2), sims]);
  await step("usage_daily", () =>
    twoAtOnce(halves, async (c, [d, g0, g1]) => {
      const rows = await seedUsageDay(c, size, d, g0, g1);
      totals.usage += rows;
      if (g0 === 0 && (d + 1) % 5 === 0) log(`  day ${d + 1}/${BENCH_PERIOD.days}`);
    }),
  );
  log(`  rows: ${totals.sims} SIMs, ${totals.events} sim_events, ${totals.assignments} plan assignments, ${totals.usage} usage_daily`);
  // Hint bits, visibility map and statistics now, once: every clone then starts as a production database that
  // autovacuum has long since visited, not with a first read that rewrites every page.
  await withClient(url, async (c) => {
    await c.query("SET maintenance_work_mem = '512MB'");
    await step("VACUUM (FREEZE, ANALYZE)", () => c.query("VACUUM (FREEZE, ANALYZE)"));
    await step("CHECKPOINT", () => c.query("CHECKPOINT"));
  });
  return { seconds: (performance.now() - began) / 1000, steps };
}

async function seedReferenceData(c: pg.Client, size: BillingDataSize): Promise<void> {
  const settings = JSON.stringify(DEFAULT_TENANT_SETTINGS);
  await c.query(
    `INSERT INTO enterprise.tenants (id, kind, slug, legal_name, country, vat_id, billing_address, billing_email, status, settings, created_at, updated_at)
     VALUES ($1, 'platform', 'bench-platform', 'Conekt Bench GmbH', 'DE', 'DE811907980',
       '{"line1":"Torstraße 1","postalCode":"10119","city":"Berlin","country":"DE"}', 'billing@conekt.example', 'active', $2, '2025-01-01', '2025-01-01')`,
    [PLATFORM_TENANT_ID, settings],
  );
  await c.query(
    `INSERT INTO enterprise.billing_settings (id, issuer_legal_name, issuer_address, issuer_country, issuer_vat_id, issuer_email, bank_details, updated_at)
     VALUES (1, 'Conekt Bench GmbH', '{"line1":"Torstraße 1","postalCode":"10119","city":"Berlin","country":"DE"}', 'DE', 'DE811907980',
       'billing@conekt.example', '{"iban":"DE89370400440532013000","bic":"COBADEFFXXX","bankName":"Commerzbank"}', '2025-01-01')`,
  );
  // Country by t % 20 (see the header); within a class, the group (t / 20) % 4 picks the country and main plan.
  await c.query(
    `INSERT INTO enterprise.tenants (id, kind, slug, legal_name, country, vat_id, billing_address, billing_email, status, settings, created_at, updated_at)
     SELECT ${tenantId("t")}, 'customer', 'bench-billing-' || t, x.name || ' ' || t, x.country, x.vat_id,
       jsonb_build_object('line1', x.street, 'postalCode', x.zip, 'city', x.city, 'country', x.country),
       'billing+' || t || '@customer.example', 'active', $2::jsonb, '2025-01-01', '2025-01-01'
     FROM generate_series(0, $1::int - 1) t
     CROSS JOIN LATERAL (SELECT t % 20 AS cls, (t / 20) % 4 AS grp) k
     CROSS JOIN LATERAL (
       SELECT * FROM (VALUES
         ('DE', 'Bench Telemetrie GmbH', 'Hauptstraße 5', '80331', 'München', 'DE' || lpad((100000000 + t)::text, 9, '0')),
         ('FR', 'Télémétrie Bench SAS', '12 rue de la Paix', '75002', 'Paris', 'FR' || lpad(t::text, 11, '0')),
         ('NL', 'Bench Meting B.V.', 'Damrak 1', '1012 LG', 'Amsterdam', 'NL' || lpad(t::text, 9, '0') || 'B01'),
         ('AT', 'Bench Messtechnik e.U.', 'Ringstraße 3', '1010', 'Wien', NULL),
         ('IT', 'Telemetria Bench di Rossi', 'Via Roma 7', '00184', 'Roma', NULL),
         ('ES', 'Telemetría Bench', 'Calle Mayor 9', '28013', 'Madrid', NULL),
         ('PL', 'Łódź Telemetria Sp. z o.o.', 'ul. Piotrkowska 104', '90-926', 'Łódź', NULL),
         ('CH', 'Bench Telemetrie AG', 'Bahnhofstrasse 1', '8001', 'Zürich', NULL),
         ('GB', 'Bench Telemetry Ltd', '1 High Street', 'SW1A 1AA', 'London', 'GB' || lpad(t::text, 9, '0')),
         ('NO', 'Bench Telemetri AS', 'Karl Johans gate 2', '0154', 'Oslo', NULL),
         ('US', 'Bench Telemetry Inc.', '1 Market Street', '94105', 'San Francisco', NULL)
       ) AS v(country, name, street, zip, city, vat_id)
       WHERE v.country = CASE WHEN k.cls < 10 OR k.cls = 19 THEN 'DE' WHEN k.cls < 14 THEN 'FR' WHEN k.cls < 17 THEN 'NL'
                              WHEN k.cls = 17 THEN (ARRAY['AT', 'IT', 'ES', 'PL'])[k.grp + 1] ELSE (ARRAY['CH', 'GB', 'NO', 'US'])[k.grp + 1] END
     ) x`,
    [size.tenants, settings],
  );
  for (const [i, [code, name, currency, versions]] of PLANS.entries()) {
    await c.query(`INSERT INTO enterprise.rate_plans (id, code, name, currency, created_at, updated_at) VALUES (${planId(String(i + 1))}, $1, $2, $3, '2025-01-01', '2025-01-01')`, [code, name, currency]);
    for (const [v, from, monthly, suspended, prorate, included, allowance, overage, smsMo, smsMt, activation] of versions) {
      await c.query(
        `INSERT INTO enterprise.rate_plan_versions (id, rate_plan_id, version, effective_from, monthly_fee, suspended_fee, prorate, included_bytes, data_allowance,
           overage_per_mb, sms_mo_price, sms_mt_price, activation_fee, created_at, created_by)
         VALUES (${versionId(i + 1, v)}, ${planId(String(i + 1))}, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '2025-01-01', 'bench')`,
        [v, from, monthly, suspended, prorate, included, allowance, overage, smsMo, smsMt, activation],
      );
    }
  }
}

/**
 * One chunk of tenants [t0, t1): their SIMs (one row of facts each in a temp table first), history and plan
 * assignments. Returns the rows written.
 */
async function seedChunk(c: pg.Client, size: BillingDataSize, t0: number, t1: number): Promise<{ sims: number; events: number; assignments: number }> {
  const spt = size.simsPerTenant;
  const P = `timestamptz '${BENCH_PERIOD.start} 00:00:00+00'`;
  await c.query(`DROP TABLE IF EXISTS bench_src`);
  // k = n % 100 picks the SIM's story (header); d: its day of the month for an event (2nd to 28th).
  await c.query(
    `CREATE TEMP TABLE bench_src AS
     SELECT g, t, k, usd, base_plan, new_plan,
       alloc_at, act_at, ev_at,
       CASE WHEN k BETWEEN 91 AND 93 THEN timestamptz '2026-08-10 10:00:00+00' WHEN k = 97 THEN timestamptz '2026-08-20 10:00:00+00'
            WHEN k BETWEEN 83 AND 90 THEN ev_at END AS e3_at,
       CASE WHEN k IN (88, 89, 97) THEN 'terminated' WHEN k BETWEEN 83 AND 93 THEN 'suspended' END AS e3_to,
       CASE WHEN k IN (83, 84) THEN ev_at + interval '5 days' WHEN k = 90 THEN ev_at + interval '3 days' END AS e4_at,
       CASE WHEN k IN (83, 84) THEN 'active' WHEN k = 90 THEN 'terminated' END AS e4_to,
       CASE WHEN k IN (94, 95) THEN 'ready' WHEN k IN (85, 86, 87, 91, 92, 93) THEN 'suspended' WHEN k IN (88, 89, 90, 97) THEN 'terminated' ELSE 'active' END AS status
     FROM (
       SELECT g, t, k, usd, base_plan,
         CASE WHEN NOT usd AND k IN (98, 99) THEN CASE WHEN base_plan = main_plan THEN second_plan ELSE main_plan END END AS new_plan,
         alloc_at,
         CASE WHEN k IN (94, 95) THEN NULL WHEN k BETWEEN 78 AND 82 THEN ev_at WHEN k = 96 THEN ${P} ELSE alloc_at + interval '20 days' END AS act_at,
         ev_at
       FROM (
         SELECT g, g / ${spt} AS t, (g % ${spt}) % 100 AS k, usd,
           CASE WHEN usd THEN ${USD_PLAN} WHEN (g % ${spt}) % 10 = 9 THEN 1 + (grp + 1) % 4 ELSE 1 + grp END AS base_plan,
           1 + grp AS main_plan, 1 + (grp + 1) % 4 AS second_plan,
           timestamptz '2026-03-01 00:00:00+00' + (g % 90) * interval '1 day' + (g % 86400) * interval '1 second' AS alloc_at,
           ${P} + (1 + g % 27) * interval '1 day' + (2 + g % 20) * interval '1 hour' + (g % 3600) * interval '1 second' AS ev_at
         FROM generate_series($1::bigint, $2::bigint - 1) g
         CROSS JOIN LATERAL (SELECT ((g / ${spt}) / 20) % 4 AS grp, (g / ${spt}) % 20 = 18 AND ((g / ${spt}) / 20) % 4 = 3 AS usd) x
       ) a
     ) b`,
    [t0 * spt, t1 * spt],
  );
  const sims = await c.query(
    `INSERT INTO connectivity.sims (id, tenant_id, iccid, imsi, msisdn, form_factor, status, status_changed_at, rate_plan_id, status_reason,
       activated_at, terminated_at, created_at, updated_at)
     SELECT ${simId("g")}, ${tenantId("t")}, '8949001' || lpad(g::text, 12, '0') || '0', '26201' || lpad(g::text, 10, '0'), '49151' || lpad(g::text, 10, '0'),
       'ff4', status::connectivity."SimStatus", coalesce(e4_at, e3_at, act_at, alloc_at), ${planId("coalesce(new_plan, base_plan)")},
       CASE WHEN status = 'suspended' THEN 'customer_request' WHEN status = 'ready' THEN 'allocated' END,
       act_at, CASE WHEN status = 'terminated' THEN coalesce(e4_at, e3_at) END, alloc_at - interval '30 days', coalesce(e4_at, e3_at, act_at, alloc_at)
     FROM bench_src`,
  );
  // History as the service writes it: allocation (an 'allocated' row without billing effect and the move to
  // ready), activation, then the month's changes, and the plan change's own row.
  const effect = (to: string) => `(CASE ${to} WHEN 'ready' THEN 'test' WHEN 'active' THEN 'billable' WHEN 'suspended' THEN 'reduced' ELSE 'none' END)::connectivity."BillingEffect"`;
  const events = await c.query(
    `INSERT INTO connectivity.sim_events (id, tenant_id, sim_id, kind, from_status, to_status, reason_code, billing_effect, data, actor_type, actor_id, at)
     SELECT ${uuidOf("01970000", "s.g * 8 + e.seq")}, ${tenantId("s.t")}, ${simId("s.g")}, e.kind::connectivity."SimEventKind", e.from_s::connectivity."SimStatus",
       e.to_s::connectivity."SimStatus", e.reason, CASE WHEN e.kind = 'state_changed' THEN ${effect("e.to_s")} END, e.data, 'system', 'bench', e.at
     FROM bench_src s
     CROSS JOIN LATERAL (VALUES
       (0, 'allocated', NULL, NULL, NULL, jsonb_build_object('ratePlanId', ${planId("s.base_plan")}), s.alloc_at),
       (1, 'state_changed', 'inventory', 'ready', 'allocated', '{}'::jsonb, s.alloc_at),
       (2, 'state_changed', 'ready', 'active', 'customer_request', '{}'::jsonb, s.act_at),
       (3, 'state_changed', 'active', s.e3_to, 'customer_request', '{}'::jsonb, s.e3_at),
       (4, 'state_changed', s.e3_to, s.e4_to, 'customer_request', '{}'::jsonb, s.e4_at),
       (5, 'rate_plan_changed', NULL, NULL, NULL,
          jsonb_build_object('fromRatePlanId', ${planId("s.base_plan")}, 'toRatePlanId', ${planId("s.new_plan")}, 'mode', CASE WHEN s.k = 98 THEN 'immediate' ELSE 'next_period' END),
          CASE WHEN s.new_plan IS NOT NULL THEN CASE WHEN s.k = 98 THEN s.ev_at ELSE timestamptz '2026-08-25 09:00:00+00' END END)
     ) AS e(seq, kind, from_s, to_s, reason, data, at)
     WHERE e.at IS NOT NULL`,
  );
  const assignments = await c.query(
    `INSERT INTO connectivity.sim_rate_plan_assignments (sim_id, tenant_id, rate_plan_id, effective_from, kind, actor_type, actor_id, created_at)
     SELECT ${simId("s.g")}, ${tenantId("s.t")}, ${planId("a.plan")}, a.day, a.kind, 'system', 'bench', a.at
     FROM bench_src s
     CROSS JOIN LATERAL (VALUES
       (0, s.base_plan, (s.alloc_at AT TIME ZONE 'UTC')::date, 'allocation', s.alloc_at),
       (1, s.new_plan, CASE WHEN s.k = 98 THEN (s.ev_at AT TIME ZONE 'UTC')::date ELSE date '${BENCH_PERIOD.end}' END,
          CASE WHEN s.k = 98 THEN 'immediate' ELSE 'next_period' END, CASE WHEN s.k = 98 THEN s.ev_at ELSE timestamptz '2026-08-25 09:00:00+00' END)
     ) AS a(seq, plan, day, kind, at)
     WHERE a.plan IS NOT NULL`,
  );
  await c.query(`DROP TABLE bench_src`);
  return { sims: sims.rowCount ?? 0, events: events.rowCount ?? 0, assignments: assignments.rowCount ?? 0 };
}

/**
 * One day of usage_daily for the SIMs [g0, g1). A cheap integer hash of (SIM, day) spreads the volumes; rolled up
 * at 01:00 the next day.
 */
async function seedUsageDay(c: pg.Client, size: BillingDataSize, day: number, g0: number, g1: number): Promise<number> {
  const spt = size.simsPerTenant;
  const usage = await c.query(
    `INSERT INTO connectivity.usage_daily (tenant_id, sim_id, day, bytes_up, bytes_down, sms_mo, sms_mt, records, updated_at)
     SELECT ${tenantId(`g / ${spt}`)}, ${simId("g")}, date '${BENCH_PERIOD.start}' + $3::int, h % 4000000,
       (h % 20000000) * (1 + g % 5) * (CASE WHEN g % 17 = 0 THEN 4 ELSE 1 END), ((h / 7) % 4)::int, ((h / 11) % 2)::int, (1 + h % 200)::int,
       timestamptz '${BENCH_PERIOD.start} 01:00:00+00' + ($3::int + 1) * interval '1 day'
     FROM generate_series($1::bigint, $2::bigint - 1) g
     CROSS JOIN LATERAL (SELECT (g * 2654435761 + ($3::int + 1) * 2654404609) % 4294967291 AS h) x`,
    [g0, g1, day],
  );
  return usage.rowCount ?? 0;
}
