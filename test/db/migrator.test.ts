import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import t, { type Test } from "tap";
import { checksumOf, listMigrations, migrate, MigrationError } from "../../src/platform/db/migrator.js";
import { connectPostgres, pgliteExecutor, type SqlExecutor } from "../../src/platform/db/sql-executor.js";

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const PRISMA_LOCK_KEY = 72707369;

const sha256 = (content: string | Buffer) => createHash("sha256").update(content).digest("hex");
const crlf = (sql: string) => sql.replaceAll("\n", "\r\n");

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Every column as text, so rows compare exactly (pg's Date would drop microseconds). */
interface HistoryRow {
  id: string;
  checksum: string;
  migration_name: string;
  logs: string | null;
  applied_steps_count: number;
  started_at: string;
  finished_at: string | null;
  rolled_back_at: string | null;
}
const HISTORY_SQL = `SELECT id, checksum, migration_name, logs, applied_steps_count,
    started_at::text AS started_at, finished_at::text AS finished_at, rolled_back_at::text AS rolled_back_at
  FROM "_prisma_migrations" ORDER BY started_at, migration_name`;

/**
 * A throwaway database plus a temp migrations folder, both removed in teardown. `connect()` opens
 * executors that are closed in teardown too.
 */
async function setup(t: Test) {
  const dbName = `conekt_mig_${randomBytes(6).toString("hex")}`;
  await admin(`CREATE DATABASE ${dbName}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "conekt-mig-"));
  const executors: SqlExecutor[] = [];
  t.teardown(async () => {
    await Promise.allSettled(executors.map((e) => e.close()));
    await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await rm(dir, { recursive: true, force: true });
  });

  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const connect = async () => {
    const executor = await connectPostgres(url.toString());
    executors.push(executor);
    return executor;
  };
  const observer = await connect(); // a separate session, to look at the database independently of the runner

  return {
    dir,
    connect,
    observer,
    write: async (name: string, sql: string) => {
      await mkdir(path.join(dir, name), { recursive: true });
      await writeFile(path.join(dir, name, "migration.sql"), sql);
    },
    remove: (name: string) => rm(path.join(dir, name), { recursive: true }),
    history: () => observer.query<HistoryRow>(HISTORY_SQL),
    tableExists: async (name: string) =>
      (await observer.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [name]))[0]?.ok,
    lockHolders: async () =>
      (
        await observer.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND granted",
          [PRISMA_LOCK_KEY],
        )
      )[0]?.n,
  };
}

/** The rejection of `promise` (fails loudly if it resolves instead). */
async function rejection(promise: Promise<unknown>): Promise<MigrationError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof MigrationError) return err;
    throw err;
  }
  throw new Error("expected the migration run to be refused, but it succeeded");
}

const M1 = "-- first\nCREATE TABLE widget (id int PRIMARY KEY, name text NOT NULL);\nINSERT INTO widget VALUES (1, 'one');\n";
const M2 = "ALTER TABLE widget ADD COLUMN colour text;\nINSERT INTO widget VALUES (2, 'two', 'red');\n";
const M3 = "CREATE TABLE gadget (id int PRIMARY KEY REFERENCES widget (id));\n";

t.test("checksumOf is lowercase hex sha256 of the bytes", async (t) => {
  t.equal(checksumOf("hello"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  t.equal(checksumOf(Buffer.from("héllo\r\n")), sha256(Buffer.from("héllo\r\n")));
  t.equal(checksumOf("héllo"), checksumOf(Buffer.from("héllo", "utf8")));
});

t.test("listMigrations sorts by name and skips entries without migration.sql", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "conekt-mig-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const name of ["20240110_c", "20240101_a", "20240105_b"]) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, "migration.sql"), `-- ${name}\n`);
  }
  await mkdir(path.join(dir, "20240102_no_sql"));
  await writeFile(path.join(dir, "20240102_no_sql", "README.md"), "not a migration");
  await writeFile(path.join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');

  const migrations = await listMigrations(dir);
  t.same(
    migrations.map((m) => m.name),
    ["20240101_a", "20240105_b", "20240110_c"],
  );
  t.equal(migrations[0]?.checksum, sha256("-- 20240101_a\n"));
  t.equal(migrations[0]?.sqlPath, path.join(dir, "20240101_a", "migration.sql"));
});

t.test("both executors: query() takes one statement with $n params, exec() runs a script", async (t) => {
  const s = await setup(t);
  const pglite = new PGlite();
  await pglite.waitReady;
  t.teardown(() => pglite.close());

  for (const [label, db] of [
    ["pg", await s.connect()],
    ["pglite", pgliteExecutor(pglite)],
  ] as const) {
    t.same(await db.query("SELECT $1::int + $2::int AS sum", [2, 3]), [{ sum: 5 }], `${label}: params`);
    await t.rejects(db.query("SELECT 1; SELECT 2"), `${label}: query() refuses several statements`);
    await db.exec("CREATE TABLE script_t (id int); INSERT INTO script_t VALUES (1); INSERT INTO script_t VALUES (2);");
    t.same(await db.query("SELECT count(*)::int AS n FROM script_t"), [{ n: 2 }], `${label}: exec() ran every statement`);
  }
});

t.test("fresh apply records each migration like prisma migrate deploy", async (t) => {
  const s = await setup(t);
  // Written out of order: the runner must sort (M2 and M3 fail unless M1 ran first).
  await s.write("20240103_gadget", M3);
  await s.write("20240101_init", M1);
  await s.write("20240102_colour", M2);
  await mkdir(path.join(s.dir, "20240104_empty")); // no migration.sql: skipped
  await writeFile(path.join(s.dir, "migration_lock.toml"), 'provider = "postgresql"\n');

  const messages: string[] = [];
  const db = await s.connect();
  const result = await migrate(db, { migrationsDir: s.dir, log: (m) => messages.push(m) });

  t.same(result, { applied: ["20240101_init", "20240102_colour", "20240103_gadget"], alreadyApplied: 0 });
  t.ok(messages.includes("Applying migration `20240101_init`"), "logs each migration");

  const rows = await s.history();
  t.same(
    rows.map((r) => r.migration_name),
    ["20240101_init", "20240102_colour", "20240103_gadget"],
    "one row per migration, started in order",
  );
  const expected: Record<string, string> = { "20240101_init": M1, "20240102_colour": M2, "20240103_gadget": M3 };
  for (const row of rows) {
    t.equal(row.checksum, sha256(expected[row.migration_name] ?? ""), `${row.migration_name}: checksum is sha256 of the file`);
    t.match(row.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "id is a uuid v4");
    t.equal(row.applied_steps_count, 1);
    t.ok(row.finished_at, "finished_at set");
    t.ok(row.finished_at! >= row.started_at, "finished after started");
    t.equal(row.logs, null);
    t.equal(row.rolled_back_at, null);
  }
  t.same(await s.observer.query("SELECT id, name, colour FROM widget ORDER BY id"), [
    { id: 1, name: "one", colour: null },
    { id: 2, name: "two", colour: "red" },
  ]);
  t.ok(await s.tableExists("gadget"));
  t.equal(await s.lockHolders(), 0, "advisory lock released while the runner's session is still open");

  // The history table has exactly Prisma's shape.
  const columns = await s.observer.query(
    `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '_prisma_migrations'
       ORDER BY ordinal_position`,
  );
  t.same(columns, [
    { column_name: "id", data_type: "character varying", len: 36, is_nullable: "NO", column_default: null },
    { column_name: "checksum", data_type: "character varying", len: 64, is_nullable: "NO", column_default: null },
    { column_name: "finished_at", data_type: "timestamp with time zone", len: null, is_nullable: "YES", column_default: null },
    { column_name: "migration_name", data_type: "character varying", len: 255, is_nullable: "NO", column_default: null },
    { column_name: "logs", data_type: "text", len: null, is_nullable: "YES", column_default: null },
    { column_name: "rolled_back_at", data_type: "timestamp with time zone", len: null, is_nullable: "YES", column_default: null },
    { column_name: "started_at", data_type: "timestamp with time zone", len: null, is_nullable: "NO", column_default: "now()" },
    { column_name: "applied_steps_count", data_type: "integer", len: null, is_nullable: "NO", column_default: "0" },
  ]);
  const pk = await s.observer.query(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = '"_prisma_migrations"'::regclass AND i.indisprimary`,
  );
  t.same(pk, [{ attname: "id" }], "primary key on id");
});

t.test("a second run with nothing new changes nothing", async (t) => {
  const s = await setup(t);
  await s.write("20240101_init", M1);
  await s.write("20240102_colour", M2);
  await migrate(await s.connect(), { migrationsDir: s.dir });
  const before = await s.history();

  const result = await migrate(await s.connect(), { migrationsDir: s.dir });
  t.same(result, { applied: [], alreadyApplied: 2 });
  t.strictSame(await s.history(), before, "rows identical, timestamps included");
  t.equal(before.length, 2);
  t.same(await s.observer.query("SELECT count(*)::int AS n FROM widget"), [{ n: 2 }], "no script ran twice");
});

t.test("an applied migration whose line endings changed is accepted (both directions)", async (t) => {
  const s = await setup(t);
  await s.write("20240101_init", M1); // LF
  await s.write("20240102_colour", crlf(M2)); // CRLF
  const db = await s.connect();
  await migrate(db, { migrationsDir: s.dir });
  const before = await s.history();
  t.equal(before[1]?.checksum, sha256(crlf(M2)), "CRLF file checksummed as is");

  await s.write("20240101_init", crlf(M1)); // LF -> CRLF
  await s.write("20240102_colour", M2); // CRLF -> LF
  await s.write("20240103_gadget", M3);
  const result = await migrate(db, { migrationsDir: s.dir });

  t.same(result, { applied: ["20240103_gadget"], alreadyApplied: 2 });
  t.strictSame((await s.history()).slice(0, 2), before, "stored checksums of the applied rows are kept");
});

t.test("an edited applied migration is refused, naming it, and nothing is applied", async (t) => {
  const s = await setup(t);
  await s.write("20240101_init", M1);
  const db = await s.connect();
  await migrate(db, { migrationsDir: s.dir });
  const before = await s.history();

  await s.write("20240101_init", M1 + "-- harmless looking comment\n");
  await s.write("20240102_colour", M2);
  const err = await rejection(migrate(db, { migrationsDir: s.dir }));

  t.equal(err.code, "MIGRATION_CHECKSUM_MISMATCH");
  t.equal(err.migration, "20240101_init");
  t.match(err.message, /`20240101_init` was modified after it was applied/);
  t.strictSame(await s.history(), before, "no new row");
  t.same(await s.observer.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'widget' AND column_name = 'colour'"), [{ n: 0 }], "20240102_colour did not run");
  t.equal(await s.lockHolders(), 0, "lock released after refusing");
});

t.test("a failing migration is recorded, blocks later runs until rolled back and fixed", async (t) => {
  const s = await setup(t);
  const broken = "CREATE TABLE partial (id int);\nINSERT INTO partial VALUES (1);\nINSERT INTO does_not_exist VALUES (1);\n";
  await s.write("20240101_init", M1);
  await s.write("20240102_broken", broken);
  await s.write("20240103_gadget", M3);
  const db = await s.connect();

  const err = await rejection(migrate(db, { migrationsDir: s.dir }));
  t.equal(err.code, "MIGRATION_FAILED");
  t.equal(err.migration, "20240102_broken");
  t.match(err.message, /does_not_exist/);
  t.equal((err.cause as { code?: string } | undefined)?.code, "42P01", "database error kept as cause");

  let rows = await s.history();
  t.same(
    rows.map((r) => [r.migration_name, r.applied_steps_count, r.finished_at === null]),
    [
      ["20240101_init", 1, false],
      ["20240102_broken", 0, true],
    ],
    "failed row unfinished, nothing after it started",
  );
  const failed = rows[1]!;
  t.equal(failed.checksum, sha256(broken));
  t.match(failed.logs, /Migration name: 20240102_broken/);
  t.match(failed.logs, /Database error code: 42P01/);
  t.match(failed.logs, /relation "does_not_exist" does not exist/);
  t.match(failed.logs, /line 3 of migration\.sql/);
  t.equal(failed.rolled_back_at, null);
  t.notOk(await s.tableExists("partial"), "statements before the error were rolled back");
  t.equal(await s.lockHolders(), 0, "lock released after a failure");

  // Next run refuses, whatever the state of the file.
  await s.write("20240102_broken", "CREATE TABLE partial (id int);\n");
  const again = await rejection(migrate(await s.connect(), { migrationsDir: s.dir }));
  t.equal(again.code, "MIGRATION_FAILED_PREVIOUSLY");
  t.equal(again.migration, "20240102_broken");
  t.match(again.message, /`20240102_broken` .*failed/);
  t.match(again.message, /rolled back/);
  t.strictSame(await s.history(), rows, "refusal changes nothing");

  // What `prisma migrate resolve --rolled-back` does, then a run with the fixed file.
  await s.observer.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`, ["20240102_broken"]);
  const result = await migrate(db, { migrationsDir: s.dir });
  t.same(result, { applied: ["20240102_broken", "20240103_gadget"], alreadyApplied: 1 });

  rows = await s.history();
  const brokenRows = rows.filter((r) => r.migration_name === "20240102_broken");
  t.equal(brokenRows.length, 2, "the rolled-back attempt stays as history");
  t.ok(brokenRows.some((r) => r.rolled_back_at !== null && r.finished_at === null));
  t.ok(brokenRows.some((r) => r.rolled_back_at === null && r.finished_at !== null && r.checksum === sha256("CREATE TABLE partial (id int);\n")));
  t.ok(await s.tableExists("partial"));
  t.ok(await s.tableExists("gadget"));
});

t.test("a failing migration that opens its own transaction is still recorded", async (t) => {
  const s = await setup(t);
  await s.write("20240101_tx", "BEGIN;\nCREATE TABLE in_tx (id int);\nSELECT 1 / 0;\nCOMMIT;\n");
  const db = await s.connect();

  const err = await rejection(migrate(db, { migrationsDir: s.dir }));
  t.equal(err.code, "MIGRATION_FAILED");
  const rows = await s.history();
  t.equal(rows.length, 1);
  t.match(rows[0]?.logs, /division by zero/, "logs written although the session was left in an aborted transaction");
  t.notOk(await s.tableExists("in_tx"));
  t.same(await db.query("SELECT 1 AS ok"), [{ ok: 1 }], "runner's session usable again");
  t.equal(await s.lockHolders(), 0);
});

t.test("concurrent runs apply each migration exactly once", async (t) => {
  const s = await setup(t);
  await s.write("20240101_init", M1);
  // Slow and not idempotent: a second application would insert a duplicate key and fail.
  await s.write("20240102_slow", "SELECT pg_sleep(0.3);\nINSERT INTO widget VALUES (3, 'three');\n");
  await s.write("20240103_gadget", M3);
  const [a, b] = [await s.connect(), await s.connect()];

  const results = await Promise.all([migrate(a, { migrationsDir: s.dir }), migrate(b, { migrationsDir: s.dir })]);

  results.sort((x, y) => y.applied.length - x.applied.length);
  t.same(results, [
    { applied: ["20240101_init", "20240102_slow", "20240103_gadget"], alreadyApplied: 0 },
    { applied: [], alreadyApplied: 3 },
  ], "one run did everything, the other waited for the lock and found nothing to do");
  const rows = await s.history();
  t.same(
    rows.map((r) => [r.migration_name, r.finished_at !== null]),
    [
      ["20240101_init", true],
      ["20240102_slow", true],
      ["20240103_gadget", true],
    ],
  );
  t.same(await s.observer.query("SELECT count(*)::int AS n FROM widget"), [{ n: 2 }]);
});

t.test("waits for Prisma's advisory lock before touching anything", async (t) => {
  const s = await setup(t);
  await s.write("20240101_init", M1);
  await s.observer.query("SELECT pg_advisory_lock($1)", [PRISMA_LOCK_KEY]); // as a running `prisma migrate deploy` would

  let settled = false;
  const run = migrate(await s.connect(), { migrationsDir: s.dir }).finally(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.notOk(settled, "still waiting");
  t.notOk(await s.tableExists("_prisma_migrations"), "history table not even created yet");

  await s.observer.query("SELECT pg_advisory_unlock($1)", [PRISMA_LOCK_KEY]);
  t.same(await run, { applied: ["20240101_init"], alreadyApplied: 0 });
});

t.test("an applied migration missing from the folder is refused", async (t) => {
  const s = await setup(t);
  await s.write("20240101_init", M1);
  await s.write("20240102_colour", M2);
  const db = await s.connect();
  await migrate(db, { migrationsDir: s.dir });
  const before = await s.history();

  await s.remove("20240101_init");
  await s.write("20240103_gadget", M3);
  const err = await rejection(migrate(db, { migrationsDir: s.dir }));

  t.equal(err.code, "MIGRATION_MISSING");
  t.equal(err.migration, "20240101_init");
  t.match(err.message, /`20240101_init` is recorded as applied in the database but is missing/);
  t.strictSame(await s.history(), before);
  t.notOk(await s.tableExists("gadget"), "20240103_gadget not applied");
});

t.test("the PGlite executor runs the same migrations in memory", async (t) => {
  const pglite = new PGlite();
  await pglite.waitReady;
  t.teardown(() => pglite.close());
  const dir = await mkdtemp(path.join(os.tmpdir(), "conekt-mig-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, sql] of [
    ["20240101_init", M1],
    ["20240102_colour", M2],
    ["20240103_gadget", M3],
  ] as const) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, "migration.sql"), sql);
  }

  const db = pgliteExecutor(pglite);
  t.same(await migrate(db, { migrationsDir: dir }), {
    applied: ["20240101_init", "20240102_colour", "20240103_gadget"],
    alreadyApplied: 0,
  });
  const rows = await db.query<HistoryRow>(HISTORY_SQL);
  t.same(
    rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count, r.finished_at !== null]),
    [
      ["20240101_init", sha256(M1), 1, true],
      ["20240102_colour", sha256(M2), 1, true],
      ["20240103_gadget", sha256(M3), 1, true],
    ],
  );
  t.same(await db.query("SELECT name, colour FROM widget ORDER BY id"), [
    { name: "one", colour: null },
    { name: "two", colour: "red" },
  ]);

  t.same(await migrate(db, { migrationsDir: dir }), { applied: [], alreadyApplied: 3 });
  t.strictSame(await db.query<HistoryRow>(HISTORY_SQL), rows, "second run changes nothing");

  await mkdir(path.join(dir, "20240104_bad"));
  await writeFile(path.join(dir, "20240104_bad", "migration.sql"), "CREATE TABLE t4 (id int);\nSELEC 1;\n");
  const err = await rejection(migrate(db, { migrationsDir: dir }));
  t.equal(err.code, "MIGRATION_FAILED");
  t.notOk((await db.query<{ ok: boolean }>("SELECT to_regclass('t4') IS NOT NULL AS ok"))[0]?.ok, "failed script rolled back");
  t.equal((await rejection(migrate(db, { migrationsDir: dir }))).code, "MIGRATION_FAILED_PREVIOUSLY");

  await db.close();
  t.same((await pglite.query("SELECT 1 AS ok")).rows, [{ ok: 1 }], "close() leaves the PGlite instance open");
});
