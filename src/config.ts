import { envSchema } from "env-schema";
import { Type, type Static } from "typebox";

/** Every setting the service reads, validated once at start-up (STYLE.md habit 8). */
const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal("development"), Type.Literal("production"), Type.Literal("test")], {
    default: "development",
  }),
  HOST: Type.String({ default: "127.0.0.1" }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  LOG_LEVEL: Type.Union(
    [Type.Literal("fatal"), Type.Literal("error"), Type.Literal("warn"), Type.Literal("info"), Type.Literal("debug"), Type.Literal("trace"), Type.Literal("silent")],
    { default: "info" },
  ),
  /** PostgreSQL connection string. Unset: the embedded PGlite database in DATA_DIR. */
  DATABASE_URL: Type.Optional(Type.String({ pattern: "^postgres(ql)?://" })),
  DATABASE_POOL_MAX: Type.Integer({ default: 10, minimum: 1, maximum: 200 }),
  /** Apply pending migrations at start. Default: on for the embedded database, off with DATABASE_URL. */
  MIGRATE_ON_START: Type.Optional(Type.Boolean()),
  /** Where the embedded database and its generated secrets live. */
  DATA_DIR: Type.String({ default: ".data" }),
  /** Redis for BullMQ queues and rate limits. Unset: jobs run in-process. */
  REDIS_URL: Type.Optional(Type.String({ pattern: "^rediss?://" })),
  /** With Redis: whether the API process also runs job workers (false when dedicated workers run). */
  RUN_JOBS: Type.Boolean({ default: true }),
  /** Prefix for every Redis key (queues, rate limits), so several deployments can share one Redis. */
  REDIS_PREFIX: Type.String({ default: "conekt", pattern: "^[A-Za-z0-9:_-]{1,64}$" }),
  /** Secret for session JWTs (HS256), at least 32 characters. Required in production. */
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  /** AES-256-GCM keys for secrets at rest: `kid:base64key[,kid:base64key...]`, the first one encrypts. */
  ENCRYPTION_KEYS: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=]{43,44}(,[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=]{43,44})*$" })),
  /** Proxies whose X-Forwarded-For is believed: comma-separated IPs or CIDRs. Empty: none. */
  TRUST_PROXY: Type.String({ default: "" }),
  /** Largest request body accepted, in bytes (routes that ingest files raise it for themselves). */
  BODY_LIMIT_BYTES: Type.Integer({ default: 1_048_576, minimum: 1024 }),
  /** The public base URL of the portal and API, used in links and cookie security. */
  PUBLIC_URL: Type.String({ default: "http://localhost:3000", pattern: "^https?://" }),
  /** Outgoing mail server, `smtp://` (STARTTLS when offered) or `smtps://`, credentials in the URL. Unset: mail is logged and kept in the outbox. */
  SMTP_URL: Type.Optional(Type.String({ pattern: "^smtps?://[^\\s]+$" })),
  /** The From of outgoing mail. */
  MAIL_FROM: Type.String({ default: "Conekt <no-reply@localhost>", minLength: 3, maxLength: 254 }),
  /** Grace period for in-flight requests and jobs on SIGTERM, in milliseconds. */
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 10_000, minimum: 0 }),
  /** Requests per minute per client IP to the authentication routes (/v1/auth/*, /v1/invitations/accept). */
  RATE_LIMIT_AUTH_PER_MINUTE: Type.Integer({ default: 20, minimum: 1, maximum: 100_000 }),
  /** Requests per minute per user or API key (per IP when unauthenticated) to every other /v1 route. */
  RATE_LIMIT_API_PER_MINUTE: Type.Integer({ default: 1200, minimum: 1, maximum: 1_000_000 }),
  /** The operator's provisioning API (HLR/HSS) for SIM state changes. Unset: the built-in network simulator. */
  NETWORK_CONNECTOR_URL: Type.Optional(Type.String({ pattern: "^https?://" })),
  /** Bearer token for NETWORK_CONNECTOR_URL. */
  NETWORK_CONNECTOR_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
  /** The SM-DP+ address (FQDN) put in activation codes. */
  SMDP_ADDRESS: Type.String({ default: "smdp.conekt.example", pattern: "^[A-Za-z0-9.-]{1,253}$" }),
  /** The SM-DP+'s ES2+ base URL. Unset: the built-in SM-DP+ simulator. */
  SMDP_ES2PLUS_URL: Type.Optional(Type.String({ pattern: "^https?://" })),
  /** Our functionRequesterIdentifier in ES2+ requests (the operator id the SM-DP+ knows us by). */
  SMDP_FUNCTION_REQUESTER_ID: Type.String({ default: "conekt", minLength: 1, maxLength: 64 }),
  /** Client certificate, key and CA (PEM files) for ES2+ mutual TLS. */
  SMDP_TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  SMDP_TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  SMDP_TLS_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /** Deliver webhooks to private, loopback and link-local addresses (development only: SSRF risk). */
  WEBHOOK_ALLOW_PRIVATE_URLS: Type.Boolean({ default: false }),
  /** How long a webhook receiver may take to answer, in milliseconds. */
  WEBHOOK_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, maximum: 60_000 }),
  USAGE_FLOW_CONTROL_MS: Type.Integer({ default: 3_000, minimum: 0, maximum: 600_000 }),
});

type Env = Static<typeof EnvSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  isProduction: boolean;
  host: string;
  port: number;
  logLevel: string;
  database: { url?: string; poolMax: number; migrateOnStart: boolean; embedded: boolean };
  dataDir: string;
  redis: { url?: string; prefix: string };
  runJobs: boolean;
  jwtSecret?: string;
  encryptionKeys?: string;
  trustProxy: string[];
  bodyLimit: number;
  publicUrl: string;
  mail: { smtpUrl?: string; from: string };
  secureCookies: boolean;
  shutdownGraceMs: number;
  rateLimit: { authPerMinute: number; apiPerMinute: number };
  network: { url?: string; token?: string };
  smdp: { address: string; es2plusUrl?: string; functionRequesterId: string; tls: { certFile?: string; keyFile?: string; caFile?: string } };
  webhooks: { allowPrivateUrls: boolean; timeoutMs: number };
  /** Ingestion waits while the oldest record not yet rolled up is older than this (0: never waits). */
  usage: { flowControlMs: number };
}

/** Reads and validates the environment; throws naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = envSchema<Env>({ schema: EnvSchema, data: source, dotenv: false });
  const embedded = !env.DATABASE_URL;
  if (env.NODE_ENV === "production" && !embedded && !env.JWT_SECRET) {
    throw new Error("JWT_SECRET is required in production (at least 32 random characters).");
  }
  return {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === "production",
    host: env.HOST,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    database: {
      url: env.DATABASE_URL,
      poolMax: env.DATABASE_POOL_MAX,
      migrateOnStart: env.MIGRATE_ON_START ?? embedded,
      embedded,
    },
    dataDir: env.DATA_DIR,
    redis: { url: env.REDIS_URL, prefix: env.REDIS_PREFIX },
    runJobs: env.RUN_JOBS,
    jwtSecret: env.JWT_SECRET,
    encryptionKeys: env.ENCRYPTION_KEYS,
    trustProxy: env.TRUST_PROXY.split(",").map((s) => s.trim()).filter(Boolean),
    bodyLimit: env.BODY_LIMIT_BYTES,
    publicUrl: env.PUBLIC_URL.replace(/\/+$/, ""),
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM },
    secureCookies: env.PUBLIC_URL.startsWith("https://"),
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    rateLimit: { authPerMinute: env.RATE_LIMIT_AUTH_PER_MINUTE, apiPerMinute: env.RATE_LIMIT_API_PER_MINUTE },
    network: { url: env.NETWORK_CONNECTOR_URL?.replace(/\/+$/, ""), token: env.NETWORK_CONNECTOR_TOKEN },
    smdp: {
      address: env.SMDP_ADDRESS,
      es2plusUrl: env.SMDP_ES2PLUS_URL?.replace(/\/+$/, ""),
      functionRequesterId: env.SMDP_FUNCTION_REQUESTER_ID,
      tls: { certFile: env.SMDP_TLS_CERT_FILE, keyFile: env.SMDP_TLS_KEY_FILE, caFile: env.SMDP_TLS_CA_FILE },
    },
    webhooks: { allowPrivateUrls: env.WEBHOOK_ALLOW_PRIVATE_URLS, timeoutMs: env.WEBHOOK_TIMEOUT_MS },
    usage: { flowControlMs: env.USAGE_FLOW_CONTROL_MS },
  };
}
