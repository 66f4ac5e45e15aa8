import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../../generated/prisma/client.js";
import { MIGRATIONS_DIR } from "../paths.js";
import { migrate } from "./migrator.js";
import { connectPostgres, pgliteExecutor, type SqlExecutor } from "./sql-executor.js";

export type { PrismaClient };
/** The client or an interactive transaction's client: repository functions accept either (STYLE.md habit 9). */
export type Db = Omit<PrismaClient, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;


export interface DatabaseOptions {
  /** PostgreSQL URL; unset means the embedded PGlite database in `dataDir`. */
  url?: string;
  poolMax: number;
  dataDir: string;
  migrateOnStart: boolean;
  log: (msg: string) => void;
}

/**
 * Plain SQL on the same pool as Prisma, for the hot paths (usage ingestion) where one set-based statement with
 * array parameters beats the ORM: no per-row mapping, and pg sends arrays as single parameters.
 * Each call is one statement in its own implicit transaction.
 */
export interface SqlRunner {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

export interface Database {
  prisma: PrismaClient;
  sql: SqlRunner;
  kind: "postgres" | "pglite";
  /** A cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.url ? openPostgres(opts.url, opts) : openEmbedded(opts);
}

async function openPostgres(url: string, opts: DatabaseOptions): Promise<Database> {
  if (opts.migrateOnStart) await runMigrations(await connectPostgres(url), opts.log);
  const pool = new pg.Pool({ connectionString: url, max: opts.poolMax, application_name: "conekt" });
  // An idle client's error (server restart) must not crash the process; the pool replaces the client.
  pool.on("error", (err) => opts.log(`postgres pool: idle client error: ${err.message}`));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    sql: { query: async <T>(text: string, params?: unknown[]) => (await pool.query(text, params)).rows as T[] },
    kind: "postgres",
    ping: async () => void (await pool.query("select 1")),
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}

async function openEmbedded(opts: DatabaseOptions): Promise<Database> {
  const dir = `${opts.dataDir.replace(/\/+$/, "")}/pgdata`;
  await mkdir(dir, { recursive: true });
  const releaseLock = await lockDataDir(`${dir}.lock`);
  const pglite = new PGlite(dir);
  await pglite.waitReady;
  // The embedded database is always migrated: it has no operator to run `db:migrate` for it.
  await runMigrations(pgliteExecutor(pglite), opts.log);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    prisma,
    sql: { query: async <T>(text: string, params?: unknown[]) => (await pglite.query<T>(text, params)).rows },
    kind: "pglite",
    ping: async () => void (await pglite.query("select 1")),
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
      await releaseLock();
    },
  };
}

async function runMigrations(executor: SqlExecutor, log: (msg: string) => void): Promise<void> {
  try {
    const { applied, alreadyApplied } = await migrate(executor, { migrationsDir: MIGRATIONS_DIR, log });
    log(applied.length ? `database: applied ${applied.length} migration(s): ${applied.join(", ")}` : `database: schema up to date (${alreadyApplied} migrations)`);
  } finally {
    await executor.close();
  }
}

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it.
 * A pid file refuses that with a clear message (a stale file of a dead process is taken over).
 */
async function lockDataDir(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; ; attempt++) {
    try {
      // `wx` creates the file only if it does not exist: two processes starting together cannot both win.
      await writeFile(file, String(process.pid), { flag: "wx" });
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
      const holder = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new Error(`The embedded database is in use by process ${holder}. Stop it first (or set DATABASE_URL to use PostgreSQL).`);
      }
      await rm(file, { force: true }); // left by a process that died: take it over
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Plain SQL inside a Prisma transaction (advisory locks, the billing computation in the issuing transaction).
 * Types come back as Prisma's raw queries give them (bigint, Decimal, Date), unlike the pool's `sql` (strings for
 * int8/numeric): code meant for both selects `::text` and parses.
 */
export const txSql = (tx: Db): SqlRunner => ({
  query: <T>(text: string, params: unknown[] = []) => tx.$queryRawUnsafe<T[]>(text, ...params),
});
