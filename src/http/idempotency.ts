import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { principalId } from "../modules/access/principal.js";
import type { Keyring } from "../platform/crypto.js";
import type { Db } from "../platform/db/database.js";
import { ConflictError, UnprocessableError } from "../platform/errors.js";
import { createFingerprint, readIdempotencyKey, type Fingerprint } from "./idempotency-fingerprint.js";
import { PATH_MAX, REPLAYED_HEADERS, createIdempotencyStore, type IdempotencyScope, type PriorRequest, type StoredAnswer } from "./idempotency-store.js";

export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed";

/**
 * Session routes are left out although they are POSTs of a signed-in caller: their answers carry session
 * cookies, which must be neither stored nor replayed (a replayed logout would not end the new session).
 * Retrying them is safe without a key. The public sign-in routes are out anyway (no principal).
 */
const SESSION_ROUTES = /^\/v1\/(auth\/|me\/password$)/;

export interface IdempotencyOptions {
  prisma: Db;
  keyring: Keyring;
}

interface RequestState extends IdempotencyScope {
  fingerprint: Fingerprint;
  /** This request holds the key's in-progress row, and must complete or release it. */
  claimed: boolean;
  settled: boolean;
}

/**
 * Idempotency-Key on POST /v1/... from a signed-in user or an API key (ARCHITECTURE.md §3; openapi.yaml
 * `IdempotencyKey`). The first request with a key runs and its answer is stored for 24 hours; the same request
 * again (same method, URL and body bytes) gets that answer replayed with `Idempotent-Replayed: true` and the
 * handler does not run; the key with another request is 422 `idempotency_key_reused`; the same request while
 * the first is still running is 409 `idempotency_key_in_progress`.
 *
 * Hooks: preParsing validates the header and hashes the body as Fastify reads it; preHandler (after
 * authentication, validation and the rate limit) claims the key or answers from it; onSend stores the answer or
 * releases the key; onResponse releases a key whose answer never reached onSend.
 *
 * Which answers are kept: everything below 500 except 401, 403 and 429. Those are refusals before any effect
 * (authorization runs first in every service, and refuses by throwing inside the handler, so the key is already
 * claimed when they happen) and can change without the request changing: a role granted, a scope added, the
 * rate window passed. Replaying them would pin the refusal for 24 hours. A 5xx or a thrown error rolled its
 * transaction back: the key is released so the client's retry runs. Answers setting cookies or streamed
 * bodies cannot be replayed faithfully and also release the key.
 *
 * A process killed while a request holds a key leaves it in progress until it expires: rerunning it could
 * repeat an effect that was committed just before the crash, so the safe answer is 409.
 */
declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * false: the route ignores Idempotency-Key. For routes that read their body as a stream in the handler (the
     * fingerprint could not cover it before the key is claimed) and are idempotent by their own data, such as
     * usage ingestion (records are identified by their source id).
     */
    idempotency?: false;
  }
}

export const idempotencyPlugin = fp(
  async (app: FastifyInstance, opts: IdempotencyOptions) => {
    const store = createIdempotencyStore(opts);
    const states = new WeakMap<FastifyRequest, RequestState>();

    app.addHook("preParsing", async (request, _reply, payload) => {
      const principal = request.method === "POST" ? request.actor?.principal : null;
      const route = request.routeOptions.url ?? "";
      if (!principal || !route.startsWith("/v1/") || request.routeOptions.config.public || request.routeOptions.config.idempotency === false || SESSION_ROUTES.test(route)) return payload;
      const key = readIdempotencyKey(request.headers);
      if (key === undefined) return payload;
      const fingerprint = createFingerprint(request.method, request.url, request.headers["content-type"]);
      states.set(request, { tenantId: principal.tenantId, principalId: principalId(principal), key, fingerprint, claimed: false, settled: false });
      return fingerprint.wrap(payload);
    });

    app.addHook("preHandler", async (request, reply) => {
      const state = states.get(request);
      if (!state) return;
      const claim = await store.claim(state, { method: request.method, path: storedPath(request), requestHash: state.fingerprint.digest() });
      if (claim.claimed) {
        state.claimed = true;
        return;
      }
      const { prior } = claim;
      if (prior.requestHash !== state.fingerprint.digest()) throw reused(request, prior);
      if (!prior.answer) {
        throw new ConflictError("A request with this Idempotency-Key is still being processed; retry shortly to get its answer.", "idempotency_key_in_progress", { retryAfter: 1 });
      }
      request.log.info({ status: prior.answer.status }, "idempotency: answer replayed");
      return replay(reply, prior.answer);
    });

    app.addHook("onSend", async (request, reply, payload) => {
      const state = states.get(request);
      if (!state?.claimed || state.settled) return payload;
      state.settled = true;
      try {
        const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.isBuffer(payload) ? payload : payload == null ? Buffer.alloc(0) : null;
        if (body === null || !isKept(reply.statusCode) || reply.hasHeader("set-cookie")) await store.release(state);
        else await store.complete(state, { status: reply.statusCode, headers: replayedHeaders(reply), body });
      } catch (err) {
        // The answer still goes out. A key whose answer could not be stored stays in progress (409 until it
        // expires) rather than being released: the request may have had its effect, and a retry must not repeat it.
        request.log.error({ err }, "idempotency: could not store the answer or release the key");
      }
      return payload;
    });

    app.addHook("onResponse", async (request) => {
      const state = states.get(request);
      if (!state?.claimed || state.settled) return;
      state.settled = true;
      await store.release(state).catch((err: unknown) => request.log.error({ err }, "idempotency: could not release a key"));
    });
  },
  { name: "idempotency", dependencies: ["authentication", "problem"] },
);

/** The URL as sent, path and query, as far as the column holds it (the hash covers all of it). */
const storedPath = (request: FastifyRequest) => request.url.slice(0, PATH_MAX);

function isKept(status: number): boolean {
  return status < 500 && status !== 401 && status !== 403 && status !== 429;
}

function replayedHeaders(reply: FastifyReply): StoredAnswer["headers"] {
  const headers: StoredAnswer["headers"] = {};
  for (const name of REPLAYED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  return headers;
}

/** The stored bytes as they were sent: they matched the route's response schema then, so they still do. */
function replay(reply: FastifyReply, answer: StoredAnswer): FastifyReply {
  reply.code(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
  reply.header(IDEMPOTENT_REPLAYED_HEADER, "true");
  return reply.send(answer.body.length ? answer.body : undefined);
}

function reused(request: FastifyRequest, prior: PriorRequest): UnprocessableError {
  const sameTarget = prior.method === request.method && prior.path === storedPath(request);
  const detail = sameTarget
    ? "This Idempotency-Key was already used with another request body; use a new key for a new request."
    : `This Idempotency-Key was already used for ${prior.method} ${prior.path}; use a new key for a new request.`;
  return new UnprocessableError(detail, "idempotency_key_reused");
}
