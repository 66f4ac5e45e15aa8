import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import t from "tap";
import { MIGRATIONS_DIR } from "../../src/platform/paths.js";
import { listMigrations } from "../../src/platform/db/migrator.js";
import { runCli } from "../helpers/cli.js";
import { ADMIN_URL, databaseUrl } from "../helpers/database.js";

// `npm run db:migrate` against an empty PostgreSQL database, as the acceptance describes.
t.test("db:migrate on an empty database, twice, then with an edited applied migration", async (t) => {
  const name = `conekt_migrate_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const db = new pg.Client({ connectionString: databaseUrl(name) });
  await db.connect();
  t.teardown(async () => {
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });
  const env = { DATABASE_URL: databaseUrl(name) };

  const first = await runCli(["migrate"], env);
  t.equal(first.code, 0, first.stderr);
  const schemas = await db.query("SELECT nspname FROM pg_namespace WHERE nspname IN ('enterprise', 'connectivity') ORDER BY 1");
  t.same(schemas.rows.map((r) => r.nspname), ["connectivity", "enterprise"]);
  const partitioned = await db.query("SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'connectivity.usage_records'::regclass");
  t.equal(partitioned.rowCount, 1, "usage_records is partitioned");

  const files = await listMigrations(MIGRATIONS_DIR);
  const rows = (await db.query("SELECT * FROM _prisma_migrations ORDER BY migration_name")).rows;
  t.same(rows.map((r) => r.migration_name), files.map((f) => f.name), "one row per migration");
  for (const row of rows) {
    const sha = createHash("sha256").update(readFileSync(join(MIGRATIONS_DIR, row.migration_name, "migration.sql"))).digest("hex");
    t.equal(row.checksum, sha, `${row.migration_name}: checksum is the file's SHA-256`);
    t.ok(row.finished_at, "finished");
    t.equal(row.applied_steps_count, 1);
  }

  const second = await runCli(["migrate"], env);
  t.equal(second.code, 0);
  t.match(second.stderr, /up to date/);
  t.same((await db.query("SELECT * FROM _prisma_migrations ORDER BY migration_name")).rows, rows, "a second run changes nothing");

  // The database's record of an applied migration no longer matches its file: as if the file was edited.
  await db.query("UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2", ["0".repeat(64), files[0]!.name]);
  const edited = await runCli(["migrate"], env);
  t.not(edited.code, 0, "refused");
  t.match(edited.stderr, new RegExp(files[0]!.name), "names the migration");
  t.match(edited.stderr, /modified|changed|checksum/i, "says why");
});
