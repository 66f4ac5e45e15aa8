import { randomUUID } from "node:crypto";
import { Prisma } from "../../generated/prisma/client.js";
import { stringifyJson } from "../../http/json.js";
import type { Db } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";

/** Every event a webhook endpoint may subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  "sim.state_changed",
  "operation.completed",
  "esim.profile_state_changed",
  "imei.mismatch",
  "usage.threshold_crossed",
  "invoice.issued",
  "invoice.paid",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEvent {
  tenantId: string;
  type: WebhookEventType;
  /** The event's object, as the API shows it (ids, ICCIDs, states): never secrets. */
  data: Record<string, unknown>;
  occurredAt?: Date;
}

/**
 * Records events for delivery, inside the transaction of the change they describe (an outbox): one delivery
 * row per enabled endpoint of the tenant subscribed to the type, all in one statement whatever the number of
 * events (a bulk operation emits one per SIM). The body follows Standard Webhooks: `{ type, timestamp, data }`;
 * the message id (`webhook-id`) is shared by every endpoint's copy of one event.
 * Returns the delivery ids: pass them to `deliverSoon` after the transaction commits.
 */
export async function emitWebhookEvents(tx: Db, events: WebhookEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = events.map((e) => {
    const at = (e.occurredAt ?? new Date()).toISOString();
    return { tenant_id: e.tenantId, type: e.type, message_id: `msg_${randomUUID().replaceAll("-", "")}`, payload: { type: e.type, timestamp: at, data: e.data } };
  });
  // UUIDv7 ids, as rows created through Prisma get: the delivery log pages by id, newest first. A bigint in an
  // event's data becomes a number while exact, else a string (src/http/json.ts), rather than failing the change.
  const inserted = await tx.$queryRaw<Array<{ id: string }>>`
    INSERT INTO connectivity.webhook_deliveries (id, tenant_id, endpoint_id, message_id, event_type, payload, status, next_attempt_at)
    SELECT ${UUID_V7}, ev.tenant_id, ep.id, ev.message_id, ev.type, ev.payload, 'pending', now()
    FROM jsonb_to_recordset(${stringifyJson(rows)}::jsonb) AS ev(tenant_id uuid, type text, message_id text, payload jsonb)
    JOIN enterprise.webhook_endpoints ep ON ep.tenant_id = ev.tenant_id AND ep.enabled AND ev.type = ANY (ep.events)
    RETURNING id`;
  return inserted.map((r) => r.id);
}

/**
 * A UUIDv7 computed in SQL (PostgreSQL 15 has no uuidv7()): the millisecond clock in the first 48 bits, the
 * version (7) and variant bits set over a random v4 UUID. One per row, even within one statement.
 */
const UUID_V7 = Prisma.raw(
  `encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid`,
);

export const emitWebhookEvent = (tx: Db, event: WebhookEvent): Promise<string[]> => emitWebhookEvents(tx, [event]);

/** After commit: hand the new deliveries to the dispatcher (the periodic sweep would also find them). */
export async function deliverSoon(jobs: JobRunner, deliveryIds: string[]): Promise<void> {
  for (let i = 0; i < deliveryIds.length; i += 100) {
    await jobs.enqueue("webhooks.deliver", { deliveryIds: deliveryIds.slice(i, i + 100) });
  }
}
