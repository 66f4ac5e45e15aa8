// schema.prisma and prisma/migrations must agree (an empty diff), and the init migration's hand-written part
// (partitioned usage_records and its maintenance functions) must work on a real PostgreSQL 15.
//
// Run: npx tap --node-arg=--import=tsx --disable-coverage --plugin=!@tapjs/typescript test/db/schema-diff.test.ts

import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import pg from "pg";
import t from "tap";

import { DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH, diffMigrationsToSchema } from "../../scripts/schema-diff.js";

// Each diff boots the wasm schema engine and replays the migrations into an in-memory PGlite (~5-10 s).
t.setTimeout(180_000);

const ADMIN_URL = process.env.CONEKT_TEST_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const INIT_MIGRATION = path.join(DEFAULT_MIGRATIONS_DIR, "20261122000000_init", "migration.sql");

t.test("prisma/migrations agree with prisma/schema.prisma", async (t) => {
  const sql = await diffMigrationsToSchema();
  t.equal(sql, "", "no SQL between the migrations (partitions and functions included) and schema.prisma");
});

t.test("a column missing from the migrations shows up in the diff", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "conekt-schema-diff-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  // The extra column goes on usage_records: the partitioned table must still be compared column by column.
  const schema = await readFile(DEFAULT_SCHEMA_PATH, "utf8");
  const anchor = /^(\s*radio\s+String\?.*)$/m;
  t.match(schema, anchor, "schema.prisma still has UsageRecord.radio to anchor the probe column");
  const modified = schema.replace(anchor, `$1\n  diffProbe  String?  @map("diff_probe") @db.VarChar(10)`);
  t.not(modified, schema, "probe column inserted");
  const schemaPath = path.join(dir, "schema.prisma");
  await writeFile(schemaPath, modified);

  const sql = await diffMigrationsToSchema({ schemaPath });
  t.match(sql, /ALTER TABLE "connectivity"\."usage_records" ADD COLUMN\s+"diff_probe" VARCHAR\(10\)/);
  t.notMatch(sql, /DROP TABLE/, "partitions are not reported as tables to drop");
});

t.test("the init migration on PostgreSQL 15", async (t) => {
  const dbName = `conekt_diff_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  t.teardown(async () => {
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });

  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  t.teardown(() => db.end());

  // A session far from UTC: partition bounds must still be UTC month boundaries.
  await db.query(`SET TimeZone = 'Pacific/Kiritimati'`);
  const migration = await readFile(INIT_MIGRATION, "utf8");
  await db.query("BEGIN");
  await db.query(migration); // simple query protocol: the whole file, dollar-quoted functions included
  await db.query("COMMIT");

  const one = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T> => {
    const { rows } = await db.query(sql, params);
    if (rows.length !== 1) throw new Error(`expected one row from ${sql}, got ${rows.length}`);
    return rows[0] as T;
  };
  const partitionOf = async (sourceId: string) =>
    (
      await one<{ part: string }>(
        `SELECT tableoid::regclass::text AS part FROM connectivity.usage_records WHERE source_id = $1`,
        [sourceId],
      )
    ).part;
  const bounds = async (table: string) =>
    (
      await one<{ bound: string | null }>(
        `SELECT pg_get_expr(c.relpartbound, c.oid) AS bound
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'connectivity.usage_records'::regclass AND c.oid = to_regclass($1)
         UNION ALL SELECT NULL WHERE to_regclass($1) IS NULL`,
        [table],
      )
    ).bound;

  const monthName = (d: Date) =>
    `connectivity.usage_records_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  const monthStart = (offset: number) => {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  };
  const pgLiteral = (d: Date) => `${d.toISOString().slice(0, 10)} 00:00:00+00`;

  const { rows: schemas } = await db.query(
    `SELECT nspname FROM pg_namespace WHERE nspname IN ('enterprise', 'connectivity') ORDER BY nspname`,
  );
  t.same(
    schemas.map((r) => r.nspname),
    ["connectivity", "enterprise"],
    "both schemas exist",
  );

  const partitioned = await one<{ strategy: string; key: string; default_part: string | null }>(
    `SELECT p.partstrat AS strategy, pg_get_partkeydef(p.partrelid) AS key, p.partdefid::regclass::text AS default_part
       FROM pg_partitioned_table p WHERE p.partrelid = 'connectivity.usage_records'::regclass`,
  );
  t.equal(partitioned.strategy, "r", "usage_records is range partitioned");
  t.equal(partitioned.key, "RANGE (started_at)", "partition key is started_at");
  t.equal(partitioned.default_part, "connectivity.usage_records_default", "the default partition exists");

  // Bounds are compared in UTC whatever the session zone: render them in UTC.
  await db.query(`SET TimeZone = 'UTC'`);
  for (const offset of [0, 1, 2, 3]) {
    const from = monthStart(offset);
    t.equal(
      await bounds(monthName(from)),
      `FOR VALUES FROM ('${pgLiteral(from)}') TO ('${pgLiteral(monthStart(offset + 1))}')`,
      `${monthName(from)} covers its UTC month${offset === 0 ? " (the current one)" : ""}`,
    );
  }
  const future = monthStart(6);
  const futureName = monthName(future);
  t.equal(await bounds(futureName), null, `${futureName} does not exist yet`);
  t.equal((await one<{ n: number }>(`SELECT connectivity.ensure_usage_partitions(3) AS n`)).n, 0, "idempotent");
  await db.query(`SET TimeZone = 'Pacific/Kiritimati'`);

  // Rows for a month without a partition land in the default partition...
  const tenant = "01900000-0000-7000-8000-000000000001";
  const sim = "01900000-0000-7000-8000-000000000002";
  const insert = (sourceId: string, startedAt: Date) =>
    db.query(
      `INSERT INTO connectivity.usage_records (tenant_id, source_id, started_at, ended_at, sim_id, bytes_up)
       VALUES ($1, $2, $3, $3::timestamptz + interval '1 minute', $4, 42)`,
      [tenant, sourceId, startedAt, sim],
    );
  const first = future; // the month's first instant (UTC)
  const last = new Date(monthStart(7).getTime() - 1); // its last millisecond
  const before = new Date(future.getTime() - 1); // the previous month's last millisecond
  await insert("first", first);
  await insert("last", last);
  await insert("before", before);
  for (const id of ["first", "last", "before"]) {
    t.equal(await partitionOf(id), "connectivity.usage_records_default", `row '${id}' lands in the default partition`);
  }

  // ...and creating that month's partition moves them out of it, in the function's transaction.
  const created = await one<{ created: boolean }>(
    `SELECT connectivity.ensure_usage_partition_for($1::timestamptz + interval '10 days') AS created`,
    [future],
  );
  t.equal(created.created, true, `ensure_usage_partition_for created ${futureName}`);
  t.equal(await partitionOf("first"), futureName, "the month's first instant moved to its partition");
  t.equal(await partitionOf("last"), futureName, "the month's last millisecond moved to its partition");
  t.equal(await partitionOf("before"), "connectivity.usage_records_default", "the previous month's row stayed");
  const leftover = await one<{ n: string }>(
    `SELECT count(*) AS n FROM connectivity.usage_records_default WHERE started_at >= $1 AND started_at < $2`,
    [first, monthStart(7)],
  );
  t.equal(leftover.n, "0", "no row of the new month is left in the default partition");
  const stillThere = await one<{ bytes: string }>(
    `SELECT bytes_up::text AS bytes FROM connectivity.usage_records WHERE source_id = 'first'`,
  );
  t.equal(stillThere.bytes, "42", "moved rows keep their data");
  const checks = await one<{ n: string }>(
    `SELECT count(*) AS n FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c'`,
    [futureName],
  );
  t.equal(checks.n, "0", "the temporary bounds CHECK constraint was dropped");

  const again = await one<{ created: boolean }>(`SELECT connectivity.ensure_usage_partition_for($1) AS created`, [
    last,
  ]);
  t.equal(again.created, false, "a second call for the same month creates nothing");

  // New inserts for that month now go straight to its partition.
  await insert("after", new Date(future.getTime() + 86_400_000));
  t.equal(await partitionOf("after"), futureName, "new rows for the month go to its partition");
});
