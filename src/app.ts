import { randomUUID } from "node:crypto";
import cookie from "@fastify/cookie";
import helmet from "@fastify/helmet";
import jwt from "@fastify/jwt";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger } from "fastify";
import type { Redis } from "ioredis";
import type { Config } from "./config.js";
import type { Connectors } from "./connectors/connectors.js";
import { auditRefusalsPlugin } from "./http/audit-refusals.js";
import { JWT_AUDIENCE, JWT_ISSUER, authenticationPlugin } from "./http/authentication.js";
import { problemPlugin } from "./http/problem.js";
import { idempotencyPlugin } from "./http/idempotency.js";
import { rateLimitPlugin } from "./http/rate-limit.js";
import { openapiRoutes } from "./http/openapi.routes.js";
import type { App } from "./http/route-types.js";
import { apiKeysRoutes } from "./modules/api-keys/api-keys.routes.js";
import { auditRoutes } from "./modules/audit/audit.routes.js";
import { createAuditService } from "./modules/audit/audit.service.js";
import { createApiKeysService } from "./modules/api-keys/api-keys.service.js";
import { healthRoutes } from "./modules/health/health.routes.js";
import { identityRoutes } from "./modules/identity/identity.routes.js";
import { createIdentityService } from "./modules/identity/identity.service.js";
import { outboxRoutes } from "./modules/identity/outbox.routes.js";
import { createOutboxService } from "./modules/identity/outbox.service.js";
import { createSignIn } from "./modules/identity/sign-in.js";
import { invitationsRoutes } from "./modules/users/invitations.routes.js";
import { createInvitationsService } from "./modules/users/invitations.service.js";
import { usersRoutes } from "./modules/users/users.routes.js";
import { createUsersService } from "./modules/users/users.service.js";
import { createMailer } from "./platform/mail/mailer.js";
import { mfaRoutes } from "./modules/mfa/mfa.routes.js";
import { createMfaService } from "./modules/mfa/mfa.service.js";
import { tenantsRoutes } from "./modules/tenants/tenants.routes.js";
import { createTenantsService } from "./modules/tenants/tenants.service.js";
import { operationsRoutes } from "./modules/operations/operations.routes.js";
import { createOperationsService } from "./modules/operations/operations.service.js";
import { simsRoutes } from "./modules/sims/sims.routes.js";
import { createSimsService } from "./modules/sims/sims.service.js";
import { inventoryRoutes } from "./modules/sims/inventory.routes.js";
import { createInventoryService } from "./modules/sims/inventory.service.js";
import { ratePlansRoutes } from "./modules/rate-plans/rate-plans.routes.js";
import { createRatePlansService } from "./modules/rate-plans/rate-plans.service.js";
import { ratePlanVersionsRoutes } from "./modules/rate-plans/rate-plan-versions.routes.js";
import { createRatePlanVersionsService } from "./modules/rate-plans/rate-plan-versions.service.js";
import { simRatePlanRoutes } from "./modules/sims/sim-rate-plan.routes.js";
import { createSimRatePlanService } from "./modules/sims/sim-rate-plan.service.js";
import { devicesRoutes } from "./modules/devices/devices.routes.js";
import { createDevicesService } from "./modules/devices/devices.service.js";
import { imeiPolicyRoutes } from "./modules/devices/imei-policy.routes.js";
import { createImeiPolicyService } from "./modules/devices/imei-policy.service.js";
import { networkEventsRoutes } from "./modules/network-events/network-events.routes.js";
import { createNetworkEventsService } from "./modules/network-events/network-events.service.js";
import { esimRoutes } from "./modules/esim/esim.routes.js";
import { createEsimNotificationsService } from "./modules/esim/esim-notifications.service.js";
import { createEsimService } from "./modules/esim/esim.service.js";
import { webhooksRoutes } from "./modules/webhooks/webhooks.routes.js";
import { createWebhooksService } from "./modules/webhooks/webhooks.service.js";
import { usageIngestRoutes } from "./modules/usage/usage-ingest.routes.js";
import { createUsageIngestService } from "./modules/usage/usage-ingest.service.js";
import { createRollupBacklog } from "./modules/usage/rollup-backlog.js";
import { createSimDirectory, localDirectoryVersion, redisDirectoryVersion } from "./modules/usage/sim-directory.js";
import { limitsRoutes } from "./modules/usage/limits.routes.js";
import { createLimitsService } from "./modules/usage/limits.service.js";
import { alertsRoutes } from "./modules/alerts/alerts.routes.js";
import { createAlertsService } from "./modules/alerts/alerts.service.js";
import { usageQueryRoutes } from "./modules/usage/usage-query.routes.js";
import { createUsageQueryService } from "./modules/usage/usage-query.service.js";
import { completenessRoutes } from "./modules/usage/completeness.routes.js";
import { createCompletenessService } from "./modules/usage/completeness.service.js";
import { paymentsRoutes } from "./modules/payments/payments.routes.js";
import { createPaymentsService } from "./modules/payments/payments.service.js";
import { billingProfileRoutes } from "./modules/billing-profile/billing-profile.routes.js";
import { createBillingProfileService } from "./modules/billing-profile/billing-profile.service.js";
import { createBillingContactsService } from "./modules/billing-profile/billing-contacts.service.js";
import { billingSettingsRoutes } from "./modules/billing/billing-settings.routes.js";
import { createBillingSettingsService } from "./modules/billing/billing-settings.service.js";
import { billingRunsRoutes } from "./modules/billing/billing-runs.routes.js";
import { createBillingRunsService } from "./modules/billing/billing-runs.service.js";
import { invoiceActionsRoutes } from "./modules/invoices/invoice-actions.routes.js";
import { createInvoiceActionsService } from "./modules/invoices/invoice-actions.service.js";
import { invoicesRoutes } from "./modules/invoices/invoices.routes.js";
import { createInvoicesService } from "./modules/invoices/invoices.service.js";
import { createKeyring } from "./platform/crypto.js";
import type { Database } from "./platform/db/database.js";
import type { JobRunner } from "./platform/jobs/job-runner.js";
import type { Secrets } from "./platform/secrets.js";

export interface AppDeps {
  config: Config;
  db: Database;
  jobs: JobRunner;
  secrets: Secrets;
  /** The network and SM-DP+ connectors (simulators unless configured). */
  connectors: Connectors;
  /** A pino logger (server.ts); tests pass a silent or capturing one. */
  logger: FastifyBaseLogger;
  /** Redis when REDIS_URL is set: rate-limit counters shared by every API process. Without it they are per process. */
  redis?: Redis;
}

/** Secrets and personal data that must never reach a log line. */
export const LOG_REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  "*.password",
  "*.currentPassword",
  "*.newPassword",
  "*.passwordHash",
  "*.secret",
  "*.token",
  "*.mfaToken",
  "*.recoveryCodes",
  "*.key",
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

  // No global reply serializer: it would take precedence over the routes' response schemas, and those schemas
  // are what strips any field not declared (defence in depth behind each service's view function).
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
  // After authentication: the limiter keys requests by principal (see src/http/rate-limit.ts).
  await app.register(rateLimitPlugin, { redis: deps.redis, redisPrefix: config.redis.prefix, authPerMinute: config.rateLimit.authPerMinute, apiPerMinute: config.rateLimit.apiPerMinute });
  // -- plugins: audit of refusals --
  await app.register(auditRefusalsPlugin, { prisma: db.prisma });
  // -- plugins: idempotency keys --
  // After authentication (keys are scoped per principal) and the rate limit (a limited request claims nothing).
  await app.register(idempotencyPlugin, { prisma: db.prisma, keyring: createKeyring(secrets.encryptionKeys) });
  // -- plugins: content types --

  // Tier 3: routes, with their services.
  const mailer = createMailer({ prisma: db.prisma, smtpUrl: config.mail.smtpUrl, from: config.mail.from, log: app.log });
  app.addHook("onClose", async () => mailer.close());
  const tenants = createTenantsService({ prisma: db.prisma });
  const mfa = createMfaService({ prisma: db.prisma, keyring: createKeyring(secrets.encryptionKeys) });
  await app.register(healthRoutes, { checks: { database: db.ping, ...(deps.jobs.kind === "bullmq" ? { redis: deps.jobs.ping } : {}) } });
  await app.register(openapiRoutes);
  // Identity: sign-in (with MFA), sessions, users, invitations (mail sent after commit), the outbox.
  const signIn = createSignIn({ mfa });
  const cookies = { jwtSecret: secrets.jwtSecret, secureCookies: config.secureCookies };
  await app.register(identityRoutes, { identity: createIdentityService({ prisma: db.prisma, signIn, mfa }), ...cookies });
  await app.register(usersRoutes, { users: createUsersService({ prisma: db.prisma }) });
  await app.register(invitationsRoutes, { invitations: createInvitationsService({ prisma: db.prisma, mailer, signIn, publicUrl: config.publicUrl }), ...cookies });
  await app.register(outboxRoutes, { outbox: createOutboxService({ prisma: db.prisma }) });
  await app.register(tenantsRoutes, { tenants });
  // -- routes: mfa --
  await app.register(mfaRoutes, { mfa });
  // -- routes: api-keys --
  await app.register(apiKeysRoutes, { apiKeys: createApiKeysService({ prisma: db.prisma }) });
  // -- routes: audit --
  await app.register(auditRoutes, { audit: createAuditService({ prisma: db.prisma }) });
  // -- routes: sims --
  // The SIM API, the platform's inventory (imports seal PINs/PUKs with the keyring) and the rate plan catalogue.
  await app.register(simsRoutes, { sims: createSimsService({ prisma: db.prisma }) });
  // Usage ingestion remembers which SIM an ICCID names; allocation moves SIMs between tenants and says so.
  const simDirectoryVersion = deps.redis ? redisDirectoryVersion(deps.redis, config.redis.prefix) : localDirectoryVersion();
  await app.register(inventoryRoutes, { inventory: createInventoryService({ prisma: db.prisma, keyring: createKeyring(secrets.encryptionKeys), jobs: deps.jobs, simDirectoryVersion }) });
  await app.register(ratePlansRoutes, { ratePlans: createRatePlansService({ prisma: db.prisma }) });
  // -- routes: operations --
  await app.register(operationsRoutes, { operations: createOperationsService({ prisma: db.prisma, jobs: deps.jobs }) });
  // -- routes: esim --
  await app.register(esimRoutes, {
    esim: createEsimService({ prisma: db.prisma, smdp: deps.connectors.smdp, jobs: deps.jobs, smdpAddress: config.smdp.address, log: app.log }),
    notifications: createEsimNotificationsService({ prisma: db.prisma, jobs: deps.jobs, log: app.log }),
  });
  // -- routes: imei --
  // IMEI policies, device inventory and the operator's network events (which feed the IMEI check).
  await app.register(imeiPolicyRoutes, { imeiPolicy: createImeiPolicyService({ prisma: db.prisma, jobs: deps.jobs }) });
  await app.register(devicesRoutes, { devices: createDevicesService({ prisma: db.prisma }) });
  await app.register(networkEventsRoutes, { networkEvents: createNetworkEventsService({ prisma: db.prisma, jobs: deps.jobs }) });
  // -- routes: webhooks --
  await app.register(webhooksRoutes, { webhooks: createWebhooksService({ prisma: db.prisma, keyring: createKeyring(secrets.encryptionKeys), jobs: deps.jobs, config }) });

  // -- routes: usage-ingest --
  await app.register(usageIngestRoutes, { usage: createUsageIngestService({ sql: db.sql, jobs: deps.jobs, directory: createSimDirectory({ sql: db.sql, version: simDirectoryVersion }), backlog: createRollupBacklog({ sql: db.sql, targetMs: config.usage.flowControlMs }), log: app.log }) });
  // -- routes: usage-limits --
  await app.register(limitsRoutes, { limits: createLimitsService({ prisma: db.prisma, jobs: deps.jobs }) });
  // -- routes: alerts --
  await app.register(alertsRoutes, { alerts: createAlertsService({ prisma: db.prisma }) });
  // -- routes: usage-query --
  // Reading usage (JSON or streamed CSV): plain SQL on the shared pool for the rollups and raw records.
  await app.register(usageQueryRoutes, { usage: createUsageQueryService({ prisma: db.prisma, sql: db.sql }) });
  // -- routes: usage-completeness --
  // Feeds declare "usage final through T"; every usage answer states how complete its figures are.
  await app.register(completenessRoutes, { completeness: createCompletenessService({ prisma: db.prisma }) });
  // -- routes: rate-plans-pricing --
  // Rate plan price versions, and each SIM's plan changes (next period or immediate) with their history.
  await app.register(ratePlanVersionsRoutes, { versions: createRatePlanVersionsService({ prisma: db.prisma }) });
  await app.register(simRatePlanRoutes, { simRatePlan: createSimRatePlanService({ prisma: db.prisma }) });
  // -- routes: billing-runs --
  // Billing runs (exactly once per tenant and period; the work is the billing.* jobs) and the invoice actions:
  // issue a draft, void, credit notes.
  await app.register(billingRunsRoutes, { billingRuns: createBillingRunsService({ prisma: db.prisma, jobs: deps.jobs }) });
  await app.register(invoiceActionsRoutes, { invoiceActions: createInvoiceActionsService({ prisma: db.prisma, jobs: deps.jobs }) });
  // -- routes: invoices --
  // Reading invoices: the list, one document, its PDF (stored once issued) and its per-SIM charges as CSV.
  await app.register(invoicesRoutes, { invoices: createInvoicesService({ prisma: db.prisma, sql: db.sql }) });
  // -- routes: payments --
  // Payments against issued invoices (manual and bank-statement CSV) and the payment history.
  await app.register(paymentsRoutes, { payments: createPaymentsService({ prisma: db.prisma, jobs: deps.jobs }) });
  // -- routes: billing-profile --
  // A tenant's billing details and contacts, and the issuer's billing settings (platform staff).
  await app.register(billingProfileRoutes, { profile: createBillingProfileService({ prisma: db.prisma }), contacts: createBillingContactsService({ prisma: db.prisma }) });
  await app.register(billingSettingsRoutes, { settings: createBillingSettingsService({ prisma: db.prisma }) });

  return app;
}
