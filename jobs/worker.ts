import closeWithGrace from "close-with-grace";
import pino from "pino";
import { loadConfig } from "../src/config.js";
import { openRuntime } from "../src/runtime.js";

/** Worker process entry: runs the BullMQ processors (scale these out independently of the API). */
const config = loadConfig();
const logger = pino({ level: config.logLevel });
if (!config.redis.url) {
  logger.error("The worker needs REDIS_URL; without Redis the API process runs jobs itself.");
  process.exit(1);
}
const runtime = await openRuntime(config, { work: true, log: (m) => logger.info(m) });
closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, "worker shutting down after an error");
  else logger.info({ signal }, "worker shutting down: finishing current jobs");
  await runtime.close();
});
await runtime.jobs.start();
logger.info("worker started");
