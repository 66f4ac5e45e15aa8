// Acceptance: the run command with no environment set serves GET /health 200 within 20 s on the embedded PGlite
// database, shuts down cleanly on SIGTERM, and a second start reuses the data folder without re-migrating or
// losing data. The real server (src/server.ts) runs as a child process; requests go over real HTTP.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t, { type Test } from "tap";
import { runCli } from "../helpers/cli.js";
import { freePort } from "../helpers/net.js";
import { oathCode } from "../helpers/totp.js";
import { checkResponse } from "../helpers/contract.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HEALTH_DEADLINE_MS = 20_000;
const STOP_DEADLINE_MS = 10_000;

const dataDir = mkdtempSync(join(tmpdir(), "conekt-embedded-"));
const lockFile = join(dataDir, "pgdata.lock");
const children = new Set<ChildProcess>();

t.teardown(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

/** Only PATH and HOME from the outside: no DATABASE_URL, no REDIS_URL, nothing tap sets. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dataDir, DATA_DIR: dataDir, ...extra };
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  child: ChildProcess;
  base: string;
  /** Milliseconds from spawn to the first 200 from /health, or null if it never came within the deadline. */
  healthMs: number | null;
  /** The `msg` of every pino line on stdout so far. */
  messages(): string[];
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startServer(): Promise<Server> {
  const port = await freePort();
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: ROOT,
    env: cleanEnv({ PORT: String(port), HOST: "127.0.0.1" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));

  const base = `http://127.0.0.1:${port}`;
  let healthMs: number | null = null;
  while (!gone && Date.now() - started < HEALTH_DEADLINE_MS) {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    if (res?.status === 200) {
      await res.text();
      healthMs = Date.now() - started;
      break;
    }
    await sleep(100);
  }
  const messages = () =>
    out
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        try {
          return String((JSON.parse(line) as { msg?: unknown }).msg ?? "");
        } catch {
          return `(not JSON) ${line}`;
        }
      });
  return { child, base, healthMs, messages, stdout: () => out, stderr: () => err, exited };
}

/** SIGTERM; resolves with the exit status, or null when the process is still alive after the deadline. */
async function stopServer(server: Server): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number } | null> {
  const t0 = Date.now();
  server.child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([server.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), STOP_DEADLINE_MS)))]);
  clearTimeout(timer);
  if (!result) server.child.kill("SIGKILL");
  return result && { ...result, ms: Date.now() - t0 };
}

/** The CLI on the same DATA_DIR, with no DATABASE_URL: the embedded database. */
const cli = (args: string[]) => runCli(args, { DATA_DIR: dataDir }, 60_000);

/** fetch over real HTTP, the response checked against openapi.yaml like every in-process test's. */
async function http(t: Test, server: Server, method: "GET" | "POST", path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: { ...(opts.body !== undefined ? { "content-type": "application/json" } : {}), ...opts.headers },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  t.same(checkResponse(method, path, res.status, res.headers.get("content-type") ?? undefined, text), [], `${method} ${path}: matches openapi.yaml`);
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

const timings: Record<string, number | null> = {};
let admin: { email: string; password: string } | undefined;
let session: { cookie: string; csrfToken: string } | undefined;
const createdSlug = `persist-${process.pid}`;

t.test("cold start on an empty DATA_DIR", async (t) => {
  const server = await startServer();
  timings.coldHealthMs = server.healthMs;
  t.ok(server.healthMs !== null, `GET /health 200 within ${HEALTH_DEADLINE_MS / 1000} s (took ${server.healthMs} ms)`, {
    stdout: server.stdout().slice(-2000),
    stderr: server.stderr().slice(-2000),
  });
  if (server.healthMs === null) return void (await stopServer(server));

  const msgs = server.messages();
  t.ok(msgs.some((m) => /database: embedded PGlite in .*pgdata/.test(m)), "log: embedded PGlite database", { msgs });
  t.ok(msgs.some((m) => /jobs: no REDIS_URL.*in-process/.test(m)), "log: in-process jobs", { msgs });
  t.ok(msgs.some((m) => /database: applied [1-9]\d* migration/.test(m)), "log: migrations applied on the empty database", { msgs });
  t.ok(msgs.some((m) => /secrets: generated/.test(m)), "log: secrets generated on first start");

  const ready = await http(t, server, "GET", "/ready");
  t.equal(ready.status, 200, "/ready 200");
  t.same(ready.json, { status: "ready", checks: { database: "ok" } }, "database checked, no Redis check");
  t.equal((await http(t, server, "GET", "/v1/me")).status, 401, "the API answers (unauthenticated)");

  await t.test("a second process on the same DATA_DIR is refused while the server runs", async (t) => {
    t.equal(readFileSync(lockFile, "utf8").trim(), String(server.child.pid), "the lock file names the server");
    const run = await cli(["bootstrap", "--email", "admin@example.com", "--json"]);
    t.not(run.code, 0, "non-zero exit");
    t.notOk(run.code === null, "exited by itself");
    t.match(run.stderr, new RegExp(`embedded database is in use by process ${server.child.pid}`), "says the embedded database is in use");
    t.equal(run.stdout.trim(), "", "printed no credentials");
    t.equal(readFileSync(lockFile, "utf8").trim(), String(server.child.pid), "the server keeps its lock");
    t.equal((await http(t, server, "GET", "/ready")).status, 200, "the server still serves");
  });

  const stopped = await stopServer(server);
  timings.coldStopMs = stopped?.ms ?? null;
  t.ok(stopped, `SIGTERM: exited within ${STOP_DEADLINE_MS / 1000} s`);
  t.same(stopped && { code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, "exit code 0");
  t.notOk(existsSync(lockFile), "the lock is released");
  t.ok(server.messages().includes("shutting down"), "log: shutting down");
});

t.test("the CLI bootstraps an administrator into the stopped embedded database", async (t) => {
  const run = await cli(["bootstrap", "--email", "Admin@Example.com", "--json"]);
  t.equal(run.code, 0, "exit code 0", { stderr: run.stderr });
  t.match(run.stderr, /schema up to date/, "the CLI does not re-migrate either");
  const out = JSON.parse(run.stdout.trim() || "{}") as { email?: string; password?: string };
  t.equal(out.email, "admin@example.com", "prints the lower-cased email");
  t.type(out.password, "string", "and a password");
  if (out.email && out.password) admin = { email: out.email, password: out.password };
  t.notOk(existsSync(lockFile), "the CLI released the lock");
});

t.test("warm start: same DATA_DIR, no migration, data still there", async (t) => {
  if (!admin) return t.fail("bootstrap failed");
  const server = await startServer();
  timings.warmHealthMs = server.healthMs;
  t.ok(server.healthMs !== null, `GET /health 200 within ${HEALTH_DEADLINE_MS / 1000} s (took ${server.healthMs} ms)`, { stderr: server.stderr().slice(-2000) });
  if (server.healthMs === null) return void (await stopServer(server));

  const msgs = server.messages();
  t.ok(msgs.some((m) => /database: schema up to date/.test(m)), "log: schema up to date", { msgs });
  t.notOk(msgs.some((m) => /applied [1-9]\d* migration|Applying migration/i.test(m)), "log: no migration applied", { msgs });
  t.notOk(msgs.some((m) => /secrets: generated/.test(m)), "secrets reused from DATA_DIR");
  t.ok(msgs.some((m) => /database: embedded PGlite/.test(m)), "still the embedded database");

  // Platform staff must use MFA: the first sign-in enrols TOTP (codes from oathtool, as from an authenticator app).
  const first = await http(t, server, "POST", "/v1/auth/login", { body: { email: admin.email, password: admin.password } });
  t.equal(first.json?.status, "mfa_enrollment_required", "platform staff enrol MFA at their first sign-in");
  const mfaToken = first.json?.mfaToken as string;
  const begun = await http(t, server, "POST", "/v1/auth/mfa/enrol", { body: { mfaToken } });
  const login = await http(t, server, "POST", "/v1/auth/mfa/enrol/confirm", { body: { mfaToken, code: oathCode(begun.json?.secret as string) } });
  t.equal(login.status, 200, "the bootstrapped admin signs in over HTTP");
  t.equal(login.json?.session?.role, "owner", "as owner");
  t.equal(login.json?.session?.tenant?.kind, "platform", "of the platform tenant");
  const cookie = [login.headers.getSetCookie()].flat().find((c) => c.startsWith("conekt_session="))?.split(";")[0];
  t.ok(cookie, "a session cookie");
  if (!cookie || login.status !== 200) return void (await stopServer(server));
  session = { cookie, csrfToken: login.json.csrfToken as string };

  const created = await http(t, server, "POST", "/v1/tenants", {
    headers: { cookie, "x-csrf-token": session.csrfToken },
    body: { slug: createdSlug, legalName: "Persist GmbH", country: "DE", billingAddress: { line1: "Torstraße 1", postalCode: "10119", city: "Berlin", country: "DE" } },
  });
  t.equal(created.status, 201, "a tenant created through the API", { body: created.text });

  const stopped = await stopServer(server);
  t.same(stopped && { code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, "SIGTERM: exit code 0");
  t.notOk(existsSync(lockFile), "the lock is released");
});

t.test("third start: what the server wrote survives its shutdown", async (t) => {
  if (!session) return t.fail("the warm start failed");
  const server = await startServer();
  t.ok(server.healthMs !== null, `GET /health 200 (took ${server.healthMs} ms)`);
  if (server.healthMs === null) return void (await stopServer(server));
  t.notOk(server.messages().some((m) => /applied [1-9]\d* migration/.test(m)), "no migration applied");

  const me = await http(t, server, "GET", "/v1/me", { headers: { cookie: session.cookie } });
  t.equal(me.status, 200, "the session from the previous run is still valid (persisted secrets)");
  t.equal(me.json?.role, "owner", "still the owner");
  const list = await http(t, server, "GET", `/v1/tenants?q=${createdSlug}`, { headers: { cookie: session.cookie } });
  t.equal(list.status, 200, "GET /v1/tenants 200");
  t.same((list.json?.items ?? []).map((i: { slug: string }) => i.slug), [createdSlug], "the tenant created before the restart is there");

  const stopped = await stopServer(server);
  t.same(stopped && { code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, "SIGTERM: exit code 0");
  t.comment(`timings: ${JSON.stringify(timings)}`);
});
