import closeWithGrace from "close-with-grace";
import pino from "pino";
import { LOG_REDACT, buildApp } from "./app.js";
import { loadConfig } from "./config.js";
import { openRuntime } from "./runtime.js";

/** Process entry: configuration, the app, listen, graceful shutdown. Everything else is in app.ts. */
const config = loadConfig();
const logger = pino({ level: config.logLevel, redact: { paths: LOG_REDACT, censor: "[redacted]" } });
const log = (msg: string) => logger.info(msg);

const runtime = await openRuntime(config, { work: config.runJobs, log });
const app = await buildApp({ config, db: runtime.db, jobs: runtime.jobs, secrets: runtime.secrets, connectors: runtime.connectors, logger, redis: runtime.redis });

closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, "shutting down after an error");
  else logger.info({ signal }, "shutting down");
  // Stop taking requests and let in-flight ones finish, then stop jobs and close connections.
  await app.close();
  await runtime.close();
});

await runtime.jobs.start();
await app.listen({ host: config.host, port: config.port });
