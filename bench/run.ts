// `npm run bench [-- <name>...]`: runs the registered benchmarks (all, or those whose name contains one of the
// arguments), printing every figure as `name: value unit` on stdout as it is measured, then a summary table.
// Progress goes to stderr. Exit code 1 when a benchmark failed (its cleanup still ran).

import { execFileSync } from "node:child_process";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { ROOT, chooseServerCommand, type BenchContext, type Benchmark, type Figure, type ServerCommand } from "./harness.js";
import { billing } from "./billing.bench.js";
import { bulk } from "./bulk.bench.js";
import { foundation } from "./foundation.bench.js";
import { simImport } from "./import.bench.js";
import { ingest } from "./ingest.bench.js";
import { rollup } from "./rollup.bench.js";

/** Every benchmark, in run order. A new one is a `bench/<name>.bench.ts` exporting a Benchmark, added here. */
const BENCHMARKS: Benchmark[] = [foundation, bulk, simImport, ingest, rollup, billing];

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toString();
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => "| " + r.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ") + " |";
  return [line(rows[0]!), "| " + widths.map((w, i) => (i === 2 ? "-".repeat(w - 1) + ":" : "-".repeat(w))).join(" | ") + " |", ...rows.slice(1).map(line)].join("\n");
}

async function runOne(bench: Benchmark, base: Omit<BenchContext, "report" | "defer" | "signal">, figures: Figure[], interrupt: AbortSignal): Promise<boolean> {
  const cleanups: Array<() => unknown> = [];
  const abort = new AbortController();
  const ctx: BenchContext = {
    ...base,
    signal: abort.signal,
    report(name, value, unit) {
      figures.push({ bench: bench.name, name, value, unit });
      console.log(`${name}: ${formatValue(value)} ${unit}`);
    },
    defer: (fn) => void cleanups.push(fn),
  };
  const started = performance.now();
  ctx.log(`== ${bench.name}: ${bench.description} (limit ${bench.timeLimitMs / 1000} s)`);
  let timer: NodeJS.Timeout | undefined;
  let onInterrupt = () => undefined as void;
  const overtime = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`${bench.name} ran past its ${bench.timeLimitMs / 1000} s limit`));
    }, bench.timeLimitMs);
    onInterrupt = () => {
      abort.abort();
      reject(new Error("interrupted"));
    };
    interrupt.addEventListener("abort", onInterrupt, { once: true });
  });
  let ok = true;
  try {
    await Promise.race([bench.run(ctx), overtime]);
  } catch (err) {
    ok = false;
    abort.abort();
    console.error(`!! ${bench.name} failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    clearTimeout(timer);
    interrupt.removeEventListener("abort", onInterrupt);
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        ok = false;
        console.error(`!! ${bench.name}: cleanup failed: ${(err as Error).message}`);
      }
    }
  }
  ctx.log(`== ${bench.name}: ${ok ? "done" : "FAILED"} in ${((performance.now() - started) / 1000).toFixed(1)} s (cleanup included)`);
  return ok;
}

/** The commit measured, and whether the working tree differs from it (read-only git). */
function describeCommit(): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const changed = git("status", "--porcelain").split("\n").filter(Boolean).length;
    return `${git("rev-parse", "--short", "HEAD")}${changed ? ` + uncommitted changes in ${changed} file(s)` : ""}`;
  } catch {
    return "unknown (not a git checkout)";
  }
}

async function main(filters: string[]): Promise<number> {
  const selected = filters.length ? BENCHMARKS.filter((b) => filters.some((f) => b.name.includes(f))) : BENCHMARKS;
  if (selected.length === 0) {
    console.error(`No benchmark matches ${filters.join(", ")}. Registered: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
    return 1;
  }
  const cpus = os.cpus();
  console.log(`machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown cpu"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}`);
  console.log(`node: ${process.version}`);
  const load = os.loadavg()[0] ?? 0;
  console.log(`load average (1 min) at start: ${load.toFixed(2)}${load > 0.5 * cpus.length ? "  (busy: other work skews these figures)" : ""}`);
  const command = await chooseServerCommand();
  try {
    console.log(`server: ${command.describe("server")} (${command.reason})`);
    console.log(`date: ${new Date().toISOString()}`);
    console.log(`commit: ${describeCommit()}`);
    return await runSelected(selected, command);
  } finally {
    command.dispose();
  }
}

async function runSelected(selected: Benchmark[], command: ServerCommand): Promise<number> {
  const figures: Figure[] = [];
  const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
  const failed: string[] = [];
  // Ctrl-C or SIGTERM: abort the current benchmark so its cleanup (servers, databases, temp dirs) still runs.
  // A Ctrl-C usually arrives twice (from the terminal and relayed by tsx), so repeats are absorbed: only a
  // third signal exits at once, leaving the cleanup undone.
  const interrupt = new AbortController();
  let signals = 0;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      signals++;
      if (signals === 1) console.error(`!! ${sig}: cleaning up (interrupt again to exit at once, without cleaning up)`);
      if (signals >= 3) process.exit(130);
      interrupt.abort();
    });
  }
  for (const bench of selected) {
    if (interrupt.signal.aborted) break;
    const ok = await runOne(bench, { log, command }, figures, interrupt.signal);
    if (!ok) failed.push(bench.name);
  }

  console.log("");
  console.log("summary:");
  console.log(table([["benchmark", "figure", "value", "unit"], ...figures.map((f) => [f.bench, f.name, formatValue(f.value), f.unit])]));
  if (failed.length) console.log(`failed: ${failed.join(", ")}`);
  console.log(`load average (1 min) at end: ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
  return failed.length || interrupt.signal.aborted ? 1 : 0;
}

main(process.argv.slice(2).filter((a) => a !== "--")).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
