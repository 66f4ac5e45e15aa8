import { Redis } from "ioredis";

/**
 * One ioredis connection. `maxRetriesPerRequest: null` is what BullMQ requires of connections it blocks on;
 * the same settings serve rate limits. Redis must run with `maxmemory-policy noeviction` (queue keys must
 * never be evicted): checked by `assertNoEviction` at start-up.
 */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

export async function assertNoEviction(redis: Redis, log: (msg: string) => void): Promise<void> {
  const reply = (await redis.config("GET", "maxmemory-policy").catch(() => null)) as string[] | null;
  const policy = reply?.[1];
  if (policy && policy !== "noeviction") {
    log(`redis: maxmemory-policy is "${policy}"; set it to "noeviction" or queued jobs may be lost`);
  }
}
