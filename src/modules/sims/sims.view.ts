import type { Prisma, Sim, SimEvent } from "../../generated/prisma/client.js";
import { toApiMode } from "../devices/imei-rules.js";
import type { SimEventView, SimView } from "./sims.schemas.js";

/** What a SIM read loads beside the row: its rate plan's name. */
export const SIM_INCLUDE = { ratePlan: { select: { id: true, code: true, name: true } } } as const satisfies Prisma.SimInclude;
export type SimRow = Sim & { ratePlan: { id: string; code: string; name: string } | null };

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

/** A bigint as a JSON number while exact (|n| < 2^53), else as a decimal string (openapi.yaml says so). */
export function bigintOut(n: bigint | null): number | string | null {
  if (n === null) return null;
  return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();
}

/** The fields allowed out. PIN and PUK never leave the database (they are not even decrypted). */
export function toSimView(s: SimRow): SimView {
  return {
    iccid: s.iccid,
    imsi: s.imsi,
    msisdn: s.msisdn,
    eid: s.eid,
    formFactor: s.formFactor,
    status: s.status,
    statusReason: s.statusReason,
    statusChangedAt: s.statusChangedAt.toISOString(),
    pendingOperation: s.pendingOperationId && s.pendingAction ? { id: s.pendingOperationId, action: s.pendingAction } : null,
    ratePlan: s.ratePlan ? { id: s.ratePlan.id, code: s.ratePlan.code, name: s.ratePlan.name } : null,
    labels: s.labels ?? [],
    customName: s.customName,
    imeiPolicy: {
      mode: toApiMode(s.imeiLockMode),
      boundImei: s.boundImei,
      onMismatch: s.imeiOnMismatch,
      allowList: s.imeiAllowList ?? [],
      repairUntil: iso(s.imeiRepairUntil),
    },
    lastSeenImei: s.lastSeenImei,
    lastSeenAt: iso(s.lastSeenAt),
    lastNetwork: s.lastNetwork,
    dataLimitBytes: bigintOut(s.dataLimitBytes),
    dataLimitSuspend: s.dataLimitSuspend,
    activatedAt: iso(s.activatedAt),
    terminatedAt: iso(s.terminatedAt),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    tenantId: s.tenantId,
  };
}

export function toSimEventView(e: SimEvent): SimEventView {
  return {
    id: e.id,
    kind: e.kind,
    fromStatus: e.fromStatus,
    toStatus: e.toStatus,
    reasonCode: e.reasonCode,
    billingEffect: e.billingEffect,
    data: e.data && typeof e.data === "object" && !Array.isArray(e.data) ? (e.data as Record<string, unknown>) : {},
    actor: { type: e.actorType, id: e.actorId },
    operationId: e.operationId,
    at: e.at.toISOString(),
  };
}
