import type { App } from "../../http/route-types.js";
import { BillingSettingsBody, BillingSettingsView } from "./billing-settings.schemas.js";
import type { BillingSettingsService } from "./billing-settings.service.js";

export async function billingSettingsRoutes(app: App, opts: { settings: BillingSettingsService }) {
  const { settings } = opts;
  const tags = ["billing"];

  app.get(
    "/v1/billing/settings",
    { schema: { operationId: "getBillingSettings", tags, summary: "The issuer's details and billing policy in force", response: { 200: BillingSettingsView } } },
    async (request) => settings.get(request.actor),
  );

  app.put(
    "/v1/billing/settings",
    { schema: { operationId: "putBillingSettings", tags, summary: "Replace the issuer's details and billing policy", body: BillingSettingsBody, response: { 200: BillingSettingsView } } },
    async (request) => settings.put(request.actor, request.body),
  );
}
