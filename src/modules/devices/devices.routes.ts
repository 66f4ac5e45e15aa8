import type { App } from "../../http/route-types.js";
import type { DevicesService } from "./devices.service.js";
import { DeviceListQuery, DevicePage, DeviceParams, DeviceView } from "./devices.schemas.js";

export async function devicesRoutes(app: App, opts: { devices: DevicesService }) {
  const { devices } = opts;
  const tags = ["devices"];

  app.get(
    "/v1/devices",
    { schema: { operationId: "listDevices", tags, summary: "Devices seen with the tenant's SIMs", querystring: DeviceListQuery, response: { 200: DevicePage } } },
    async (request) => devices.list(request.actor, request.query),
  );

  app.get(
    "/v1/devices/:imei",
    { schema: { operationId: "getDevice", tags, summary: "One device, by IMEI", params: DeviceParams, response: { 200: DeviceView } } },
    async (request) => devices.get(request.actor, request.params.imei),
  );
}
