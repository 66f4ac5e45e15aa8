import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { MIGRATIONS_DIR } from "../../src/platform/paths.js";
import { migrate } from "../../src/platform/db/migrator.js";
import { connectPostgres } from "../../src/platform/db/sql-executor.js";

/**
 * Every test file gets its own fresh database, cloned from a migrated template (much faster than migrating
 * each one). The template's name carries a hash of the migrations, so changing a migration builds a new one.
 */
export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function migrationsHash(): Promise<string> {
  const hash = createHash("sha256");
  for (const dir of (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    hash.update(dir);
    hash.update(await readFile(join(MIGRATIONS_DIR, dir, "migration.sql")).catch(() => Buffer.alloc(0)));
  }
  return hash.digest("hex").slice(0, 12);
}

let templateName: Promise<string> | undefined;

/** Builds the template once per migrations version; concurrent test processes wait on an advisory lock. */
function ensureTemplate(): Promise<string> {
  templateName ??= (async () => {
    const name = `conekt_tpl_${await migrationsHash()}`;
    await withAdmin(async (admin) => {
      await admin.query("SELECT pg_advisory_lock(hashtext('conekt:test-template'))");
      try {
        const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
        if (rowCount) return;
        const building = `${name}_building`;
        await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${building}`);
        const executor = await connectPostgres(databaseUrl(building));
        try {
          await migrate(executor, { migrationsDir: MIGRATIONS_DIR });
        } finally {
          await executor.close();
        }
        await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
        // Older templates belong to older migrations: nothing will clone them again.
        const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'conekt\\_tpl\\_%' AND datname <> $1", [name]);
        for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
      } finally {
        await admin.query("SELECT pg_advisory_unlock(hashtext('conekt:test-template'))");
      }
    });
    return name;
  })();
  return templateName;
}

/** A fresh, migrated database for one test file; returns its URL and a function that drops it. */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const template = await ensureTemplate();
  const name = `conekt_t_${process.pid}_${randomBytes(4).toString("hex")}`;
  await withAdmin(async (admin) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        return;
      } catch (err) {
        // Two clones of one template at the same instant can collide ("being accessed by other users").
        if (attempt >= 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  });
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin(async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
