import { randomBytes } from "node:crypto";
import { emitWebhookEvent } from "../../../src/modules/webhooks/webhook-events.js";
import { insertEndpoint } from "../../../src/modules/webhooks/webhooks.repository.js";
import { systemActor } from "../../../src/modules/audit/audit.writer.js";
import { createKeyring } from "../../../src/platform/crypto.js";
import type { TestApp } from "../../helpers/build.js";
import type { DomainAccess } from "./types.js";

/**
 * Webhook endpoints are managed by owners and admins of their own tenant (platform staff: the platform
 * tenant's). The access suites run with WEBHOOK_ALLOW_PRIVATE_URLS unset, so URLs are public IP literals (no
 * DNS needed); no job runs there, so nothing is ever sent to them.
 */
const PUBLIC_URL = "https://93.184.215.14/conekt-hooks";

/** An endpoint with a real (encrypted) secret and one pending delivery, in `tenantId`. */
async function makeEndpoint(ctx: TestApp, tenantId: string): Promise<{ endpointId: string; deliveryId: string }> {
  const keyring = createKeyring(ctx.runtime.secrets.encryptionKeys);
  return ctx.prisma.$transaction(async (tx) => {
    const { row } = await insertEndpoint(tx, keyring, systemActor("access-suite"), { tenantId, url: PUBLIC_URL, events: ["sim.state_changed"], description: `matrix ${randomBytes(3).toString("hex")}` });
    // The event fans out to every subscribed endpoint of the tenant (earlier recipes made some): take this one's.
    await emitWebhookEvent(tx, { tenantId, type: "sim.state_changed", data: { iccid: "8949010000000000001", from: "active", to: "suspended" } });
    const delivery = await tx.webhookDelivery.findFirstOrThrow({ where: { endpointId: row.id } });
    return { endpointId: row.id, deliveryId: delivery.id };
  });
}

export const access: DomainAccess = {
  recipes: {
    listWebhookEndpoints: { request: async () => ({ method: "GET", url: "/v1/webhook-endpoints" }) },
    createWebhookEndpoint: { request: async () => ({ method: "POST", url: "/v1/webhook-endpoints", body: { url: PUBLIC_URL, events: ["sim.state_changed"] } }) },
    getWebhookEndpoint: { request: async (c, _w, a) => ({ method: "GET", url: `/v1/webhook-endpoints/${(await makeEndpoint(c, a.tenantId)).endpointId}` }) },
    updateWebhookEndpoint: {
      request: async (c, _w, a) => ({ method: "PATCH", url: `/v1/webhook-endpoints/${(await makeEndpoint(c, a.tenantId)).endpointId}`, body: { description: "renamed" } }),
    },
    deleteWebhookEndpoint: { request: async (c, _w, a) => ({ method: "DELETE", url: `/v1/webhook-endpoints/${(await makeEndpoint(c, a.tenantId)).endpointId}` }) },
    rotateWebhookEndpointSecret: { request: async (c, _w, a) => ({ method: "POST", url: `/v1/webhook-endpoints/${(await makeEndpoint(c, a.tenantId)).endpointId}/rotate-secret` }) },
    listWebhookDeliveries: { request: async (c, _w, a) => ({ method: "GET", url: `/v1/webhook-endpoints/${(await makeEndpoint(c, a.tenantId)).endpointId}/deliveries` }) },
    redeliverWebhook: {
      request: async (c, _w, a) => {
        const { endpointId, deliveryId } = await makeEndpoint(c, a.tenantId);
        return { method: "POST", url: `/v1/webhook-endpoints/${endpointId}/deliveries/${deliveryId}/redeliver` };
      },
    },
  },

  async attacks(ctx, tenantAId) {
    const { endpointId, deliveryId } = await makeEndpoint(ctx, tenantAId);
    const base = `/v1/webhook-endpoints/${endpointId}`;
    return {
      attacks: {
        getWebhookEndpoint: { method: "GET", url: base },
        updateWebhookEndpoint: { method: "PATCH", url: base, body: { url: "https://93.184.215.15/pwned", enabled: false } },
        deleteWebhookEndpoint: { method: "DELETE", url: base },
        rotateWebhookEndpointSecret: { method: "POST", url: `${base}/rotate-secret` },
        listWebhookDeliveries: { method: "GET", url: `${base}/deliveries` },
        redeliverWebhook: { method: "POST", url: `${base}/deliveries/${deliveryId}/redeliver` },
      },
      ids: [endpointId, deliveryId],
      lists: ["/v1/webhook-endpoints"],
    };
  },
};
