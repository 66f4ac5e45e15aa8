import type { PrismaClient } from "../../platform/db/database.js";
import { AppError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { systemActor } from "../audit/audit.writer.js";
import { lockRunTenant, recordTenantOutcome } from "./billing-run-progress.js";
import { loadBillingSettings } from "./billing-settings.js";
import { announceIssued } from "./invoice-issue.js";
import { billTenant, type BillTenantResult, type ComputeBill } from "./issuing.js";
import { periodStartingOn } from "./period.js";

/** Who issues a run's invoices in the audit trail (the run records who asked for it). */
export const BILLING_RUN_ACTOR = systemActor("billing-run");

/** "<code>: <message>" as a run lists a tenant's failure. */
export const describeFailure = (err: unknown): string =>
  err instanceof AppError ? `${err.code}: ${err.message}` : `internal_error: ${(err as Error)?.message ?? String(err)}`;

export interface TenantJobDeps {
  prisma: PrismaClient;
  jobs: JobRunner;
  compute?: ComputeBill;
}

/**
 * `billing.tenant`: bills one tenant of a run (issuing.ts does it exactly once, with the run's bookkeeping in the
 * same transaction). A refusal of the computation or issuing (an AppError: an unpriced plan, ...) is final: the
 * tenant is recorded as failed with its code and message, and the run goes on. Anything else (a lost connection,
 * a deadlock) is retried; the last attempt records the failure too. A tenant the run already finished is not
 * billed again; if it was invoiced, its documents are announced again (the job that issued them may have died
 * between its commit and its enqueues; their job ids keep this to one PDF and one mail each).
 */
export async function billRunTenant(deps: TenantJobDeps, runId: string, tenantId: string, opts: { lastAttempt: boolean }): Promise<BillTenantResult | { outcome: "failed"; error: string } | null> {
  const run = await deps.prisma.billingRun.findUnique({ where: { id: runId }, select: { periodStart: true } });
  if (!run) return null;
  const settings = await loadBillingSettings(deps.prisma);
  try {
    const result = await billTenant(deps, { runId, tenantId, period: periodStartingOn(run.periodStart), actor: BILLING_RUN_ACTOR, autoIssue: settings.autoIssue, settings });
    if (result.outcome === "already_done" && result.state === "invoiced") await reannounce(deps, runId, tenantId);
    return result;
  } catch (err) {
    if (!(err instanceof AppError) && !opts.lastAttempt) throw err;
    const error = describeFailure(err);
    await recordFailure(deps.prisma, runId, tenantId, error);
    return { outcome: "failed", error };
  }
}

async function recordFailure(prisma: PrismaClient, runId: string, tenantId: string, error: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    if ((await lockRunTenant(tx, runId, tenantId)) === "pending") await recordTenantOutcome(tx, runId, tenantId, { state: "failed", error });
  });
}

async function reannounce(deps: TenantJobDeps, runId: string, tenantId: string): Promise<void> {
  const row = await deps.prisma.billingRunTenant.findUnique({ where: { runId_tenantId: { runId, tenantId } }, select: { invoiceIds: true } });
  const issued = await deps.prisma.invoice.findMany({ where: { id: { in: row?.invoiceIds ?? [] }, status: { not: "draft" } }, select: { id: true, tenantId: true, kind: true, number: true } });
  await announceIssued(
    deps.jobs,
    issued.map((i) => ({ id: i.id, tenantId: i.tenantId, kind: i.kind, number: i.number ?? "", deliveryIds: [] })),
  );
}
