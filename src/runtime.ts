import type { Redis } from "ioredis";
import { createProcessors } from "../jobs/processors.js";
import type { Config } from "./config.js";
import { createConnectors, type Connectors } from "./connectors/connectors.js";
import { createKeyring } from "./platform/crypto.js";
import { openDatabase, type Database } from "./platform/db/database.js";
import { createBullmqRunner } from "./platform/jobs/bullmq-runner.js";
import { createInProcessRunner } from "./platform/jobs/in-process-runner.js";
import type { JobRunner } from "./platform/jobs/job-runner.js";
import { assertNoEviction, createRedis } from "./platform/redis.js";
import { resolveSecrets, type Secrets } from "./platform/secrets.js";

export interface Runtime {
  db: Database;
  redis?: Redis;
  jobs: JobRunner;
  secrets: Secrets;
  connectors: Connectors;
  close(): Promise<void>;
}

/**
 * Opens what a process needs: the database (PostgreSQL, or embedded PGlite), Redis when configured, and the
 * job runner (BullMQ workers when `work`, else enqueue-only; in-process processors without Redis).
 */
export async function openRuntime(config: Config, opts: { work: boolean; log: (msg: string) => void }): Promise<Runtime> {
  const { log } = opts;
  const secrets = await resolveSecrets(config, log);
  const db = await openDatabase({ url: config.database.url, poolMax: config.database.poolMax, dataDir: config.dataDir, migrateOnStart: config.database.migrateOnStart, log });
  log(db.kind === "pglite" ? `database: embedded PGlite in ${config.dataDir}/pgdata (set DATABASE_URL for PostgreSQL)` : "database: PostgreSQL via @prisma/adapter-pg");

  const connectors = createConnectors(config, log);
  let redis: Redis | undefined;
  let jobs: JobRunner;
  const processors = createProcessors({ prisma: db.prisma, sql: db.sql, config, keyring: createKeyring(secrets.encryptionKeys), connectors, jobs: () => jobs });
  if (config.redis.url) {
    redis = createRedis(config.redis.url);
    await assertNoEviction(redis, log);
    jobs = createBullmqRunner({ redis, prefix: config.redis.prefix, processors, work: opts.work, log });
    log(`jobs: BullMQ on Redis (prefix {${config.redis.prefix}})${opts.work ? ", processing in this process" : ", enqueue only"}`);
  } else {
    jobs = createInProcessRunner(processors, log);
    log("jobs: no REDIS_URL, so job processors run in-process (not durable across restarts)");
  }

  return {
    db,
    redis,
    jobs,
    secrets,
    connectors,
    async close() {
      await jobs.close();
      await redis?.quit().catch(() => undefined);
      await db.close();
    },
  };
}
