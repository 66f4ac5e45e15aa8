import type { Device, Prisma } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { NotFoundError, ValidationError } from "../../platform/errors.js";
import { validateImei } from "../../platform/identifiers.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import type { DeviceListQuery, DevicePage, DeviceView } from "./devices.schemas.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type DevicesService = ReturnType<typeof createDevicesService>;

/**
 * The device inventory: every IMEI seen with a tenant's SIMs (fed by the IMEI check), with its TAC (the model).
 * Ordered by (tenant, IMEI), the table's key: a stable order, so pages stay correct while devices are seen.
 */
export function createDevicesService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /** The ICCIDs of the SIMs that still report each device as their last one (one query per page). */
  async function currentIccids(devices: Device[]): Promise<Map<Device, string>> {
    const simIds = [...new Set(devices.map((d) => d.lastSimId).filter((id): id is string => id !== null))];
    if (simIds.length === 0) return new Map();
    const sims = await prisma.sim.findMany({ where: { id: { in: simIds } }, select: { id: true, tenantId: true, iccid: true, lastSeenImei: true } });
    const byId = new Map(sims.map((s) => [s.id, s]));
    const out = new Map<Device, string>();
    for (const d of devices) {
      const sim = d.lastSimId ? byId.get(d.lastSimId) : undefined;
      if (sim && sim.tenantId === d.tenantId && sim.lastSeenImei === d.imei) out.set(d, sim.iccid);
    }
    return out;
  }

  const toView = (d: Device, iccids: Map<Device, string>): DeviceView => ({
    imei: d.imei,
    tac: d.tac,
    tenantId: d.tenantId,
    firstSeenAt: d.firstSeenAt.toISOString(),
    lastSeenAt: d.lastSeenAt.toISOString(),
    currentIccid: iccids.get(d) ?? null,
  });

  return {
    async list(actor: Actor, query: DeviceListQuery): Promise<DevicePage> {
      authorize(actor, "read", "Device");
      const after = decodeCursor(query.cursor, ["tenantId", "imei"] as const);
      if (after && !(UUID.test(after.tenantId) && /^\d{15}$/.test(after.imei))) {
        throw new ValidationError("The cursor is not one this API issued.", [{ field: "/query/cursor", reason: "is not a valid cursor" }]);
      }
      const where: Prisma.DeviceWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("Device"),
          query.tac ? { tac: query.tac } : {},
          query.q ? { imei: { startsWith: query.q } } : {},
          query.seenSince ? { lastSeenAt: { gte: new Date(query.seenSince) } } : {},
          after ? { OR: [{ tenantId: { gt: after.tenantId } }, { tenantId: after.tenantId, imei: { gt: after.imei } }] } : {},
        ],
      };
      const rows = await prisma.device.findMany({ where, orderBy: [{ tenantId: "asc" }, { imei: "asc" }], take: query.limit + 1 });
      const result = page(rows, query.limit, (d) => ({ tenantId: d.tenantId, imei: d.imei }));
      const iccids = await currentIccids(result.items);
      return { items: result.items.map((d) => toView(d, iccids)), nextCursor: result.nextCursor };
    },

    /** One device; platform staff, who see every tenant's, get the tenant that saw it last. */
    async get(actor: Actor, imeiInput: string): Promise<DeviceView> {
      authorize(actor, "read", "Device");
      const v = validateImei(imeiInput);
      if (!v.ok) throw new ValidationError(`/params/imei ${v.reason}`, [{ field: "/params/imei", reason: v.reason }]);
      const device = await prisma.device.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Device"), { imei: v.value }] }, orderBy: { lastSeenAt: "desc" } });
      if (!device) throw new NotFoundError("Device");
      return toView(device, await currentIccids([device]));
    },
  };
}
