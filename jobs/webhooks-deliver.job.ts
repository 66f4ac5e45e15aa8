import { createWebhookDispatcher } from "../src/modules/webhooks/webhook-dispatch.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * Sends the given deliveries now: the first attempt right after the event committed (`deliverSoon`), a short
 * retry, or a manual redelivery (`manual`). Deliveries not due, already claimed by another worker, or whose
 * endpoint was disabled meanwhile are left alone (the sweep finds whatever is due later). HTTP failures are
 * recorded as attempts, never thrown: BullMQ's own retries are for database or Redis failures only.
 */
export function webhooksDeliverJob(deps: ProcessorDeps): Processor<"webhooks.deliver"> {
  return async ({ deliveryIds, manual }, ctx) => createWebhookDispatcher({ ...deps, log: ctx.log }).deliver(deliveryIds, manual === true);
}
