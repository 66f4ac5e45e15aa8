// Diff prisma/migrations (or nothing) against prisma/schema.prisma without Prisma's native schema engine
// (ARCHITECTURE.md §5): the WebAssembly build of the schema engine applies the migrations to a throwaway
// in-memory PGlite (the shadow database), introspects it and prints the SQL that would bring it to schema.prisma.
//
// The wasm package's entry point imports its .wasm file as an ES module, which Node 20 only supports behind
// --experimental-wasm-modules, so we load the wasm-bindgen glue (`schema_engine_bg.js`) and instantiate the
// .wasm ourselves, once per process.

import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { PGlite } from "@electric-sql/pglite";
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import type { DiffTarget, MigrationDirectory, MigrationList, SchemaEngine } from "@prisma/schema-engine-wasm";
import * as engineGlue from "@prisma/schema-engine-wasm/schema_engine_bg";
import { PrismaPGlite } from "pglite-prisma-adapter";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const DEFAULT_MIGRATIONS_DIR = path.join(projectRoot, "prisma", "migrations");
export const DEFAULT_SCHEMA_PATH = path.join(projectRoot, "prisma", "schema.prisma");

export interface DiffOptions {
  /** Folder holding migration_lock.toml and <timestamp>_<name>/migration.sql; default prisma/migrations. */
  migrationsDir?: string;
  /** The Prisma schema to diff to; default prisma/schema.prisma. */
  schemaPath?: string;
  /** Diff from an empty database instead of from the migrations (the whole schema as one script). */
  fromEmpty?: boolean;
}

/** Thrown when the engine fails; `engineLog` holds what it logged (it is kept off stdout otherwise). */
export class SchemaDiffError extends Error {
  constructor(
    message: string,
    readonly engineLog: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SchemaDiffError";
  }
}

/**
 * The SQL script that takes a database built by applying the migrations folder (or an empty database when
 * `fromEmpty`) to the state described by schema.prisma; "" when they agree.
 */
export async function diffMigrationsToSchema(opts: DiffOptions = {}): Promise<string> {
  const schemaPath = path.resolve(opts.schemaPath ?? DEFAULT_SCHEMA_PATH);
  const migrationsDir = path.resolve(opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const schemaContent = await readFile(schemaPath, "utf8");

  const from: DiffTarget = opts.fromEmpty
    ? { tag: "empty" }
    : { tag: "migrations", ...(await loadMigrationList(migrationsDir)) };
  const to: DiffTarget = { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schemaContent }] };

  const log: string[] = [];
  const adapters = new PGliteAdapterFactory();
  let engine: SchemaEngine | undefined;
  try {
    const SchemaEngineClass = await loadSchemaEngine();
    engine = await SchemaEngineClass.new(
      { datamodels: [[schemaPath, schemaContent]] },
      (line: string) => void log.push(line),
      bindMigrationAwareSqlAdapterFactory(adapters),
    );
    const result = await engine.diff({
      from,
      to,
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return normaliseScript(result.stdout ?? "");
  } catch (error) {
    throw new SchemaDiffError(`schema diff failed: ${describeEngineError(error)}`, log, { cause: error });
  } finally {
    engine?.free();
    await adapters.close();
  }
}

/** "" when the script holds only comments and whitespace, else the script with one trailing newline. */
export function normaliseScript(script: string): string {
  const meaningful = script
    .split("\n")
    .map((line) => line.trim())
    .some((line) => line !== "" && !line.startsWith("--"));
  return meaningful ? `${script.trimEnd()}\n` : "";
}

/** The migrations folder as Prisma's CLI hands it to the engine (prisma/migrate's listMigrations). */
export async function loadMigrationList(migrationsDir: string, shadowDbInitScript = ""): Promise<MigrationList> {
  const lockfilePath = "migration_lock.toml";
  const lockContent = await readFile(path.join(migrationsDir, lockfilePath), "utf8").catch(() => null);
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const migrationDirectories: MigrationDirectory[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = "migration.sql";
    const content = await readFile(path.join(migrationsDir, entry.name, file), "utf8").then(
      (value) => ({ tag: "ok" as const, value }),
      (error: Error) => ({ tag: "error" as const, value: error.message }),
    );
    migrationDirectories.push({ path: entry.name, migrationFile: { path: file, content } });
  }
  return {
    baseDir: migrationsDir,
    lockfile: { path: lockfilePath, content: lockContent },
    shadowDbInitScript,
    migrationDirectories,
  };
}

// ───────────────────────────── engine loading ─────────────────────────────

type SchemaEngineStatic = typeof engineGlue.SchemaEngine;

// tsconfig's lib (ES2023, no DOM) has no WebAssembly declarations; this is the part of Node's global we use.
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: Record<string, object>): Promise<{ exports: Record<string, unknown> }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let enginePromise: Promise<SchemaEngineStatic> | undefined;

interface PanicRegistry {
  get(): string;
  set_message(message: string): void;
}
const globals = globalThis as typeof globalThis & { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry };

function loadSchemaEngine(): Promise<SchemaEngineStatic> {
  enginePromise ??= (async () => {
    // The glue reports Rust panics through this global (Prisma's CLI installs the same object).
    if (!globals.PRISMA_WASM_PANIC_REGISTRY) {
      let message = "";
      globals.PRISMA_WASM_PANIC_REGISTRY = {
        get: () => message,
        set_message: (m: string) => void (message = `RuntimeError: ${m}`),
      };
    }
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const wasmBytes = await readFile(path.join(path.dirname(gluePath), "schema_engine_bg.wasm"));
    const wasmModule = await wasmApi.compile(wasmBytes);
    const instance = await wasmApi.instantiate(wasmModule, { "./schema_engine_bg.js": engineGlue });
    engineGlue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return engineGlue.SchemaEngine;
  })();
  return enginePromise;
}

function describeEngineError(error: unknown): string {
  const panic = globals.PRISMA_WASM_PANIC_REGISTRY?.get();
  if (error instanceof Error) return panic ? `${error.message} (${panic})` : error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

// ───────────────────────────── PGlite adapters ─────────────────────────────

/**
 * pglite-prisma-adapter's factory opens a new in-memory PGlite for every shadow connection and never closes it;
 * this one tracks every PGlite it opens (main and shadow) so a diff leaves nothing behind.
 */
class PGliteAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = "postgres" as const;
  readonly adapterName = "pglite-prisma-adapter";
  readonly #databases: PGlite[] = [];

  connect(): Promise<SqlDriverAdapter> {
    return this.#open();
  }

  connectToShadowDb(): Promise<SqlDriverAdapter> {
    return this.#open();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#databases.splice(0).map((db) => db.close()));
  }

  async #open(): Promise<SqlDriverAdapter> {
    const db = new PGlite();
    this.#databases.push(db);
    await db.waitReady;
    const adapter = await new PrismaPGlite(db).connect();
    // pglite-prisma-adapter 0.7.2's executeScript calls PGlite's exec() without awaiting it: a migration that
    // fails in the shadow database becomes an unhandled rejection (crashing the process) while the engine carries
    // on as if it had applied, and prints a diff from a half-built database. Await it and report the error.
    adapter.executeScript = async (script: string) => {
      try {
        await db.exec(script);
      } catch (error) {
        throw toDriverAdapterError(error);
      }
    };
    return adapter;
  }
}

/** A PostgreSQL error as the engine expects it from a driver adapter (it then names the failing migration). */
function toDriverAdapterError(error: unknown): unknown {
  if (!(error instanceof Error) || typeof (error as { code?: unknown }).code !== "string") return error;
  const e = error as Error & { code: string; severity?: string; detail?: string; column?: string; hint?: string };
  return new DriverAdapterError({
    kind: "postgres",
    code: e.code,
    severity: e.severity ?? "ERROR",
    message: e.message,
    detail: e.detail,
    column: e.column,
    hint: e.hint,
  });
}
