import { randomBytes } from "node:crypto";
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from "../../generated/prisma/client.js";
import type { Keyring } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/database.js";
import type { Actor } from "../access/principal.js";
import { appendAudit, type SystemActor } from "../audit/audit.writer.js";
import type { WebhookEventType } from "./webhook-events.js";
import { newSecret, sealSecrets } from "./webhook-secret.js";
import type { WebhookAttemptView, WebhookDeliveryView, WebhookEndpointView } from "./webhooks.schemas.js";

/**
 * A UUIDv7 drawn here rather than by the database: the endpoint's id is the associated data of its encrypted
 * secret, so it must be known before the row is written. Time-ordered like Prisma's `uuid(7)` default.
 */
export function uuidV7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface NewEndpoint {
  tenantId: string;
  url: string;
  events: readonly WebhookEventType[];
  description: string | null;
}

/** Creates an endpoint with a fresh secret, audited; returns the row and the secret (which leaves only here). */
export async function insertEndpoint(tx: Db, keyring: Keyring, actor: Actor | SystemActor, input: NewEndpoint): Promise<{ row: WebhookEndpoint; secret: string }> {
  const id = uuidV7();
  const secret = newSecret();
  const row = await tx.webhookEndpoint.create({
    data: { id, tenantId: input.tenantId, url: input.url, events: [...input.events], description: input.description, secretEncrypted: sealSecrets(keyring, id, { current: secret }) },
  });
  await appendAudit(tx, actor, {
    tenantId: input.tenantId,
    action: "webhook_endpoint.created",
    targetType: "webhook_endpoint",
    targetId: id,
    // The host, not the URL: receivers often carry a token in their path or query.
    data: { host: new URL(input.url).host, events: row.events },
  });
  return { row, secret };
}

/** The fields allowed out: never the encrypted secret. */
export function toEndpointView(e: WebhookEndpoint): WebhookEndpointView {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events as WebhookEventType[],
    enabled: e.enabled,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

export function toAttemptView(a: WebhookAttempt): WebhookAttemptView {
  return {
    attempt: a.attempt,
    at: a.at.toISOString(),
    trigger: a.trigger === "manual" ? "manual" : "automatic",
    statusCode: a.statusCode,
    durationMs: a.durationMs,
    error: a.error,
    responseExcerpt: a.responseExcerpt,
  };
}

export function toDeliveryView(d: WebhookDelivery & { attemptLog: WebhookAttempt[] }): WebhookDeliveryView {
  return {
    id: d.id,
    messageId: d.messageId,
    eventType: d.eventType as WebhookEventType,
    status: d.status,
    attemptCount: d.attempts,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    succeededAt: d.succeededAt?.toISOString() ?? null,
    payload: d.payload as WebhookDeliveryView["payload"],
    attempts: d.attemptLog.map(toAttemptView),
  };
}
