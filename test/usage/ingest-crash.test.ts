// Acceptance (issue 5): killing the API process (SIGKILL) while clients ingest loses no acknowledged usage record
// and stores none twice. The real server (src/server.ts) runs as a child process on PostgreSQL + Redis, the
// rollup running in it as deployed. Four clients post distinct batches over HTTP, each batch retried until it is
// answered 200: a connection error or a 5xx leaves the outcome unknown (the records may or may not have been
// committed), so the client sends the same batch again, as a mediation feed does. Part-way through, the server
// is SIGKILLed with requests in flight and started again on the same database and port; the clients carry on.
// Then: every record of every batch is stored exactly once with the values sent, the answers add up, and once
// the rollup has drained its journal, usage_daily and usage_hourly hold exactly the raw records' totals.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import t from "tap";
import { issueApiKey } from "../../src/modules/api-keys/api-keys.repository.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { openDatabase } from "../../src/platform/db/database.js";
import { createTestDatabase } from "../helpers/database.js";
import { createTenant } from "../helpers/factories.js";
import { freePort } from "../helpers/net.js";
import { seedSims } from "../operations/helpers.js";
import { productionServerEnv } from "../helpers/server-env.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const CLIENTS = 4;
const BATCHES_PER_CLIENT = 25;
const RECORDS_PER_BATCH = 500;
/** The kill comes once this many batches (of 100) are acknowledged. */
const KILL_AFTER_ACKED = 30;
const HEALTH_DEADLINE_MS = 30_000;
const CLIENTS_DEADLINE_MS = 60_000;
const DRAIN_DEADLINE_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const workDir = mkdtempSync(join(tmpdir(), "conekt-ingest-crash-"));
const children = new Set<ChildProcess>();
t.teardown(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(workDir, { recursive: true, force: true });
});

interface Server {
  child: ChildProcess;
  exited: Promise<void>;
  output(): string;
}

/** `node --import tsx src/server.ts` with only the environment given; resolves once GET /health answers 200. */
async function startServer(env: Record<string, string>, base: string): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? workDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  const keep = (d: string) => void (out = (out + d).slice(-20_000));
  child.stdout!.setEncoding("utf8").on("data", keep);
  child.stderr!.setEncoding("utf8").on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const started = Date.now();
  while (!gone && Date.now() - started < HEALTH_DEADLINE_MS) {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    if (res?.status === 200) return { child, exited, output: () => out };
    await res?.text().catch(() => undefined);
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new Error(`the server did not answer GET /health within ${HEALTH_DEADLINE_MS} ms:\n${out.slice(-3000)}`);
}

interface Batch {
  client: number;
  body: string;
  sourceIds: string[];
}

interface Answer {
  accepted: number;
  duplicates: number;
  rejected: number;
  rejections: unknown[];
}

t.test("SIGKILL during ingestion: no acknowledged record lost, none stored twice, rollups exact", async (t) => {
  const database = await createTestDatabase();
  const redisPrefix = `conekt-test-${database.name}`;
  t.teardown(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `{${redisPrefix}}*`, "COUNT", 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    redis.disconnect();
    await database.drop();
  });

  // Two customer tenants with 300 SIMs each, and the platform's mediation-feed key.
  const db = await openDatabase({ url: database.url, poolMax: 2, dataDir: workDir, migrateOnStart: false, log: () => undefined });
  const platform = await createTenant(db.prisma, { kind: "platform" });
  const sims: Array<{ id: string; iccid: string; imsi: string; tenantId: string }> = [];
  for (let i = 0; i < 2; i++) {
    const tenant = await createTenant(db.prisma);
    for (const sim of await seedSims(db.prisma, { tenantId: tenant.id, count: 300 })) sims.push({ ...sim, tenantId: tenant.id });
  }
  const { key } = await db.prisma.$transaction((tx) => issueApiKey(tx, systemActor("test"), { tenantId: platform.id, name: "mediation feed", scopes: ["usage:write"], expiresAt: null, createdById: null }));
  await db.close();

  // Distinct batches; per tenant, what the records add up to. Mostly the last two days, some a week late.
  const expected = new Map<string, { n: number; up: bigint; down: bigint; mo: number; mt: number }>();
  const now = Date.now();
  const batches: Batch[][] = Array.from({ length: CLIENTS }, (_, c) =>
    Array.from({ length: BATCHES_PER_CLIENT }, (_, b) => {
      const sourceIds: string[] = [];
      const records = Array.from({ length: RECORDS_PER_BATCH }, (_, r) => {
        const sim = sims[(c * 7919 + b * 104_729 + r * 31) % sims.length]!;
        const late = r % 50 === 0;
        const startedAt = now - (late ? 7 * 86_400_000 : 0) - ((c * 1_000_003 + b * 7_001 + r * 997) % (2 * 86_400_000 - 3_600_000)) - 3_600_000;
        const record = {
          sourceId: `crash-c${c}-b${b}-r${r}`,
          ...(r % 10 === 0 ? { imsi: sim.imsi } : { iccid: sim.iccid }),
          startedAt: new Date(startedAt).toISOString(),
          endedAt: new Date(startedAt + 60_000 + r * 1000).toISOString(),
          bytesUp: 1_000 + ((b * 131 + r * 17) % 100_000),
          bytesDown: 5_000 + ((c * 977 + r * 263) % 9_000_000),
          smsMo: r % 7 === 0 ? 1 : 0,
          smsMt: r % 11 === 0 ? 2 : 0,
          network: "262-01",
          radio: "4g",
        };
        sourceIds.push(record.sourceId);
        const sum = expected.get(sim.tenantId) ?? { n: 0, up: 0n, down: 0n, mo: 0, mt: 0 };
        sum.n++;
        sum.up += BigInt(record.bytesUp);
        sum.down += BigInt(record.bytesDown);
        sum.mo += record.smsMo;
        sum.mt += record.smsMt;
        expected.set(sim.tenantId, sum);
        return record;
      });
      return { client: c, body: JSON.stringify(records), sourceIds };
    }),
  );
  const total = CLIENTS * BATCHES_PER_CLIENT * RECORDS_PER_BATCH;

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = productionServerEnv({ databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix, dataDir: workDir }, { HOST: "127.0.0.1", PORT: String(port) });
  let server = await startServer(env, base);

  // The clients: each batch until a 200. Anything but a 200, a 5xx or a connection error is a failure.
  const answers: Array<{ batch: Batch; answer: Answer; attempts: number }> = [];
  const failures: string[] = [];
  let inFlight = 0;
  let unknownOutcomes = 0;
  let stop = false;
  const clientsStarted = Date.now();
  const client = async (c: number) => {
    for (const batch of batches[c]!) {
      for (let attempt = 1; !stop; attempt++) {
        if (Date.now() - clientsStarted > CLIENTS_DEADLINE_MS) return void failures.push(`client ${c}: deadline passed`);
        let status = 0;
        let text = "";
        inFlight++;
        try {
          const res = await fetch(`${base}/v1/usage/records`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: batch.body,
            signal: AbortSignal.timeout(20_000),
          });
          status = res.status;
          text = await res.text();
        } catch {
          status = 0; // connection refused or reset, or a cut-off answer: outcome unknown
        } finally {
          inFlight--;
        }
        if (status === 200) {
          answers.push({ batch, answer: JSON.parse(text) as Answer, attempts: attempt });
          break;
        }
        if (status === 0 || status >= 500) {
          unknownOutcomes++;
          await sleep(50);
          continue;
        }
        return void failures.push(`client ${c}: HTTP ${status}: ${text.slice(0, 300)}`);
      }
    }
  };
  const clients = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

  while (answers.length < KILL_AFTER_ACKED && failures.length === 0 && Date.now() - clientsStarted < CLIENTS_DEADLINE_MS) await sleep(5);
  const inFlightAtKill = inFlight;
  const ackedBeforeKill = answers.length;
  server.child.kill("SIGKILL");
  await server.exited;
  t.equal(server.child.signalCode, "SIGKILL", `the server was killed after ${ackedBeforeKill} acknowledged batches, with ${inFlightAtKill} requests in flight`);
  t.ok(ackedBeforeKill >= KILL_AFTER_ACKED && ackedBeforeKill < CLIENTS * BATCHES_PER_CLIENT, "part-way through the batches");
  t.ok(inFlightAtKill >= 1, "with requests in flight");

  server = await startServer(env, base);
  t.pass("restarted on the same database");
  await clients;
  stop = true;
  t.same(failures, [], "no client saw anything but a 200, a 5xx or a connection error", { output: server.output().slice(-3000) });
  t.equal(answers.length, CLIENTS * BATCHES_PER_CLIENT, "every batch was eventually acknowledged");
  t.ok(answers.length - ackedBeforeKill > 0, "batches were acknowledged after the restart too");
  t.ok(unknownOutcomes >= 1, `the kill cut requests off (${unknownOutcomes} unknown outcomes, retried)`);

  const bad = answers.filter(({ answer }) => answer.rejected !== 0 || answer.accepted + answer.duplicates !== RECORDS_PER_BATCH);
  t.same(bad.map((b) => b.answer), [], "every answer accounts for its whole batch, none rejected");
  const firstTry = answers.filter((a) => a.attempts === 1);
  t.ok(firstTry.every((a) => a.answer.accepted === RECORDS_PER_BATCH), "a batch answered at its first attempt was accepted whole");
  const accepted = answers.reduce((s, a) => s + a.answer.accepted, 0);
  const duplicates = answers.reduce((s, a) => s + a.answer.duplicates, 0);
  t.equal(accepted + duplicates, total, "accepted + duplicates over the final answers = the records sent");
  // Duplicates can only come from a retried batch whose earlier attempt committed before its answer was lost.
  t.ok(answers.filter((a) => a.answer.duplicates > 0).every((a) => a.attempts > 1), "duplicates only in retried batches");
  t.comment(`${accepted} records accepted by answered requests, ${duplicates} committed by requests whose answer the kill cut off`);

  const check = new pg.Client({ connectionString: database.url });
  check.on("error", () => undefined); // the database's drop at teardown ends this connection
  await check.connect();
  t.teardown(() => check.end());
  const allIds = answers.flatMap((a) => a.batch.sourceIds);
  const [stored] = (
    await check.query<{ rows: number; distinct_ids: number; ours: number }>(
      `SELECT count(*)::int AS rows, count(DISTINCT source_id)::int AS distinct_ids,
              count(*) FILTER (WHERE source_id = ANY($1::text[]))::int AS ours
       FROM connectivity.usage_records`,
      [allIds],
    )
  ).rows;
  t.same(stored, { rows: total, distinct_ids: total, ours: total }, `usage_records holds each of the ${total} acknowledged records exactly once (counted by sourceId), and nothing else`);

  const perTenant = async (table: string, count: string) =>
    new Map(
      (
        await check.query<{ tenant: string; n: string; up: string; down: string; mo: string; mt: string }>(
          `SELECT tenant_id::text AS tenant, ${count}::text AS n, sum(bytes_up)::text AS up, sum(bytes_down)::text AS down, sum(sms_mo)::text AS mo, sum(sms_mt)::text AS mt
           FROM connectivity.${table} GROUP BY tenant_id`,
        )
      ).rows.map((r) => [r.tenant, { n: r.n, up: r.up, down: r.down, mo: r.mo, mt: r.mt }]),
    );
  const sent = new Map([...expected].map(([tenant, s]) => [tenant, { n: String(s.n), up: String(s.up), down: String(s.down), mo: String(s.mo), mt: String(s.mt) }]));
  t.same(Object.fromEntries(await perTenant("usage_records", "count(*)")), Object.fromEntries(sent), "the stored records carry exactly the values sent (per tenant: records, bytes, SMS)");

  // The rollup drains the journal (the schedule's backstop covers a rollup enqueue lost in the kill).
  const drainStarted = Date.now();
  let journal = -1;
  while (Date.now() - drainStarted < DRAIN_DEADLINE_MS) {
    journal = (await check.query<{ n: number }>("SELECT count(*)::int AS n FROM connectivity.usage_rollup_journal")).rows[0]!.n;
    if (journal === 0) break;
    await sleep(200);
  }
  t.equal(journal, 0, `the rollup journal drained (${Date.now() - drainStarted} ms after the clients finished)`);
  t.same(Object.fromEntries(await perTenant("usage_daily", "sum(records)")), Object.fromEntries(sent), "usage_daily sums = usage_records sums, per tenant");
  t.same(Object.fromEntries(await perTenant("usage_hourly", "sum(records)")), Object.fromEntries(sent), "usage_hourly sums = usage_records sums, per tenant");

  server.child.kill("SIGTERM");
  await Promise.race([server.exited, sleep(10_000)]);
});
