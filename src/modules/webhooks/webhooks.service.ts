import type { Config } from "../../config.js";
import type { Prisma, WebhookEndpoint } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { ConflictError, NotFoundError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { checkWebhookUrl } from "./webhook-url-policy.js";
import { openSecrets, rotated, sealSecrets } from "./webhook-secret.js";
import { insertEndpoint, toDeliveryView, toEndpointView } from "./webhooks.repository.js";
import type {
  WebhookDeliveryListQuery,
  WebhookDeliveryView,
  WebhookEndpointCreateBody,
  WebhookEndpointCreated,
  WebhookEndpointListQuery,
  WebhookEndpointUpdateBody,
  WebhookEndpointView,
  WebhookSecretRotated,
} from "./webhooks.schemas.js";

export type WebhooksService = ReturnType<typeof createWebhooksService>;

/** Endpoints per tenant: each event is copied to every subscribed endpoint, so the fan-out stays bounded. */
export const MAX_ENDPOINTS_PER_TENANT = 20;
/** The latest attempts shown with each delivery (eight automatic ones, plus redeliveries). */
const ATTEMPTS_SHOWN = 50;

/**
 * A tenant's webhook endpoints (owners, admins, `webhooks:write` keys) and their delivery log. URLs are checked
 * against the SSRF policy before anything is written; the secret is shown at creation and rotation only.
 */
export function createWebhooksService(deps: { prisma: PrismaClient; keyring: Keyring; jobs: JobRunner; config: Pick<Config, "webhooks"> }) {
  const { prisma, keyring } = deps;
  const allowPrivate = deps.config.webhooks.allowPrivateUrls;

  async function findVisible(actor: Actor, id: string): Promise<WebhookEndpoint> {
    authorize(actor, "read", "WebhookEndpoint");
    const row = await prisma.webhookEndpoint.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("WebhookEndpoint"), { id }] } });
    if (!row) throw new NotFoundError("Webhook endpoint");
    return row;
  }

  return {
    async create(actor: Actor, input: WebhookEndpointCreateBody): Promise<WebhookEndpointCreated> {
      const principal = authorize(actor, "create", "WebhookEndpoint", { tenantId: actor.principal?.tenantId });
      // DNS happens here, before the transaction: no network call while it holds a connection.
      await checkWebhookUrl(input.url, allowPrivate);
      const { row, secret } = await prisma.$transaction(async (tx) => {
        const count = await tx.webhookEndpoint.count({ where: { tenantId: principal.tenantId } });
        if (count >= MAX_ENDPOINTS_PER_TENANT) {
          throw new ConflictError(`A tenant may have at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints; delete one first.`, "webhook_endpoint_limit");
        }
        return insertEndpoint(tx, keyring, actor, { tenantId: principal.tenantId, url: input.url, events: input.events, description: input.description?.trim() || null });
      });
      return { ...toEndpointView(row), secret };
    },

    async list(actor: Actor, query: WebhookEndpointListQuery): Promise<{ items: WebhookEndpointView[]; nextCursor: string | null }> {
      authorize(actor, "read", "WebhookEndpoint");
      const before = decodeCursor(query.cursor, ["id"] as const);
      // Newest first; ids are UUIDv7, so id order is creation order.
      const rows = await prisma.webhookEndpoint.findMany({
        where: { AND: [accessibleBy(actor.ability, "read").ofType("WebhookEndpoint"), before ? { id: { lt: before.id } } : {}] },
        orderBy: { id: "desc" },
        take: query.limit + 1,
      });
      const result = page(rows, query.limit, (e) => ({ id: e.id }));
      return { items: result.items.map(toEndpointView), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, id: string): Promise<WebhookEndpointView> {
      return toEndpointView(await findVisible(actor, id));
    },

    async update(actor: Actor, id: string, patch: WebhookEndpointUpdateBody): Promise<WebhookEndpointView> {
      const current = await findVisible(actor, id);
      authorize(actor, "update", "WebhookEndpoint", current);
      if (patch.url !== undefined && patch.url !== current.url) await checkWebhookUrl(patch.url, allowPrivate);
      const data: Prisma.WebhookEndpointUpdateInput = {
        ...(patch.url !== undefined && { url: patch.url }),
        ...(patch.events !== undefined && { events: patch.events }),
        ...(patch.description !== undefined && { description: patch.description?.trim() || null }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled }),
      };
      const updated = await prisma.$transaction(async (tx) => {
        const row = await tx.webhookEndpoint.update({ where: { id }, data });
        let stopped = 0;
        if (current.enabled && patch.enabled === false) {
          // Deliveries to a disabled endpoint stop; re-enabling does not resend them (redeliver does).
          ({ count: stopped } = await tx.webhookDelivery.updateMany({
            where: { endpointId: id, status: "pending" },
            data: { status: "failed", nextAttemptAt: null, lastError: "not sent: the endpoint was disabled" },
          }));
        }
        await appendAudit(tx, actor, {
          tenantId: current.tenantId,
          action: "webhook_endpoint.updated",
          targetType: "webhook_endpoint",
          targetId: id,
          data: { changed: Object.keys(data).sort(), ...(patch.url !== undefined && { host: new URL(patch.url).host }), ...(patch.enabled !== undefined && { enabled: patch.enabled }), ...(stopped && { deliveriesStopped: stopped }) },
        });
        return row;
      });
      return toEndpointView(updated);
    },

    /** Its deliveries and their attempt log go with it (nothing more will be sent). */
    async remove(actor: Actor, id: string): Promise<void> {
      const current = await findVisible(actor, id);
      authorize(actor, "delete", "WebhookEndpoint", current);
      await prisma.$transaction(async (tx) => {
        await tx.webhookEndpoint.delete({ where: { id } });
        await appendAudit(tx, actor, { tenantId: current.tenantId, action: "webhook_endpoint.deleted", targetType: "webhook_endpoint", targetId: id, data: { host: new URL(current.url).host } });
      });
    },

    /** A new secret signs from now on; the previous one also signs for 24 hours, so receivers can switch over. */
    async rotateSecret(actor: Actor, id: string): Promise<WebhookSecretRotated> {
      const current = await findVisible(actor, id);
      authorize(actor, "update", "WebhookEndpoint", current);
      const next = rotated(openSecrets(keyring, id, current.secretEncrypted));
      const row = await prisma.$transaction(async (tx) => {
        // Conditional on the secret read: two rotations at once must not both keep the same "previous".
        const { count } = await tx.webhookEndpoint.updateMany({ where: { id, secretEncrypted: current.secretEncrypted }, data: { secretEncrypted: sealSecrets(keyring, id, next) } });
        if (count !== 1) throw new ConflictError("The secret was rotated by another request at the same time; retry.", "webhook_secret_rotating");
        await appendAudit(tx, actor, { tenantId: current.tenantId, action: "webhook_endpoint.secret_rotated", targetType: "webhook_endpoint", targetId: id, data: { previousValidUntil: next.previous?.until } });
        return tx.webhookEndpoint.findUniqueOrThrow({ where: { id } });
      });
      return { ...toEndpointView(row), secret: next.current, previousSignatureValidUntil: next.previous!.until };
    },

    async listDeliveries(actor: Actor, id: string, query: WebhookDeliveryListQuery): Promise<{ items: WebhookDeliveryView[]; nextCursor: string | null }> {
      const endpoint = await findVisible(actor, id);
      const before = decodeCursor(query.cursor, ["id"] as const);
      const rows = await prisma.webhookDelivery.findMany({
        where: {
          tenantId: endpoint.tenantId,
          endpointId: endpoint.id,
          ...(query.status && { status: query.status }),
          ...(query.eventType && { eventType: query.eventType }),
          ...(before && { id: { lt: before.id } }),
        },
        // Newest first (UUIDv7 ids).
        orderBy: { id: "desc" },
        take: query.limit + 1,
        include: { attemptLog: { orderBy: { attempt: "desc" }, take: ATTEMPTS_SHOWN } },
      });
      const result = page(rows, query.limit, (d) => ({ id: d.id }));
      return { items: result.items.map((d) => toDeliveryView({ ...d, attemptLog: [...d.attemptLog].reverse() })), nextCursor: result.nextCursor };
    },

    /** Queues one more attempt now (trigger `manual`, same `webhook-id`), whatever the delivery's status. */
    async redeliver(actor: Actor, id: string, deliveryId: string): Promise<WebhookDeliveryView> {
      const endpoint = await findVisible(actor, id);
      authorize(actor, "update", "WebhookEndpoint", endpoint);
      const delivery = await prisma.webhookDelivery.findFirst({
        where: { id: deliveryId, endpointId: endpoint.id, tenantId: endpoint.tenantId },
        include: { attemptLog: { orderBy: { attempt: "asc" }, take: ATTEMPTS_SHOWN } },
      });
      if (!delivery) throw new NotFoundError("Webhook delivery");
      if (!endpoint.enabled) throw new ConflictError("The endpoint is disabled: enable it before redelivering.", "webhook_endpoint_disabled");
      await appendAudit(prisma, actor, {
        tenantId: endpoint.tenantId,
        action: "webhook_delivery.redelivery_requested",
        targetType: "webhook_delivery",
        targetId: delivery.id,
        data: { endpointId: endpoint.id, messageId: delivery.messageId, eventType: delivery.eventType },
      });
      // After the audit committed; the attempt itself is logged with the delivery when it is made.
      await deps.jobs.enqueue("webhooks.deliver", { deliveryIds: [delivery.id], manual: true });
      return toDeliveryView(delivery);
    },
  };
}
