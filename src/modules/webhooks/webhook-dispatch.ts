import type { Config } from "../../config.js";
import { Prisma } from "../../generated/prisma/client.js";
import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { nextAttemptAt } from "./webhook-schedule.js";
import { activeSecrets, openSecrets } from "./webhook-secret.js";
import { sendWebhook, type SendResult } from "./webhook-sender.js";
import { signatureHeader } from "./webhook-signature.js";

export const USER_AGENT = "Conekt-Webhooks/1";
/** The sweep runs every 15 s (jobs/queues.ts); a retry due sooner gets a delayed job of its own. */
const SWEEP_PERIOD_MS = 15_000;
const SWEEP_BATCH = 50;
/** A sweep stops claiming after this long, so runs do not pile up behind each other. */
const SWEEP_BUDGET_MS = 10_000;
/** Sends in flight at once per job. */
const PARALLEL_SENDS = 8;

export type Trigger = "automatic" | "manual";

interface Claimed {
  id: string;
  tenant_id: string;
  message_id: string;
  payload: unknown;
  /** This attempt's number (attempts are numbered per delivery, automatic and manual alike). */
  attempt: number;
  /** The lease written by the claim (automatic attempts): the finish applies only while it still holds. */
  lease: Date | null;
  url: string;
  secret_encrypted: string;
  endpoint_id: string;
}

export interface DispatchDeps {
  prisma: PrismaClient;
  keyring: Keyring;
  config: Pick<Config, "webhooks">;
  jobs: () => JobRunner;
  log: (msg: string) => void;
}

/**
 * Sends deliveries and records every attempt. Claiming is safe across any number of workers: one UPDATE picks
 * due rows with `FOR UPDATE SKIP LOCKED` and moves their `next_attempt_at` past the send's longest duration (a
 * lease), so no other worker sees them due meanwhile; a worker that dies mid-send leaves a lease that expires,
 * and the sweep retries. Each attempt gets its number from the same UPDATE (`attempts + 1`).
 */
export function createWebhookDispatcher(deps: DispatchDeps) {
  const { prisma, keyring, config } = deps;
  // DNS (5 s at most), the send, and slack: past this a claimed delivery is considered abandoned.
  const leaseMs = config.webhooks.timeoutMs + 60_000;

  async function claimDue(ids: string[] | null, limit: number): Promise<Claimed[]> {
    const only = ids ? Prisma.sql`AND d2.id = ANY(${ids}::uuid[])` : Prisma.empty;
    return prisma.$queryRaw<Claimed[]>`
      UPDATE connectivity.webhook_deliveries d
      SET next_attempt_at = now() + ${leaseMs} * interval '1 millisecond', attempts = d.attempts + 1
      FROM enterprise.webhook_endpoints e
      WHERE e.id = d.endpoint_id AND d.id IN (
        SELECT d2.id FROM connectivity.webhook_deliveries d2
        JOIN enterprise.webhook_endpoints e2 ON e2.id = d2.endpoint_id AND e2.enabled
        WHERE d2.status = 'pending' AND d2.next_attempt_at <= now() ${only}
        ORDER BY d2.next_attempt_at
        LIMIT ${limit}
        FOR UPDATE OF d2 SKIP LOCKED)
      RETURNING d.id, d.tenant_id, d.endpoint_id, d.message_id, d.payload, d.attempts AS attempt, d.next_attempt_at AS lease, e.url, e.secret_encrypted`;
  }

  /**
   * A redelivery someone asked for: whatever the delivery's status, without touching its automatic schedule.
   * It waits for a concurrent claim's row lock rather than skipping: a requested redelivery is never dropped.
   */
  async function claimManual(ids: string[]): Promise<Claimed[]> {
    return prisma.$queryRaw<Claimed[]>`
      UPDATE connectivity.webhook_deliveries d SET attempts = d.attempts + 1
      FROM enterprise.webhook_endpoints e
      WHERE e.id = d.endpoint_id AND e.enabled AND d.id = ANY(${ids}::uuid[])
      RETURNING d.id, d.tenant_id, d.endpoint_id, d.message_id, d.payload, d.attempts AS attempt, NULL::timestamptz AS lease, e.url, e.secret_encrypted`;
  }

  async function attempt(claimed: Claimed, trigger: Trigger): Promise<void> {
    const result = await send(claimed);
    const next = await record(claimed, trigger, result);
    // The sweep would find it too, up to 15 s late: a retry due sooner (the 5 s one) gets its own delayed job.
    if (next && next.getTime() - Date.now() < SWEEP_PERIOD_MS) {
      const delayMs = Math.max(0, next.getTime() - Date.now()) + 50;
      await deps.jobs().enqueue("webhooks.deliver", { deliveryIds: [claimed.id] }, { delayMs, jobId: `webhook-retry-${claimed.id}-${claimed.attempt}` });
    }
  }

  async function send(claimed: Claimed): Promise<SendResult> {
    let secrets: string[];
    try {
      secrets = activeSecrets(openSecrets(keyring, claimed.endpoint_id, claimed.secret_encrypted));
    } catch (err) {
      deps.log(`webhooks: delivery ${claimed.id}: signing secret unavailable: ${(err as Error).message}`);
      return { statusCode: null, durationMs: 0, error: "not sent: the endpoint's signing secret could not be decrypted (encryption key missing?)", excerpt: null };
    }
    // Serialised once: these exact bytes are signed and sent.
    const body = Buffer.from(JSON.stringify(claimed.payload), "utf8");
    const timestamp = Math.floor(Date.now() / 1000);
    return sendWebhook({
      url: claimed.url,
      body,
      timeoutMs: config.webhooks.timeoutMs,
      allowPrivate: config.webhooks.allowPrivateUrls,
      headers: {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": claimed.message_id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signatureHeader(secrets, claimed.message_id, timestamp, body),
      },
    });
  }

  /** Logs the attempt and moves the delivery on; returns when the next automatic attempt is due, if any. */
  async function record(claimed: Claimed, trigger: Trigger, result: SendResult): Promise<Date | null> {
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const now = new Date();
    return prisma.$transaction(async (tx) => {
      await tx.webhookAttempt.create({
        data: {
          tenantId: claimed.tenant_id,
          deliveryId: claimed.id,
          attempt: claimed.attempt,
          at: now,
          statusCode: result.statusCode,
          durationMs: result.durationMs,
          error: result.error,
          responseExcerpt: result.excerpt,
          trigger,
        },
      });
      const last = { lastAttemptAt: now, lastStatusCode: result.statusCode, lastError: result.error };
      if (ok) {
        await tx.webhookDelivery.update({ where: { id: claimed.id }, data: { ...last, status: "succeeded", succeededAt: now, nextAttemptAt: null } });
        return null;
      }
      if (trigger === "manual") {
        // A failed redelivery leaves the automatic schedule (or the final status) as it was.
        await tx.webhookDelivery.updateMany({ where: { id: claimed.id }, data: last });
        return null;
      }
      const automatic = await tx.webhookAttempt.count({ where: { deliveryId: claimed.id, trigger: "automatic" } });
      const next = nextAttemptAt(automatic, now);
      // Only while our lease holds: had it expired and another worker taken the delivery over, that worker decides.
      const { count } = await tx.webhookDelivery.updateMany({
        where: { id: claimed.id, status: "pending", nextAttemptAt: claimed.lease ?? undefined },
        data: { ...last, status: next ? "pending" : "failed", nextAttemptAt: next },
      });
      return count === 1 ? next : null;
    });
  }

  async function run(claimed: Claimed[], trigger: Trigger): Promise<void> {
    await eachLimited(claimed, PARALLEL_SENDS, (c) =>
      attempt(c, trigger).catch((err: Error) => deps.log(`webhooks: delivery ${c.id} attempt ${c.attempt}: ${err.message}`)),
    );
  }

  return {
    /** `webhooks.deliver`: these deliveries now, if due (automatic) or whatever their state (manual). */
    async deliver(ids: string[], manual = false): Promise<{ sent: number }> {
      if (ids.length === 0) return { sent: 0 };
      const claimed = manual ? await claimManual(ids) : await claimDue(ids, ids.length);
      await run(claimed, manual ? "manual" : "automatic");
      return { sent: claimed.length };
    },

    /** `webhooks.sweep`: every delivery whose (re)try time has come, batch by batch, within a time budget. */
    async sweep(): Promise<{ sent: number }> {
      const started = Date.now();
      let sent = 0;
      while (Date.now() - started < SWEEP_BUDGET_MS) {
        const claimed = await claimDue(null, SWEEP_BATCH);
        if (claimed.length === 0) break;
        await run(claimed, "automatic");
        sent += claimed.length;
      }
      return { sent };
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
