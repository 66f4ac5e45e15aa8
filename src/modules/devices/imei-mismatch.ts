import type { Prisma } from "../../generated/prisma/client.js";
import type { ImeiEventSource, ImeiMismatchAction } from "../../generated/prisma/enums.js";
import type { Db } from "../../platform/db/database.js";
import { tacOf } from "../../platform/identifiers.js";
import { systemActor } from "../audit/audit.writer.js";
import { createOperation } from "../operations/operation-requests.js";
import { emitWebhookEvents } from "../webhooks/webhook-events.js";
import { toApiMode, type ImeiPolicyState } from "./imei-rules.js";

/** One device seen with a SIM against the SIM's policy, with what the policy decided to do about it. */
export interface ImeiMismatch {
  tenantId: string;
  simId: string;
  iccid: string;
  imei: string;
  previousImei: string | null;
  network: string | null;
  at: Date;
  source: ImeiEventSource;
  policy: ImeiPolicyState;
  /** `suspend` only when the policy says so and the SIM can be suspended now (active, nothing pending). */
  action: ImeiMismatchAction;
}

/** What must happen after the transaction commits. */
export interface ImeiFollowUp {
  /** Suspend operations to start (`startOperation`). */
  operationIds: string[];
  /** Webhook deliveries to hand to the dispatcher (`deliverSoon`). */
  deliveryIds: string[];
}

export const IMEI_POLICY_ACTOR = systemActor("imei-policy");

/** One alert per SIM and wrong device, however many records carry it. */
export const mismatchDedupeKey = (simId: string, imei: string) => `imei_mismatch:${simId}:${imei}`;

/**
 * Records mismatches inside the caller's transaction, a few statements whatever their number: the IMEI events,
 * the alerts (raised once per SIM and device; one acknowledged earlier is reopened), the `imei.mismatch`
 * webhooks, and one suspend operation per tenant for the SIMs whose policy suspends. The operations are started
 * and the webhooks dispatched by the caller after commit.
 */
export async function recordImeiMismatches(tx: Db, mismatches: ImeiMismatch[]): Promise<ImeiFollowUp> {
  if (mismatches.length === 0) return { operationIds: [], deliveryIds: [] };
  await tx.imeiEvent.createMany({
    data: mismatches.map((m) => ({
      tenantId: m.tenantId,
      simId: m.simId,
      kind: "mismatch" as const,
      imei: m.imei,
      previousImei: m.previousImei,
      source: m.source,
      actionTaken: m.action,
      network: m.network,
      at: m.at,
    })),
  });

  const alerts = mismatches.map((m) => ({
    tenantId: m.tenantId,
    simId: m.simId,
    kind: "imei_mismatch" as const,
    severity: m.action === "suspend" ? ("critical" as const) : ("warning" as const),
    message: `SIM ${m.iccid} was seen in device ${m.imei}, which its IMEI policy (${toApiMode(m.policy.mode)}) does not allow${m.action === "suspend" ? "; the SIM is being suspended" : ""}.`,
    data: alertData(m),
    dedupeKey: mismatchDedupeKey(m.simId, m.imei),
  }));
  await tx.alert.createMany({ data: alerts, skipDuplicates: true });
  // The device came back after someone acknowledged its alert: the alert is open again.
  await tx.$executeRaw`
    UPDATE connectivity.alerts a SET acknowledged_at = NULL, acknowledged_by = NULL, data = r.data
    FROM jsonb_to_recordset(${JSON.stringify(alerts.map((a) => ({ tenant_id: a.tenantId, dedupe_key: a.dedupeKey, data: a.data })))}::jsonb)
      AS r(tenant_id uuid, dedupe_key text, data jsonb)
    WHERE a.tenant_id = r.tenant_id AND a.dedupe_key = r.dedupe_key AND a.acknowledged_at IS NOT NULL`;

  const deliveryIds = await emitWebhookEvents(
    tx,
    mismatches.map((m) => ({ tenantId: m.tenantId, type: "imei.mismatch" as const, data: webhookData(m), occurredAt: m.at })),
  );

  const toSuspend = new Map<string, string[]>();
  for (const m of mismatches) {
    if (m.action !== "suspend") continue;
    const simIds = toSuspend.get(m.tenantId);
    if (simIds) simIds.push(m.simId);
    else toSuspend.set(m.tenantId, [m.simId]);
  }
  const operationIds: string[] = [];
  for (const [tenantId, simIds] of toSuspend) {
    const { operationId } = await createOperation(tx, { tenantId, action: "suspend", simIds, reasonCode: "imei_mismatch", actor: IMEI_POLICY_ACTOR });
    operationIds.push(operationId);
  }
  return { operationIds, deliveryIds };
}

/** What the policy expected, without listing a 1000-entry allow list in every message. */
function expected(policy: ImeiPolicyState): { expectedImei: string | null; allowList: { imeis: number; tacs: number } | null } {
  if (policy.mode === "allow_list") {
    const tacs = policy.allowList.filter((e) => e.length === 8).length;
    return { expectedImei: null, allowList: { imeis: policy.allowList.length - tacs, tacs } };
  }
  return { expectedImei: policy.boundImei, allowList: null };
}

function webhookData(m: ImeiMismatch): Record<string, unknown> {
  return {
    iccid: m.iccid,
    mode: toApiMode(m.policy.mode),
    ...expected(m.policy),
    observedImei: m.imei,
    observedTac: tacOf(m.imei),
    previousImei: m.previousImei,
    network: m.network,
    at: m.at.toISOString(),
    source: m.source,
    action: m.action,
  };
}

function alertData(m: ImeiMismatch): Prisma.InputJsonObject {
  return { iccid: m.iccid, observedImei: m.imei, ...expected(m.policy), network: m.network, at: m.at.toISOString(), action: m.action };
}
