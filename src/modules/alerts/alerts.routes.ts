import type { App } from "../../http/route-types.js";
import type { AlertsService } from "./alerts.service.js";
import { AlertListQuery, AlertPage, AlertParams, AlertView } from "./alerts.schemas.js";

export async function alertsRoutes(app: App, opts: { alerts: AlertsService }) {
  const { alerts } = opts;
  const tags = ["alerts"];

  app.get(
    "/v1/alerts",
    { schema: { operationId: "listAlerts", tags, summary: "The fleet's alerts, newest first", querystring: AlertListQuery, response: { 200: AlertPage } } },
    async (request) => alerts.list(request.actor, request.query),
  );

  app.get(
    "/v1/alerts/:id",
    { schema: { operationId: "getAlert", tags, summary: "One alert", params: AlertParams, response: { 200: AlertView } } },
    async (request) => alerts.get(request.actor, request.params.id),
  );

  app.post(
    "/v1/alerts/:id/acknowledge",
    { schema: { operationId: "acknowledgeAlert", tags, summary: "Acknowledge an alert", params: AlertParams, response: { 200: AlertView } } },
    async (request) => alerts.acknowledge(request.actor, request.params.id),
  );
}
