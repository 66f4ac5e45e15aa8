import { randomBytes } from "node:crypto";
import pino from "pino";
import type { Test } from "tap";
import { buildApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config.js";
import type { App } from "../../src/http/route-types.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { openRuntime, type Runtime } from "../../src/runtime.js";
import { Client } from "./client.js";
import { createTestDatabase } from "./database.js";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface TestApp {
  app: App;
  prisma: PrismaClient;
  runtime: Runtime;
  config: Config;
  databaseUrl: string;
  redisPrefix: string;
  /** A new API client (no session yet). */
  client(): Client;
}

/**
 * The whole service against a fresh database of its own and its own Redis key prefix, torn down with the test.
 * Real PostgreSQL and Redis: nothing is mocked.
 */
/**
 * `startJobs`: run the job workers and schedules in this process (BullMQ on the test's Redis prefix), for tests
 * of asynchronous work (operations, webhooks, eSIM orders). Without it, enqueued jobs wait in Redis.
 */
export async function build(t: Test, env: Record<string, string> = {}, opts: { startJobs?: boolean } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const redisPrefix = `conekt-test-${database.name}`;
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: database.url,
    DATABASE_POOL_MAX: "4",
    REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: randomBytes(32).toString("base64url"),
    ENCRYPTION_KEYS: `t1:${randomBytes(32).toString("base64")}`,
    LOG_LEVEL: "silent",
    // Without startJobs no rollup runs, and ingestion's flow control would hold every request 5 s once the
    // journal is 2 s old; test/usage/flow-control.test.ts turns it on.
    USAGE_FLOW_CONTROL_MS: "0",
    ...env,
  });
  const runtime = await openRuntime(config, { work: true, log: () => undefined });
  const app = await buildApp({ config, db: runtime.db, jobs: runtime.jobs, secrets: runtime.secrets, connectors: runtime.connectors, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }), redis: runtime.redis });
  await app.ready();
  if (opts.startJobs) await runtime.jobs.start();
  t.teardown(async () => {
    await app.close();
    if (runtime.redis) await deleteKeys(runtime.redis, `{${redisPrefix}}*`);
    await runtime.close();
    await database.drop();
  });
  return { app, prisma: runtime.db.prisma, runtime, config, databaseUrl: database.url, redisPrefix, client: () => new Client(app) };
}

async function deleteKeys(redis: NonNullable<Runtime["redis"]>, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}
