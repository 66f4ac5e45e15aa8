import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";

export const DeviceListQuery = Type.Object(
  {
    ...PageQuery,
    tac: Type.Optional(Type.String({ pattern: "^[0-9]{8}$", description: "Only devices of this Type Allocation Code (the model)." })),
    q: Type.Optional(Type.String({ pattern: "^[0-9]{1,15}$", description: "Only IMEIs starting with these digits." })),
    seenSince: Type.Optional(Type.String({ format: "date-time", description: "Only devices seen at or after this time." })),
  },
  { additionalProperties: false },
);
export type DeviceListQuery = Static<typeof DeviceListQuery>;

// Loose here on purpose: the service checks the digits and names the reason (an IMEISV is normalised).
export const DeviceParams = Type.Object({ imei: Type.String({ pattern: "^[0-9]{1,32}$", description: "The IMEI (15 digits) or an IMEISV (16)." }) });

export const DeviceView = Type.Object({
  imei: Type.String(),
  tac: Type.String(),
  tenantId: Type.String({ format: "uuid" }),
  firstSeenAt: Type.String({ format: "date-time" }),
  lastSeenAt: Type.String({ format: "date-time" }),
  currentIccid: Type.Union([Type.String(), Type.Null()], { description: "The SIM it was last seen with, while that SIM still reports it." }),
});
export type DeviceView = Static<typeof DeviceView>;

export const DevicePage = Type.Object({ items: Type.Array(DeviceView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export type DevicePage = Static<typeof DevicePage>;
