// The operator CLI (src/cli.ts) as operators run it: a child process against a real PostgreSQL database, its
// output parsed as a script would parse it, and its effects checked in the database and through the API.

import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import pino from "pino";
import t, { type Test } from "tap";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import type { App } from "../../src/http/route-types.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { validateIccid } from "../../src/platform/identifiers.js";
import { openRuntime, type Runtime } from "../../src/runtime.js";
import { Client } from "../helpers/client.js";
import { runCli, type Run } from "../helpers/cli.js";
import { createTestDatabase } from "../helpers/database.js";

const ROLES = ["owner", "admin", "operator", "billing", "viewer"];

/** Scratch DATA_DIR: with DATABASE_URL set the CLI must never open the embedded database (checked at the end). */
const dataDir = mkdtempSync(join(tmpdir(), "conekt-cli-test-"));

/** The CLI with only DATABASE_URL and a scratch DATA_DIR: no REDIS_URL, nothing inherited from tap. */
function cli(databaseUrl: string, args: string[], timeoutMs = 180_000): Promise<Run> {
  return runCli(args, { DATABASE_URL: databaseUrl, DATA_DIR: dataDir }, timeoutMs);
}

/** stdout must be exactly one line holding one JSON object (progress goes to stderr). */
function parseJsonOutput(t: Test, run: Run): Record<string, any> {
  const lines = run.stdout.split("\n").filter((l) => l.trim() !== "");
  t.equal(lines.length, 1, "stdout is exactly one line", { stdout: run.stdout, stderr: run.stderr });
  let parsed: unknown;
  try {
    parsed = JSON.parse(lines[0] ?? "");
  } catch {
    parsed = undefined;
  }
  t.ok(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), "stdout is a JSON object", { stdout: run.stdout });
  return (parsed ?? {}) as Record<string, any>;
}

/** The app on an existing database (test/helpers/build.ts always makes a fresh one), without Redis. */
async function openApp(databaseUrl: string): Promise<{ app: App; runtime: Runtime; prisma: PrismaClient }> {
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_MAX: "4",
    JWT_SECRET: randomBytes(32).toString("base64url"),
    ENCRYPTION_KEYS: `t1:${randomBytes(32).toString("base64")}`,
    LOG_LEVEL: "silent",
    // This file signs in a dozen demo users from one address; the per-IP sign-in limit is tested elsewhere.
    RATE_LIMIT_AUTH_PER_MINUTE: "100000",
  });
  const runtime = await openRuntime(config, { work: true, log: () => undefined });
  const app = await buildApp({ config, db: runtime.db, jobs: runtime.jobs, secrets: runtime.secrets, connectors: runtime.connectors, logger: pino({ level: "silent" }) });
  await app.ready();
  return { app, runtime, prisma: runtime.db.prisma };
}

const db = await createTestDatabase();
const { app, runtime, prisma } = await openApp(db.url);
t.teardown(async () => {
  await app.close();
  await runtime.close();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Signs in through the API and returns /v1/me (or the failed login reply's status). */
async function signIn(email: string, password: string): Promise<{ loginStatus: number; me?: any }> {
  const client = new Client(app);
  const login = await client.login(email, password, undefined, { enrolMfa: true });
  if (login.status !== 200) return { loginStatus: login.status };
  const me = await client.get("/v1/me");
  return { loginStatus: login.status, me: me.status === 200 ? me.json : { status: me.status } };
}

let admin: { email: string; password: string } | undefined;

t.test("bootstrap --json creates the first platform owner and prints its one-time password", async (t) => {
  const run = await cli(db.url, ["bootstrap", "--email", "Admin@Example.com", "--json"]);
  t.equal(run.code, 0, "exit code 0", { stderr: run.stderr });
  const out = parseJsonOutput(t, run);
  t.same(Object.keys(out).sort(), ["email", "password"], "exactly {email, password}");
  t.equal(out.email, "admin@example.com", "email lower-cased");
  t.type(out.password, "string");
  t.ok(typeof out.password === "string" && out.password.length >= 20, `password has at least 20 characters (${String(out.password).length})`);
  admin = { email: out.email, password: out.password };

  await t.test("a second fresh database gets a different password (no fixed default)", async (t) => {
    const other = await createTestDatabase();
    try {
      const run2 = await cli(other.url, ["bootstrap", "--email", "Admin@Example.com", "--json"]);
      t.equal(run2.code, 0, "exit code 0", { stderr: run2.stderr });
      const out2 = parseJsonOutput(t, run2);
      t.equal(out2.email, "admin@example.com");
      t.type(out2.password, "string");
      t.not(out2.password, out.password, "passwords differ");
    } finally {
      await other.drop();
    }
  });

  await t.test("the password signs in; the session is the platform owner", async (t) => {
    const { loginStatus, me } = await signIn("admin@example.com", out.password);
    t.equal(loginStatus, 200, "login 200");
    t.equal(me?.role, "owner", "role owner");
    t.equal(me?.tenant?.kind, "platform", "tenant kind platform");
    t.equal(me?.user?.email, "admin@example.com");
    t.equal((await signIn("admin@example.com", `${out.password}x`)).loginStatus, 401, "a wrong password is refused");
  });
});

t.test("a second bootstrap refuses (already_bootstrapped) and creates no user", async (t) => {
  const usersBefore = await prisma.user.count();
  const membershipsBefore = await prisma.membership.count();
  t.equal(usersBefore, 1, "the first bootstrap made one user");
  const run = await cli(db.url, ["bootstrap", "--email", "second@example.com", "--json"]);
  t.not(run.code, 0, "non-zero exit");
  t.notOk(run.code === null, "exited by itself, not by a signal");
  t.match(run.stderr, /already_bootstrapped/, "says already_bootstrapped");
  t.equal(run.stdout.trim(), "", "prints no credentials");
  t.equal(await prisma.user.count(), usersBefore, "no user created");
  t.equal(await prisma.membership.count(), membershipsBefore, "no membership created");
  t.equal(await prisma.user.count({ where: { email: "second@example.com" } }), 0);
  if (admin) t.equal((await signIn(admin.email, admin.password)).loginStatus, 200, "the first admin's password still works");
});

t.test("bootstrap without --email exits non-zero with a usage message", async (t) => {
  const usersBefore = await prisma.user.count();
  const run = await cli(db.url, ["bootstrap", "--json"]);
  t.not(run.code, 0, "non-zero exit");
  t.notOk(run.code === null, "exited by itself");
  t.match(run.stderr, /bootstrap needs --email/, "says what is missing");
  t.equal(run.stdout.trim(), "", "nothing on stdout");

  const bad = await cli(db.url, ["bootstrap", "--email", "not-an-address"]);
  t.not(bad.code, 0, "an invalid address is refused too");
  t.match(bad.stderr, /--email/);
  t.equal(await prisma.user.count(), usersBefore, "no user created");
});

interface DemoOut {
  tenantId: string;
  slug: string;
  users: Array<{ email: string; password: string; role: string }>;
  sims: number;
  esims: number;
  usageRecords: number;
}

async function tenantCounts(tenantId: string) {
  const [sims, esims, usageRecords, usageDaily, memberships] = await Promise.all([
    prisma.sim.count({ where: { tenantId } }),
    prisma.sim.count({ where: { tenantId, eid: { not: null } } }),
    prisma.usageRecord.count({ where: { tenantId } }),
    prisma.usageDaily.count({ where: { tenantId } }),
    prisma.membership.count({ where: { tenantId } }),
  ]);
  return { sims, esims, usageRecords, usageDaily, memberships };
}

/** Every printed user signs in with the printed password, into the printed tenant, with the printed role. */
async function checkUsersSignIn(t: Test, demo: DemoOut) {
  for (const u of demo.users) {
    const { loginStatus, me } = await signIn(u.email, u.password);
    t.equal(loginStatus, 200, `${u.role} ${u.email} signs in`);
    t.same(
      { role: me?.role, tenantId: me?.tenant?.id, kind: me?.tenant?.kind, email: me?.user?.email },
      { role: u.role, tenantId: demo.tenantId, kind: "customer", email: u.email },
      `${u.email} is ${u.role} of the demo tenant`,
    );
  }
}

function checkDemoShape(t: Test, out: Record<string, any>, slug: string): DemoOut {
  t.match(out.tenantId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "tenantId is a UUID");
  t.equal(out.slug, slug);
  t.equal(out.sims, 1000, "sims: 1000");
  t.ok(Array.isArray(out.users), "users is an array");
  const users = (Array.isArray(out.users) ? out.users : []) as DemoOut["users"];
  t.equal(users.length, 5, "5 users");
  t.same(users.map((u) => u.role).sort(), [...ROLES].sort(), "one per role");
  for (const u of users) {
    t.same(Object.keys(u).sort(), ["email", "password", "role"], `${u.role}: {email, password, role}`);
    t.match(u.email, /^[^\s@]+@[^\s@]+\.[^\s@]+$/, `${u.role}: an email address`);
    t.ok(typeof u.password === "string" && u.password.length >= 20, `${u.role}: a long password`);
  }
  t.equal(new Set(users.map((u) => u.email)).size, 5, "distinct emails");
  t.equal(new Set(users.map((u) => u.password)).size, 5, "distinct passwords");
  return out as DemoOut;
}

let demo: DemoOut | undefined;

t.test("demo --json seeds a customer: 5 users, 1,000 SIMs, 30 days of usage", async (t) => {
  const run = await cli(db.url, ["demo", "--json"]);
  t.equal(run.code, 0, "exit code 0", { stderr: run.stderr });
  const out = checkDemoShape(t, parseJsonOutput(t, run), "demo");
  demo = out;

  const tenant = await prisma.tenant.findUnique({ where: { id: out.tenantId } });
  t.equal(tenant?.slug, "demo", "the tenant exists with slug demo");
  t.equal(tenant?.kind, "customer", "a customer tenant");

  const counts = await tenantCounts(out.tenantId);
  t.equal(counts.sims, 1000, "1,000 SIMs in the database");
  t.equal(counts.memberships, 5, "5 members");
  t.ok(counts.esims > 0 && counts.esims < 1000, `some SIMs have an EID (${counts.esims})`);
  t.equal(out.esims, counts.esims, "printed esims match the database");
  t.ok(counts.usageRecords > 0, `usage records (${counts.usageRecords})`);
  t.equal(out.usageRecords, counts.usageRecords, "printed usageRecords match the database");

  const sims = await prisma.sim.findMany({ where: { tenantId: out.tenantId }, select: { iccid: true } });
  const invalid = sims.filter((s) => {
    const r = validateIccid(s.iccid);
    return !r.ok || r.value !== s.iccid;
  });
  t.same(invalid.map((s) => s.iccid), [], "every ICCID is valid");

  const days = await prisma.usageDaily.findMany({ where: { tenantId: out.tenantId }, distinct: ["day"], select: { day: true }, orderBy: { day: "asc" } });
  t.ok(days.length >= 29, `usage_daily spans ${days.length} distinct days (>= 29)`);
  t.ok(days.length <= 31, `no more than about 30 days (${days.length})`);
  const last = days.at(-1)?.day.getTime() ?? 0;
  t.ok(Date.now() - last < 3 * 86_400_000, `the history ends about today (${days.at(-1)?.day.toISOString()})`);

  await checkUsersSignIn(t, out);
});

t.test("demo --json again: nothing duplicated, fresh passwords that work", async (t) => {
  if (!demo) return t.fail("the first demo run failed");
  const first = demo;
  const before = await tenantCounts(first.tenantId);
  const usersBefore = await prisma.user.count();
  const tenantsBefore = await prisma.tenant.count();

  const run = await cli(db.url, ["demo", "--json"]);
  t.equal(run.code, 0, "exit code 0", { stderr: run.stderr });
  const out = checkDemoShape(t, parseJsonOutput(t, run), "demo");
  t.equal(out.tenantId, first.tenantId, "same tenant");
  t.same(await tenantCounts(first.tenantId), before, "SIM, usage and membership counts identical");
  t.equal(before.memberships, 5, "still 5 members");
  t.equal(await prisma.user.count(), usersBefore, "no new users");
  t.equal(await prisma.tenant.count(), tenantsBefore, "no new tenant");

  const byRole = new Map(first.users.map((u) => [u.role, u]));
  for (const u of out.users) {
    t.equal(u.email, byRole.get(u.role)?.email, `${u.role}: same account`);
    t.not(u.password, byRole.get(u.role)?.password, `${u.role}: a fresh password`);
  }
  await checkUsersSignIn(t, out);
  const old = first.users[0]!;
  t.equal((await signIn(old.email, old.password)).loginStatus, 401, "the previous run's password no longer works");
});

t.test("demo --tenant acme-iot --json creates a separate tenant with its own 1,000 SIMs", async (t) => {
  if (!demo) return t.fail("the first demo run failed");
  const run = await cli(db.url, ["demo", "--tenant", "acme-iot", "--json"]);
  t.equal(run.code, 0, "exit code 0", { stderr: run.stderr });
  const out = checkDemoShape(t, parseJsonOutput(t, run), "acme-iot");
  t.not(out.tenantId, demo.tenantId, "another tenant");
  t.ok(out.users.every((u) => !demo!.users.some((d) => d.email === u.email)), "its own users");

  const counts = await tenantCounts(out.tenantId);
  t.equal(counts.sims, 1000, "1,000 SIMs of its own");
  t.equal(counts.memberships, 5, "5 members");
  t.equal((await tenantCounts(demo.tenantId)).sims, 1000, "the first tenant still has its 1,000");

  const [mine, theirs] = await Promise.all([
    prisma.sim.findMany({ where: { tenantId: out.tenantId }, select: { iccid: true } }),
    prisma.sim.findMany({ where: { tenantId: demo.tenantId }, select: { iccid: true } }),
  ]);
  const theirSet = new Set(theirs.map((s) => s.iccid));
  t.same(mine.filter((s) => theirSet.has(s.iccid)).map((s) => s.iccid), [], "no ICCID shared with the demo tenant");
  t.same(mine.filter((s) => !validateIccid(s.iccid).ok).map((s) => s.iccid), [], "ICCIDs valid");
  await checkUsersSignIn(t, out);
});

t.test("demo never seeds a tenant it did not create (no accounts handed out for real tenants)", async (t) => {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  t.teardown(() => client.end());
  const before = await client.query("SELECT count(*)::int AS n FROM enterprise.memberships");
  const platform = await cli(db.url, ["demo", "--tenant", "platform", "--json"]);
  t.not(platform.code, 0, "the platform tenant is refused");
  t.match(platform.stderr, /not_a_demo_tenant/);
  t.equal(platform.stdout, "", "no credentials printed");
  const after = await client.query("SELECT count(*)::int AS n FROM enterprise.memberships");
  t.equal(after.rows[0].n, before.rows[0].n, "no membership added");

  const badOption = await cli(db.url, ["demo", "--tenant"]);
  t.equal(badOption.code, 1);
  t.match(badOption.stderr, /Usage:/, "a malformed option prints usage, not a stack trace");
  t.notMatch(badOption.stderr, /\n\s+at /);
});

t.test("an unknown command exits 1 and prints usage", async (t) => {
  const run = await cli(db.url, ["frobnicate"]);
  t.equal(run.code, 1, "exit code 1");
  t.match(run.stderr, /Unknown command "frobnicate"/, "names the command");
  t.match(run.stderr, /Usage:/, "prints usage");
  t.match(run.stderr, /bootstrap --email/, "usage lists bootstrap");
  t.match(run.stderr, /demo \[--tenant/, "usage lists demo");

  const none = await cli(db.url, []);
  t.equal(none.code, 1, "no command: exit code 1");
  t.match(none.stdout, /Usage:/, "no command: prints usage");
});

t.test("with DATABASE_URL the embedded database is never opened", async (t) => {
  t.same(readdirSync(dataDir), [], "DATA_DIR untouched");
});
