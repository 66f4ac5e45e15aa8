/**
 * Applies `prisma/migrations/<name>/migration.sql` files ourselves (Prisma's native schema engine can't
 * be downloaded everywhere) while keeping `_prisma_migrations` exactly as `prisma migrate deploy`
 * would, so `prisma migrate status/deploy` agree with us wherever the engine exists.
 *
 * Same behaviour as the engine's `applyMigrations`: one advisory lock for the whole run, table created
 * if missing, any unresolved failed migration blocks the run, pending migrations applied in lexical
 * order, each as one script. Stricter than `migrate deploy` (which only reports these in
 * `migrate status`): we also refuse to run when an applied migration was edited or deleted.
 */
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { SqlExecutor } from "./sql-executor.js";

/** The key Prisma Migrate locks with (`SELECT pg_advisory_lock(72707369)`); sharing it serialises us with it. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

export type MigrationErrorCode =
  | "MIGRATION_FAILED_PREVIOUSLY" // a recorded migration failed and was not marked rolled back
  | "MIGRATION_CHECKSUM_MISMATCH" // an applied migration's migration.sql was edited
  | "MIGRATION_MISSING" // an applied migration's directory is gone
  | "MIGRATION_FAILED"; // a migration failed during this run

export class MigrationError extends Error {
  override readonly name = "MigrationError";
  readonly code: MigrationErrorCode;
  /** The migration (directory name) the error is about. */
  readonly migration: string;

  constructor(code: MigrationErrorCode, migration: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.migration = migration;
  }
}

export interface MigrationFile {
  /** Directory name, which is also `_prisma_migrations.migration_name`. */
  name: string;
  sqlPath: string;
  /** The raw bytes of migration.sql (the checksum is over bytes, not over decoded text). */
  script: Buffer;
  checksum: string;
}

export interface MigrateResult {
  /** Migrations applied by this run, in order. */
  applied: string[];
  /** Migrations of the folder that were already applied before this run. */
  alreadyApplied: number;
}

/** Lowercase hex SHA-256, as Prisma stores it in `_prisma_migrations.checksum`. */
export function checksumOf(content: Buffer | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * The migrations of `dir`, sorted by directory name. Entries without a migration.sql (e.g. an empty
 * directory, or the `migration_lock.toml` file) are skipped.
 */
export async function listMigrations(dir: string): Promise<MigrationFile[]> {
  // Default sort compares UTF-16 code units: the same order as Prisma's byte-wise sort for the ASCII
  // names `prisma migrate dev` generates (localeCompare would not be).
  const names = (await readdir(dir)).sort();
  const migrations: MigrationFile[] = [];
  for (const name of names) {
    const sqlPath = path.join(dir, name, "migration.sql");
    let script: Buffer;
    try {
      script = await readFile(sqlPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") continue; // not a migration directory
      throw err;
    }
    migrations.push({ name, sqlPath, script, checksum: checksumOf(script) });
  }
  return migrations;
}

/**
 * Whether `script` matches the `stored` checksum the way Prisma decides it: git may have changed the
 * file's line endings since it was applied, so the CRLF->LF and LF->CRLF variants also match.
 */
function checksumMatches(stored: string, script: Buffer): boolean {
  // latin1 maps each byte to one char and back, so these rewrites are byte-exact even for UTF-8 text.
  const text = script.toString("latin1");
  const variants = [text, text.replaceAll("\r\n", "\n"), text.replaceAll("\n", "\r\n")];
  return variants.some((variant) => {
    const digest = createHash("sha256").update(variant, "latin1").digest();
    // Old schema engines stored checksums without zero-padding each byte (prisma-engines#1887);
    // Prisma still accepts those, recognised by their length.
    const hex =
      stored.length === 64 || stored === ""
        ? digest.toString("hex")
        : Array.from(digest, (byte) => byte.toString(16)).join("");
    return hex === stored;
  });
}

function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Prisma's own DDL for the history table (postgres schema engine), made idempotent. */
function historyTableDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;
}

/** Applies the pending migrations of `opts.migrationsDir`. Throws {@link MigrationError} when it refuses or a migration fails. */
export async function migrate(
  db: SqlExecutor,
  opts: { migrationsDir: string; log?: (msg: string) => void },
): Promise<MigrateResult> {
  const log = opts.log ?? (() => {});
  const files = await listMigrations(opts.migrationsDir);

  // Resolve the table's schema once and qualify every reference: a migration may change search_path
  // (pg_dump output sets it to ''), which would otherwise redirect or break our bookkeeping mid-run.
  const [row] = await db.query<{ schema: string | null }>("SELECT current_schema() AS schema");
  if (!row?.schema) throw new Error("No current schema: the connection's search_path names no existing schema");
  const table = `${quoteIdent(row.schema)}."_prisma_migrations"`;

  await db.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK_KEY})`);
  try {
    return await migrateLocked(db, table, files, opts.migrationsDir, log);
  } finally {
    try {
      await db.query(`SELECT pg_advisory_unlock(${PRISMA_MIGRATE_LOCK_KEY})`);
    } catch (err) {
      // Don't mask the run's own outcome; if the session is broken, the server releases the lock anyway.
      log(`Could not release the migration lock: ${String(err)}`);
    }
  }
}

interface HistoryRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished: boolean;
  started_at: string;
  logs: string | null;
}

async function migrateLocked(
  db: SqlExecutor,
  table: string,
  files: MigrationFile[],
  migrationsDir: string,
  log: (msg: string) => void,
): Promise<MigrateResult> {
  // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can still fail on a catalog unique index.
  await db.exec(historyTableDdl(table));

  // Rolled-back rows are history only (`prisma migrate resolve --rolled-back` sets rolled_back_at).
  const rows = await db.query<HistoryRow>(
    `SELECT id, migration_name, checksum, finished_at IS NOT NULL AS finished, started_at::text AS started_at, logs
       FROM ${table} WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name`,
  );

  const failed = rows.find((r) => !r.finished);
  if (failed) {
    const logs = failed.logs?.trim() ? ` with the following logs:\n${failed.logs.trim()}` : "";
    throw new MigrationError(
      "MIGRATION_FAILED_PREVIOUSLY",
      failed.migration_name,
      `Migration \`${failed.migration_name}\` started at ${failed.started_at} failed${logs}\n\n` +
        `New migrations cannot be applied until it is resolved: fix the migration (and undo whatever part of it ` +
        `was committed), then mark it rolled back — \`prisma migrate resolve --rolled-back ${failed.migration_name}\` ` +
        `or UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE id = '${failed.id}' — and run again.`,
    );
  }

  const byName = new Map(files.map((f) => [f.name, f]));
  for (const r of rows) {
    const file = byName.get(r.migration_name);
    if (!file) {
      throw new MigrationError(
        "MIGRATION_MISSING",
        r.migration_name,
        `Migration \`${r.migration_name}\` is recorded as applied in the database but is missing from ${migrationsDir}. ` +
          `Restore its directory (applied migrations must never be deleted) and run again.`,
      );
    }
    if (!checksumMatches(r.checksum, file.script)) {
      throw new MigrationError(
        "MIGRATION_CHECKSUM_MISMATCH",
        r.migration_name,
        `Migration \`${r.migration_name}\` was modified after it was applied: the checksum of ${file.sqlPath} ` +
          `differs from the one recorded in _prisma_migrations. Revert the edit and put the change in a new migration.`,
      );
    }
  }

  const recorded = new Set(rows.map((r) => r.migration_name));
  const pending = files.filter((f) => !recorded.has(f.name));
  const alreadyApplied = files.length - pending.length;
  if (pending.length === 0) {
    log(`No pending migrations to apply (${alreadyApplied} already applied).`);
    return { applied: [], alreadyApplied };
  }

  const applied: string[] = [];
  for (const file of pending) {
    log(`Applying migration \`${file.name}\``);
    await applyOne(db, table, file);
    applied.push(file.name);
  }
  log(`Applied ${applied.length} migration(s); ${alreadyApplied} were already applied.`);
  return { applied, alreadyApplied };
}

/** Records, runs and finishes one migration exactly as the schema engine does. */
async function applyOne(db: SqlExecutor, table: string, file: MigrationFile): Promise<void> {
  const id = randomUUID(); // v4
  // Recorded before running (and outside the script's transaction) so a crash leaves a visible failed row.
  await db.query(
    `INSERT INTO ${table} (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
    [id, file.checksum, file.name],
  );

  const script = file.script.toString("utf8");
  try {
    // One simple-protocol message: PostgreSQL runs it in one implicit transaction, so a failure rolls
    // back every statement of the file (unless the file manages transactions itself).
    await db.exec(script);
  } catch (err) {
    const logs = describeDbError(err, file.name, script);
    try {
      // If the script opened its own transaction and failed inside it, the session is still in an
      // aborted transaction; end it so we can record the failure. (Outside a transaction this only warns.)
      await db.exec("ROLLBACK");
      await db.query(`UPDATE ${table} SET logs = $1 WHERE id = $2`, [logs, id]);
    } catch {
      // The row stays unfinished, which still blocks later runs; only the logs are lost.
    }
    throw new MigrationError(
      "MIGRATION_FAILED",
      file.name,
      `${logs}\n\nNew migrations cannot be applied until this is resolved: fix the migration, then mark it rolled back ` +
        `(\`prisma migrate resolve --rolled-back ${file.name}\`) and run again.`,
      { cause: err },
    );
  }

  await db.query(`UPDATE ${table} SET applied_steps_count = 1, finished_at = now() WHERE id = $1`, [id]);
}

/** The error text stored in `logs`, laid out like the schema engine's P3018 message. */
function describeDbError(err: unknown, migrationName: string, script: string): string {
  const e = (err ?? {}) as { message?: unknown; code?: unknown; position?: unknown; detail?: unknown; hint?: unknown };
  const lines = [`ERROR: ${typeof e.message === "string" ? e.message : String(err)}`];
  if (typeof e.detail === "string" && e.detail) lines.push(`DETAIL: ${e.detail}`);
  if (typeof e.hint === "string" && e.hint) lines.push(`HINT: ${e.hint}`);
  // `position` is a 1-based character offset into the whole script; a line number is more useful.
  const position = Number(e.position);
  if (Number.isInteger(position) && position > 0) {
    lines.push(`Position: line ${script.slice(0, position - 1).split("\n").length} of migration.sql`);
  }
  return [
    "A migration failed to apply.",
    `Migration name: ${migrationName}`,
    ...(typeof e.code === "string" ? [`Database error code: ${e.code}`] : []),
    `Database error:\n${lines.join("\n")}`,
  ].join("\n\n");
}
