// Shared by every benchmark: the context a benchmark reports into, the server process under test (spawned,
// polled until healthy, stopped), a closed-loop HTTP load generator and small statistics helpers.
// Traffic goes to 127.0.0.1 only; everything started here is registered for cleanup.

import { generate as generateTotp } from "otplib";
import { Redis } from "ioredis";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { runNode } from "../test/helpers/cli.js";
import { createTestDatabase } from "../test/helpers/database.js";
import { freePort } from "../test/helpers/net.js";

export const ROOT = fileURLToPath(new URL("../", import.meta.url));

export interface Figure {
  bench: string;
  name: string;
  value: number;
  unit: string;
}

export interface BenchContext {
  /** Prints `name: value unit` at once and keeps the figure for the summary. */
  report(name: string, value: number, unit: string): void;
  /** Progress for the operator, on stderr (stdout holds only the figures and the summary). */
  log(msg: string): void;
  /** Runs when the benchmark ends, succeeds or not, last registered first. */
  defer(cleanup: () => unknown | Promise<unknown>): void;
  /** Aborted when the benchmark runs past its time limit. */
  signal: AbortSignal;
  /** How to run the server and the CLI (chosen once per run: compiled dist/ or the sources through tsx). */
  command: ServerCommand;
}

export interface Benchmark {
  name: string;
  description: string;
  /** Hard limit: past it the benchmark is aborted, cleaned up and reported as failed. */
  timeLimitMs: number;
  run(ctx: BenchContext): Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------
// Which build of the server runs. Compiled JavaScript, as in production: dist/ when it matches the sources,
// else the current sources transpiled the way `npm run build` emits them, into a temp dir (dist/ is left
// alone: other people build into it). Running the sources through tsx costs ~100 MiB of RSS and start-up time.

export interface ServerCommand {
  kind: "dist" | "transpiled" | "tsx";
  /** Arguments for process.execPath to run a script ("server" or "cli"). */
  args(script: "server" | "cli"): string[];
  /** The command as a person would type it, for the output. */
  describe(script: "server" | "cli"): string;
  /** Why this one was chosen. */
  reason: string;
  /** Removes the temp build, if any. */
  dispose(): void;
}

/**
 * dist/ is up to date when every source file of tsconfig.build.json transpiles to exactly the JavaScript in
 * dist/ (compared by content, not mtime: `tsc --incremental` leaves unchanged outputs untouched). For code
 * under isolatedModules, ts.transpileModule emits the same text as tsc.
 * BENCH_SERVER=dist | transpiled | tsx forces one.
 */
export async function chooseServerCommand(): Promise<ServerCommand> {
  const forced = process.env.BENCH_SERVER;
  if (forced && forced !== "dist" && forced !== "transpiled" && forced !== "tsx") throw new Error(`BENCH_SERVER must be dist, transpiled or tsx, not "${forced}"`);
  const compiled = (dir: string, shown: string) => ({
    args: (s: "server" | "cli") => [join(dir, "src", `${s}.js`)],
    describe: (s: "server" | "cli") => `node ${shown}/src/${s}.js`,
  });
  if (forced === "tsx") {
    return {
      kind: "tsx",
      args: (s) => ["--import", "tsx", join(ROOT, "src", `${s}.ts`)],
      describe: (s) => `node --import tsx src/${s}.ts`,
      reason: "BENCH_SERVER=tsx",
      dispose: () => undefined,
    };
  }
  const { outputs, stale } = await transpileSources();
  if (forced === "dist" || (!forced && stale.length === 0)) {
    return { kind: "dist", ...compiled(join(ROOT, "dist"), "dist"), reason: forced ? "BENCH_SERVER=dist" : "dist/ matches the sources", dispose: () => undefined };
  }
  // A root of its own beside the build: PROJECT_ROOT is found by the nearest package.json (migrations and
  // openapi.yaml beside it) and packages through node_modules, so those four are links to the repository.
  const dir = mkdtempSync(join(tmpdir(), "conekt-bench-build-"));
  for (const name of ["package.json", "node_modules", "prisma", "openapi.yaml"]) symlinkSync(join(ROOT, name), join(dir, name));
  for (const [rel, js] of outputs) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), js);
  }
  const shown = !existsSync(join(ROOT, "dist", "src", "server.js"))
    ? "there is no dist/"
    : `dist/ is out of date: ${stale.slice(0, 3).join(", ")}${stale.length > 3 ? ` and ${stale.length - 3} more` : ""} differ`;
  return {
    kind: "transpiled",
    ...compiled(dir, dir),
    reason: forced ? "BENCH_SERVER=transpiled" : `${shown}; so the current sources, transpiled as npm run build emits them, into a temp dir`,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Every source of tsconfig.build.json as the JavaScript tsc would emit (path relative to dist/), and which differ from dist/. */
async function transpileSources(): Promise<{ outputs: Map<string, string>; stale: string[] }> {
  const ts = (await import("typescript")).default;
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.build.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!parsed) throw new Error("tsconfig.build.json could not be read");
  // transpileModule cannot see package.json's "type": "module"; ESNext emits what NodeNext emits for it.
  const options = { ...parsed.options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
  const outputs = new Map<string, string>();
  const stale: string[] = [];
  for (const file of parsed.fileNames) {
    if (file.endsWith(".d.ts")) continue;
    const rel = relative(ROOT, file).replace(/\.ts$/, ".js");
    const js = ts.transpileModule(readFileSync(file, "utf8"), { compilerOptions: options, fileName: file }).outputText;
    outputs.set(rel, js);
    const inDist = join(ROOT, "dist", rel);
    if (!existsSync(inDist) || readFileSync(inDist, "utf8") !== js) stale.push(relative(ROOT, file));
  }
  return { outputs, stale };
}

// ---------------------------------------------------------------------------------------------------------
// Processes.

const children = new Set<ChildProcess>();

/** Last resort when the bench process exits without cleaning up (an uncaught error): no orphan servers. */
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});


/** Only PATH and HOME from the outside, so nothing in the caller's environment leaks into the measurement. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...extra };
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  base: string;
  port: number;
  /** Milliseconds from spawn to the first 200 from GET /health. */
  startMs: number;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the milliseconds to exit. */
  stop(graceMs?: number): Promise<number>;
}

/** Spawns the server and polls GET /health every 20 ms until it answers 200 (or the deadline passes). */
export async function startServer(
  ctx: BenchContext,
  env: Record<string, string>,
  opts: { deadlineMs?: number } = {},
): Promise<ServerProcess> {
  const deadlineMs = opts.deadlineMs ?? 60_000;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  // BENCH_SERVER_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const extra = (process.env.BENCH_SERVER_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...extra, ...ctx.command.args("server")], {
    cwd: ROOT,
    env: cleanEnv({ HOST: "127.0.0.1", PORT: String(port), ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  const keep = (d: string) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.setEncoding("utf8").on("data", keep);
  child.stderr!.setEncoding("utf8").on("data", keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    children.delete(child);
  });

  const stop = async (graceMs = 15_000): Promise<number> => {
    const t0 = performance.now();
    if (!gone) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    return performance.now() - t0;
  };
  ctx.defer(() => stop(5_000));

  let startMs: number | null = null;
  while (!gone && !ctx.signal.aborted && performance.now() - started < deadlineMs) {
    const status = await probe(`${base}/health`);
    if (status === 200) {
      startMs = performance.now() - started;
      break;
    }
    await sleep(20);
  }
  if (startMs === null) {
    await stop(2_000);
    throw new Error(`the server did not answer GET /health with 200 within ${deadlineMs} ms; its output:\n${out.slice(-4000)}`);
  }
  return { child, pid: child.pid!, base, port, startMs, output: () => out, stop };
}

/** One GET on a fresh connection; the status, or 0 when nothing answers. */
function probe(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

/** Runs src/cli.ts (or dist/src/cli.js) to completion; rejects on a non-zero exit. */
export async function runCli(ctx: BenchContext, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<string> {
  const run = await runNode([...ctx.command.args("cli"), ...args], cleanEnv(env), timeoutMs, (child) => {
    children.add(child);
    ctx.defer(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    child.on("close", () => children.delete(child));
  });
  if (run.code !== 0) throw new Error(`cli ${args.join(" ")} exited with ${run.code ?? run.signal}:\n${run.stderr.slice(-4000)}`);
  return run.stdout;
}

/** Resident set size of a process in MiB, from /proc/<pid>/status (Linux); NaN when unavailable. */
export function rssMiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat (Linux, USER_HZ 100); NaN when unavailable. */
export function cpuMs(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name (which may hold spaces): utime is the 14th field, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** CPU used by every process (pid -> ms and its command line) and by the whole machine, at one moment. */
export interface CpuSnapshot {
  at: number;
  machineBusyMs: number;
  /** Time the hypervisor ran something else while this VM wanted its CPUs. */
  machineStealMs: number;
  processes: Map<string, { ms: number; cmd: string }>;
}

export function cpuSnapshot(): CpuSnapshot {
  const processes = new Map<string, { ms: number; cmd: string }>();
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    // not Linux: an empty breakdown
  }
  for (const pid of pids) {
    const ms = cpuMs(pid);
    if (Number.isNaN(ms)) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      continue;
    }
    processes.set(pid, { ms, cmd });
  }
  let machineBusyMs = Number.NaN;
  let machineStealMs = Number.NaN;
  try {
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user already)
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    machineBusyMs = (user + nice + system + irq + softirq) * 10;
    machineStealMs = steal * 10;
  } catch {
    // not Linux
  }
  return { at: performance.now(), machineBusyMs, machineStealMs, processes };
}

/**
 * Where the CPU went between two snapshots, in % of one core, by the first matching label (`rest`: every
 * other process). `machine` is the whole machine's busy time (100 % per core is the ceiling), `steal` the time
 * the hypervisor gave this VM's CPUs to others.
 */
export function cpuBreakdown(before: CpuSnapshot, after: CpuSnapshot, labels: Array<[string, (pid: string, cmd: string) => boolean]>): Record<string, number> {
  const wallMs = after.at - before.at;
  const out: Record<string, number> = Object.fromEntries([...labels.map(([l]) => [l, 0]), ["rest", 0]]);
  for (const [pid, now] of after.processes) {
    const then = before.processes.get(pid);
    const used = now.ms - (then && then.cmd === now.cmd ? then.ms : 0);
    if (!(used > 0)) continue;
    const label = labels.find(([, match]) => match(pid, now.cmd))?.[0] ?? "rest";
    out[label] = (out[label] ?? 0) + (used / wallMs) * 100;
  }
  out.machine = ((after.machineBusyMs - before.machineBusyMs) / wallMs) * 100;
  out.steal = ((after.machineStealMs - before.machineStealMs) / wallMs) * 100;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// HTTP.

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestSpec {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request over `agent` to 127.0.0.1:`port`, body collected. */
export function request(agent: http.Agent, port: number, spec: RequestSpec, timeoutMs = 10_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...spec.headers };
    if (spec.body !== undefined) {
      headers["content-type"] ??= "application/json";
      headers["content-length"] = String(Buffer.byteLength(spec.body));
    }
    const req = http.request({ host: "127.0.0.1", port, method: spec.method ?? "GET", path: spec.path, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    if (spec.body !== undefined) req.write(spec.body);
    req.end();
  });
}

export interface LoadResult {
  requests: number;
  errors: number;
  durationMs: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** The first few distinct errors, for the log. */
  errorSamples: string[];
}

/**
 * Closed loop: `concurrency` workers, each sending its next request only when the previous one has answered,
 * over keep-alive connections. Runs `warmupMs` unmeasured, then counts the requests completed in the next
 * `durationMs`. An error is a network failure or a status other than `expectStatus`.
 */
export async function closedLoop(opts: {
  port: number;
  spec: RequestSpec;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  expectStatus?: number;
  signal: AbortSignal;
  /** Called every `sampleEveryMs` during the measured window (RSS sampling). */
  onSample?: () => void;
  sampleEveryMs?: number;
}): Promise<LoadResult> {
  const expect = opts.expectStatus ?? 200;
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency, maxFreeSockets: opts.concurrency });
  const latencies: number[] = [];
  const errorSamples = new Set<string>();
  let errors = 0;
  const begin = performance.now();
  const measureFrom = begin + opts.warmupMs;
  const measureTo = measureFrom + opts.durationMs;
  const sampler = opts.onSample ? setInterval(opts.onSample, opts.sampleEveryMs ?? 500) : undefined;

  const worker = async () => {
    while (!opts.signal.aborted) {
      const t0 = performance.now();
      if (t0 >= measureTo) return;
      let failed: string | null = null;
      try {
        const res = await request(agent, opts.port, opts.spec);
        if (res.status !== expect) failed = `HTTP ${res.status}: ${res.body.slice(0, 200)}`;
      } catch (err) {
        failed = (err as Error).message;
      }
      const t1 = performance.now();
      if (t1 < measureFrom || t1 > measureTo) continue;
      if (failed) {
        errors++;
        if (errorSamples.size < 5) errorSamples.add(failed);
      } else {
        latencies.push(t1 - t0);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    if (sampler) clearInterval(sampler);
    agent.destroy();
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: sorted.length,
    errors,
    durationMs: opts.durationMs,
    perSecond: sorted.length / (opts.durationMs / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    errorSamples: [...errorSamples],
  };
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

// ── Shared by the benchmarks that drive the API as a client ──

export function expectStatus(res: HttpReply, status: number, what: string): HttpReply {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.body.slice(0, 500)}`);
  return res;
}

/**
 * Signs in with the password; when the account must enrol TOTP first (platform staff), enrols it on the spot
 * with a code computed from the secret the server hands out, as an authenticator app would.
 */
export async function signIn(call: (spec: RequestSpec) => Promise<HttpReply>, loginSpec: RequestSpec): Promise<{ cookie: string; csrfToken: string }> {
  const res = expectStatus(await call(loginSpec), 200, "login");
  const answer = JSON.parse(res.body) as { status?: string; mfaToken?: string };
  if (answer.status === "authenticated") return sessionOf(res);
  if (answer.status === "mfa_enrollment_required" && answer.mfaToken) {
    const mfaToken = answer.mfaToken;
    const begun = JSON.parse(expectStatus(await call({ method: "POST", path: "/v1/auth/mfa/enrol", body: JSON.stringify({ mfaToken }) }), 200, "MFA enrolment").body) as { secret: string };
    const code = await generateTotp({ secret: begun.secret });
    return sessionOf(expectStatus(await call({ method: "POST", path: "/v1/auth/mfa/enrol/confirm", body: JSON.stringify({ mfaToken, code }) }), 200, "MFA enrolment confirm"));
  }
  throw new Error(`login answered ${res.body.slice(0, 300)}; the bench expects a session or an MFA enrolment for its fresh admin`);
}

function sessionOf(res: HttpReply): { cookie: string; csrfToken: string } {
  const cookie = (res.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]!).find((c) => c.startsWith("conekt_session="));
  const { csrfToken } = JSON.parse(res.body) as { csrfToken?: string };
  if (!cookie || !csrfToken) throw new Error(`login answered without a session cookie or csrfToken: ${res.body.slice(0, 500)}`);
  return { cookie, csrfToken };
}

export async function deleteRedisKeys(redisUrl: string, pattern: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [nextCursor, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
      if (keys.length) await redis.del(...keys);
      cursor = nextCursor;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * A benchmark's own work folder, fresh database (cloned from the migrated template) and Redis key prefix, each
 * removed when the benchmark ends, whatever happens.
 */
export async function benchWorkspace(ctx: BenchContext, label: string, redisUrl: string): Promise<{ workDir: string; database: { name: string; url: string }; redisPrefix: string }> {
  const workDir = mkdtempSync(join(tmpdir(), `conekt-bench-${label}-`));
  ctx.defer(() => rmSync(workDir, { recursive: true, force: true }));
  const database = await createTestDatabase();
  ctx.defer(() => database.drop());
  const redisPrefix = `conekt-bench-${randomBytes(6).toString("hex")}`;
  ctx.defer(() => deleteRedisKeys(redisUrl, `{${redisPrefix}}*`));
  return { workDir, database, redisPrefix };
}
