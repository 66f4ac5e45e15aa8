import { Type } from "typebox";
import type { App } from "../../http/route-types.js";
import type { EsimNotificationsService } from "./esim-notifications.service.js";
import type { EsimService } from "./esim.service.js";
import { EsimNotificationBody, EsimOrderBody, EsimOrderCreated, EsimProfileView, IccidParams } from "./esim.schemas.js";

export async function esimRoutes(app: App, opts: { esim: EsimService; notifications: EsimNotificationsService }) {
  const { esim, notifications } = opts;
  const tags = ["esim"];
  const path = "/v1/sims/:iccid/esim-profile";

  app.post(
    path,
    { schema: { operationId: "orderEsimProfile", tags, summary: "Order an eSIM profile from the SM-DP+", params: IccidParams, body: EsimOrderBody, response: { 201: EsimOrderCreated } } },
    async (request, reply) => reply.status(201).send(await esim.order(request.actor, request.params.iccid, request.body)),
  );

  app.get(
    path,
    { schema: { operationId: "getEsimProfile", tags, summary: "The SIM's current eSIM profile order", params: IccidParams, response: { 200: EsimProfileView } } },
    async (request) => esim.get(request.actor, request.params.iccid),
  );

  // Binary answers: no response schema (Fastify sends a Buffer or string as is); openapi.yaml declares them.
  app.get(
    `${path}/qr.png`,
    { schema: { operationId: "getEsimQrPng", tags, summary: "The activation code as a PNG QR code", params: IccidParams } },
    async (request, reply) => {
      const png = await esim.qr(request.actor, request.params.iccid, "png");
      // The code lets anyone holding it download the profile: never kept by a browser or proxy.
      return reply.type("image/png").header("cache-control", "no-store").send(png);
    },
  );

  app.get(
    `${path}/qr.svg`,
    { schema: { operationId: "getEsimQrSvg", tags, summary: "The activation code as an SVG QR code", params: IccidParams } },
    async (request, reply) => {
      const svg = await esim.qr(request.actor, request.params.iccid, "svg");
      return reply.type("image/svg+xml").header("cache-control", "no-store").send(svg);
    },
  );

  app.delete(
    path,
    { schema: { operationId: "cancelEsimProfile", tags, summary: "Cancel the SIM's eSIM profile order", params: IccidParams, response: { 200: EsimProfileView } } },
    async (request) => esim.cancel(request.actor, request.params.iccid),
  );

  app.post(
    "/v1/esim/notifications",
    { schema: { operationId: "handleEsimNotification", tags, summary: "SM-DP+ download progress notification (ES2+)", body: EsimNotificationBody, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await notifications.handle(request.actor, request.body);
      return reply.status(204).send(null);
    },
  );
}
