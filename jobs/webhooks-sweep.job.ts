import { createWebhookDispatcher } from "../src/modules/webhooks/webhook-dispatch.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * Every 15 s (jobs/queues.ts): sends the deliveries whose retry time has come, those whose first `webhooks.deliver`
 * job was lost (enqueued after a commit that a crash interrupted), and those a dead worker had claimed.
 */
export function webhooksSweepJob(deps: ProcessorDeps): Processor<"webhooks.sweep"> {
  return async (_data, ctx) => {
    const result = await createWebhookDispatcher({ ...deps, log: ctx.log }).sweep();
    if (result.sent) ctx.log(`webhooks: sweep sent ${result.sent}`);
    return result;
  };
}
