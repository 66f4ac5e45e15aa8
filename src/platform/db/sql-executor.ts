import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

/**
 * The minimal database surface the migration runner needs, so the same runner works against a real
 * PostgreSQL server (one `pg.Client`) and an in-memory PGlite instance (tests, local tooling).
 *
 * Both implementations represent ONE database session: session state such as advisory locks and
 * `SET` commands carries over from one call to the next.
 */
export interface SqlExecutor {
  /** One statement, with `$1`, `$2`, … placeholders (extended protocol). Returns the result rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * A multi-statement script sent as a single simple-protocol message. Without explicit
   * BEGIN/COMMIT inside it, PostgreSQL runs the whole script in one implicit transaction.
   */
  exec(sql: string): Promise<void>;
  /** Releases what this executor owns (see each implementation for what that is). */
  close(): Promise<void>;
}

/**
 * Opens a single `pg.Client` connection (not a pool: a pool could hand each call a different
 * session, and session-level advisory locks would then not protect anything).
 * `close()` ends the connection.
 */
export async function connectPostgres(connectionString: string): Promise<SqlExecutor> {
  const client = new pg.Client({ connectionString });
  // Without a listener, a connection dropped by the server while idle would crash the process via
  // an unhandled 'error' event. The next query on the dead client rejects anyway, so ignoring it is safe.
  client.on("error", () => {});
  await client.connect();

  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      // pg uses the simple protocol for parameterless queries, which would silently accept several
      // statements; force the extended protocol so pg behaves like PGlite's query() (one statement).
      // `queryMode` exists in pg >= 8.12 but is missing from @types/pg, hence the widened type.
      const config: pg.QueryConfig & { queryMode: "extended" } = { text: sql, values: params, queryMode: "extended" };
      const result = await client.query(config);
      return result.rows as T[];
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql); // no values => simple query protocol, multi-statement allowed
    },
    async close(): Promise<void> {
      await client.end();
    },
  };
}

/**
 * Wraps an already open PGlite instance. PGlite is a single session, so advisory locks behave as
 * with one pg connection (and never contend: there is nobody else).
 *
 * `close()` is a no-op and does NOT close the PGlite instance: the caller created it, may keep using
 * it after migrating, and remains responsible for `await db.close()`.
 */
export function pgliteExecutor(db: PGlite): SqlExecutor {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      const result = await db.query<T>(sql, params);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
    async close(): Promise<void> {
      // Intentionally empty: the PGlite instance belongs to the caller.
    },
  };
}
