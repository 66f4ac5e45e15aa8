import { randomUUID } from "node:crypto";
import cookie from "@fastify/cookie";
import helmet from "@fastify/helmet";
import jwt from "@fastify/jwt";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger } from "fastify";
import type { Config } from "./config.js";
import { JWT_AUDIENCE, JWT_ISSUER, authenticationPlugin } from "./http/authentication.js";
import { stringifyJson } from "./http/json.js";
import { problemPlugin } from "./http/problem.js";
import { openapiRoutes } from "./http/openapi.routes.js";
import type { App } from "./http/route-types.js";
import { healthRoutes } from "./modules/health/health.routes.js";
import { identityRoutes } from "./modules/identity/identity.routes.js";
import { createIdentityService } from "./modules/identity/identity.service.js";
import { tenantsRoutes } from "./modules/tenants/tenants.routes.js";
import { createTenantsService } from "./modules/tenants/tenants.service.js";
import type { Database } from "./platform/db/database.js";
import type { JobRunner } from "./platform/jobs/job-runner.js";
import type { Secrets } from "./platform/secrets.js";

export interface AppDeps {
  config: Config;
  db: Database;
  jobs: JobRunner;
  secrets: Secrets;
  /** A pino logger (server.ts); tests pass a silent or capturing one. */
  logger: FastifyBaseLogger;
}

/** Secrets and personal data that must never reach a log line. */
export const LOG_REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  "*.password",
  "*.passwordHash",
  "*.secret",
  "*.token",
];

declare module "fastify" {
  interface FastifyInstance {
    routeList: ReadonlyArray<{ method: string; url: string; operationId?: string }>;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The whole service as one Fastify instance, without listening: server.ts runs it, tests `inject` into it.
 * Plugins load in tiers: third-party, then our cross-cutting plugins, then the domain routes.
 * Services are factories wired here, by hand, with the narrow dependencies each one uses.
 */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, db, secrets } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy.length ? config.trustProxy : false,
    // Honour a caller's request id when it is well-formed (it threads through their logs and ours).
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    requestTimeout: 120_000,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: "array", useDefaults: true } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The served routes, for the contract test (every route in openapi.yaml and vice versa) and the docs.
  const routes: Array<{ method: string; url: string; operationId?: string }> = [];
  app.decorate("routeList", routes);
  app.addHook("onRoute", (route) => {
    const operationId = (route.schema as { operationId?: string } | undefined)?.operationId;
    for (const method of [route.method].flat()) if (method !== "HEAD") routes.push({ method, url: route.url, operationId });
  });

  app.setReplySerializer((payload) => stringifyJson(payload));
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  // Tier 1: third-party plugins.
  await app.register(helmet, { contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"] } } });
  await app.register(cookie);
  await app.register(jwt, {
    secret: secrets.jwtSecret,
    sign: { algorithm: "HS256" },
    verify: { algorithms: ["HS256"], allowedAud: JWT_AUDIENCE, allowedIss: JWT_ISSUER },
  });

  // Tier 2: our cross-cutting plugins.
  await app.register(problemPlugin);
  await app.register(authenticationPlugin, { prisma: db.prisma, jwtSecret: secrets.jwtSecret });
  // -- plugins: rate limits --
  // -- plugins: audit of refusals --

  // Tier 3: routes, with their services.
  const identity = createIdentityService({ prisma: db.prisma });
  const tenants = createTenantsService({ prisma: db.prisma });
  await app.register(healthRoutes, { checks: { database: db.ping, ...(deps.jobs.kind === "bullmq" ? { redis: deps.jobs.ping } : {}) } });
  await app.register(openapiRoutes);
  await app.register(identityRoutes, { identity, jwtSecret: secrets.jwtSecret, secureCookies: config.secureCookies });
  await app.register(tenantsRoutes, { tenants });
  // -- routes: mfa --
  // -- routes: api-keys --
  // -- routes: audit --

  return app;
}
