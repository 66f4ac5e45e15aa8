import type { Operation, OperationItem } from "../../generated/prisma/client.js";
import type { OperationItemView, OperationSummary, OperationView } from "./operations.schemas.js";

/** What the API shows of an operation: counters, progress and who asked; the columns picked one by one. */
export function toSummary(op: Operation): OperationSummary {
  const done = op.succeeded + op.failed + op.skipped;
  return {
    id: op.id,
    action: op.action,
    status: op.status,
    dryRun: op.dryRun,
    params: op.params as OperationSummary["params"],
    selection: op.selection as OperationSummary["selection"],
    reasonCode: op.reasonCode,
    total: op.total,
    succeeded: op.succeeded,
    failed: op.failed,
    skipped: op.skipped,
    pending: Math.max(0, op.total - done),
    // Rounded down, so 100 means done (an operation of 0 SIMs is done as soon as it runs).
    percent: op.total === 0 ? (op.status === "completed" || op.status === "failed" ? 100 : 0) : Math.floor((done * 100) / op.total),
    error: op.error,
    createdAt: op.createdAt.toISOString(),
    startedAt: op.startedAt?.toISOString() ?? null,
    completedAt: op.completedAt?.toISOString() ?? null,
    actor: { type: op.actorType as OperationSummary["actor"]["type"], id: op.actorId },
  };
}

export function toView(op: Operation, failures: Array<{ iccid: string; reason: string | null }>): OperationView {
  return { ...toSummary(op), failures: failures.map((f) => ({ iccid: f.iccid, reason: f.reason ?? "failed" })) };
}

export function toItemView(item: OperationItem): OperationItemView {
  return {
    seq: item.seq,
    iccid: item.iccid,
    state: item.state,
    reason: item.reason,
    fromStatus: item.fromStatus,
    toStatus: item.toStatus,
    processedAt: item.processedAt?.toISOString() ?? null,
  };
}
