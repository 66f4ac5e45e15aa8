import type { Db } from "../../platform/db/database.js";

/** A tenant's state within a run (billing_run_tenants.state). */
export type RunTenantState = "pending" | "invoiced" | "skipped" | "failed";

/**
 * Locks the tenant's row of the run and answers its state (null when the run does not list the tenant). Called
 * first in the transaction that bills or fails the tenant, so two deliveries of the same job (a retry racing a
 * stalled worker) serialise here and the second sees the tenant done.
 */
export async function lockRunTenant(tx: Db, runId: string, tenantId: string): Promise<RunTenantState | null> {
  const [row] = await tx.$queryRaw<Array<{ state: RunTenantState }>>`
    SELECT state FROM enterprise.billing_run_tenants WHERE run_id = ${runId}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE`;
  return row?.state ?? null;
}

export interface TenantOutcome {
  state: Exclude<RunTenantState, "pending">;
  invoiceIds?: string[];
  /** "<code>: <message>" of a failure, or why a tenant was skipped. */
  error?: string | null;
}

/**
 * Records a tenant's outcome and advances the run's counters in one statement, in the transaction that produced
 * the outcome (so a crash never counts a tenant without its invoices, or the reverse). The tenant that makes
 * `tenants_done` reach `tenants_total` ends the run: `completed`, or `failed` when any tenant failed (the
 * failures are listed by GET /v1/billing/runs/{id}; a new run for the period bills those tenants only, since the
 * others are invoiced).
 */
export async function recordTenantOutcome(tx: Db, runId: string, tenantId: string, outcome: TenantOutcome): Promise<void> {
  const ids = outcome.invoiceIds ?? [];
  await tx.$executeRaw`
    UPDATE enterprise.billing_run_tenants SET state = ${outcome.state}, invoice_ids = ${ids}::uuid[], error = ${outcome.error?.slice(0, 500) ?? null}, updated_at = now()
    WHERE run_id = ${runId}::uuid AND tenant_id = ${tenantId}::uuid`;
  const failed = outcome.state === "failed" ? 1 : 0;
  await tx.$executeRaw`
    UPDATE enterprise.billing_runs SET
      tenants_done = tenants_done + 1,
      invoices_created = invoices_created + ${ids.length}::int,
      tenants_skipped = tenants_skipped + ${outcome.state === "skipped" ? 1 : 0}::int,
      tenants_failed = tenants_failed + ${failed}::int,
      status = CASE WHEN tenants_done + 1 < tenants_total THEN status
                    WHEN tenants_failed + ${failed}::int > 0 THEN 'failed'::enterprise."BillingRunStatus"
                    ELSE 'completed'::enterprise."BillingRunStatus" END,
      finished_at = CASE WHEN tenants_done + 1 < tenants_total THEN finished_at ELSE now() END,
      error = CASE WHEN tenants_done + 1 >= tenants_total AND tenants_failed + ${failed}::int > 0
                   THEN format('%s of %s tenant(s) failed', tenants_failed + ${failed}::int, tenants_total) ELSE error END
    WHERE id = ${runId}::uuid`;
}
