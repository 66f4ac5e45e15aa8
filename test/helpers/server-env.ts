import { randomBytes } from "node:crypto";

/**
 * The environment of a real server process (a child process of a benchmark or a crash test) on a database and
 * Redis prefix of its own: production mode, fresh secrets, quiet logs, and rate limits raised out of the way of
 * the load (the limiter still runs: its Redis counters are part of every request's cost).
 */
export function productionServerEnv(opts: { databaseUrl: string; redisUrl: string; redisPrefix: string; dataDir: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "production",
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: opts.redisUrl,
    REDIS_PREFIX: opts.redisPrefix,
    LOG_LEVEL: "warn",
    JWT_SECRET: randomBytes(36).toString("base64url"),
    ENCRYPTION_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    DATA_DIR: opts.dataDir,
    RATE_LIMIT_AUTH_PER_MINUTE: "100000",
    RATE_LIMIT_API_PER_MINUTE: "1000000",
    ...extra,
  };
}
