import rateLimit, { normalizeIP } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Redis } from "ioredis";
import { RateLimitedError } from "../platform/errors.js";

export interface RateLimitOptions {
  /** Shared counters across API processes; without it each process counts in memory. */
  redis?: Redis;
  /** The deployment's REDIS_PREFIX: every counter key starts with `{prefix}:`. */
  redisPrefix: string;
  authPerMinute: number;
  apiPerMinute: number;
}

/** Routes that take credentials instead of a session: limited per client IP, tightly, against guessing. */
const AUTH_ROUTES = /^\/v1\/(auth\/|invitations\/accept$)/;
const WINDOW_MS = 60_000;

/**
 * The counter a request is charged to:
 * - `auth:<ip>` on the authentication routes, whoever calls (a guesser has no principal to key by);
 * - `user:<id>` or `key:<id>` for a signed-in user or an API key, across their IPs and sessions;
 * - `ip:<ip>` for anything else without a principal.
 * IPv6 addresses count per /64, the block one subscriber usually holds.
 */
export function rateLimitKey(request: FastifyRequest): string {
  const ip = normalizeIP(request.ip, 64);
  if (AUTH_ROUTES.test(request.routeOptions.url ?? "")) return `auth:${ip}`;
  const principal = request.actor?.principal;
  if (principal?.kind === "user") return `user:${principal.userId}`;
  if (principal?.kind === "api_key") return `key:${principal.keyId}`;
  return `ip:${ip}`;
}

/**
 * Rate limits on every /v1 route (probes and the spec are exempt, so a load balancer is never refused), with
 * x-ratelimit-limit / -remaining / -reset on every limited response and problem+json 429s with Retry-After.
 *
 * Order: the limiter keys by principal, so it must run after authentication. @fastify/rate-limit adds its
 * onRequest hook to each route (route-level), and Fastify runs route-level hooks after the instance-level ones,
 * such as the authentication plugin's, so `request.actor` is set when `rateLimitKey` runs. A request refused by
 * authentication (401/403) is answered before it is counted and so carries no rate-limit headers.
 *
 * With Redis the limiter gets its own connection that gives up quickly: the shared one retries forever (as
 * BullMQ requires), which would hang every request while Redis is away. If Redis fails, requests pass
 * unlimited (fail open; connection errors are logged): an outage of the counter store must not take the API down.
 */
export const rateLimitPlugin = fp(
  async (app: FastifyInstance, opts: RateLimitOptions) => {
    let redis: Redis | undefined;
    if (opts.redis) {
      const conn = opts.redis.duplicate({ maxRetriesPerRequest: 1, commandTimeout: 1_000 });
      conn.on("error", (err: Error) => app.log.warn({ err }, "rate limits: Redis error; requests pass unlimited until it recovers"));
      app.addHook("onClose", async () => void (await conn.quit().catch(() => undefined)));
      redis = conn;
    }

    await app.register(rateLimit, {
      global: true,
      hook: "onRequest",
      timeWindow: WINDOW_MS,
      max: (_request, key) => (key.startsWith("auth:") ? opts.authPerMinute : opts.apiPerMinute),
      keyGenerator: rateLimitKey,
      allowList: (request) => !(request.routeOptions.url ?? "").startsWith("/v1/"),
      ...(redis ? { redis, nameSpace: `{${opts.redisPrefix}}:rate-limit:` } : { cache: 10_000 }),
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000)), `At most ${context.max} requests per minute; retry in ${context.after}.`),
    });
  },
  { name: "rate-limit", dependencies: ["authentication", "problem"] },
);
