// Where the billing run's time goes, measured without touching the code under test:
// - `timedSql`: a SqlRunner that times each statement computeTenantBill sends (it takes any SqlRunner), so the
//   computation's cost splits by statement; with `explain`, each statement is also run under
//   EXPLAIN (ANALYZE, BUFFERS) and the plan kept;
// - `queryLog`: a PrismaClient of its own with Prisma's query events, summing the database time of every
//   statement the run sends (ORM and raw), grouped by statement text (opt-in: BENCH_BILLING_PROFILE=1).

import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { performance } from "node:perf_hooks";
import { PrismaClient } from "../src/generated/prisma/client.js";
import type { SqlRunner } from "../src/platform/db/database.js";

/** A statement's text in one line, numbers and literals left as they are (the statements are parameterised). */
export const statementKey = (text: string, width = 110): string => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

export interface StatementStats {
  calls: number;
  ms: number;
  rows: number;
}

export function timedSql(inner: SqlRunner, opts: { explain?: boolean } = {}): SqlRunner & { stats: Map<string, StatementStats>; plans: Array<{ statement: string; plan: string }> } {
  const stats = new Map<string, StatementStats>();
  const plans: Array<{ statement: string; plan: string }> = [];
  return {
    stats,
    plans,
    async query<T>(text: string, params?: unknown[]): Promise<T[]> {
      const key = statementKey(text);
      if (opts.explain && /^\s*(WITH|SELECT)\b/i.test(text)) {
        const rows = await inner.query<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
        plans.push({ statement: text.trim(), plan: rows.map((r) => Object.values(r)[0]).join("\n") });
      }
      const t0 = performance.now();
      const rows = await inner.query<T>(text, params);
      const s = stats.get(key) ?? { calls: 0, ms: 0, rows: 0 };
      s.calls++;
      s.ms += performance.now() - t0;
      s.rows += rows.length;
      stats.set(key, s);
      return rows;
    },
  };
}

/** A PrismaClient on its own pool that sums Prisma's reported duration of every statement. */
export function queryLog(url: string, poolMax: number): { prisma: PrismaClient; stats: Map<string, StatementStats>; close: () => Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: poolMax, application_name: "conekt" });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), log: [{ level: "query", emit: "event" }] });
  const stats = new Map<string, StatementStats>();
  prisma.$on("query", (e) => {
    const key = statementKey(e.query);
    const s = stats.get(key) ?? { calls: 0, ms: 0, rows: 0 };
    s.calls++;
    s.ms += Number(e.duration);
    stats.set(key, s);
  });
  return {
    prisma,
    stats,
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}

/** The heaviest statements first, as lines for the log. */
export function topStatements(stats: Map<string, StatementStats>, limit = 12): string[] {
  const total = [...stats.values()].reduce((a, s) => a + s.ms, 0);
  return [...stats.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, limit)
    .map(([key, s]) => `${(s.ms / 1000).toFixed(2).padStart(8)} s ${((100 * s.ms) / (total || 1)).toFixed(0).padStart(3)} %  ${String(s.calls).padStart(6)} calls  ${(s.ms / s.calls).toFixed(2).padStart(8)} ms/call  ${key}`);
}
