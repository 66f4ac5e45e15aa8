import { txSql, type PrismaClient, type SqlRunner } from "../../platform/db/database.js";
import { NotFoundError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import type { Actor } from "../access/principal.js";
import { appendAudit, type SystemActor } from "../audit/audit.writer.js";
import type { CurrencyBill, TenantBill } from "./bill.types.js";
import { lockRunTenant, recordTenantOutcome } from "./billing-run-progress.js";
import { customerParty, loadBillingSettings, type EffectiveBillingSettings } from "./billing-settings.js";
import { computeTenantBill } from "./charges.js";
import { insertDraft, insertSimCharges } from "./invoice-drafts.js";
import { announceIssued, issueDraft, type IssuedDocument } from "./invoice-issue.js";
import type { BillingPeriod } from "./period.js";
import { decideVat } from "./vat.js";

/** The computation, as issuing calls it: `computeTenantBill` (charges.ts) unless a caller supplies its own. */
export type ComputeBill = (sql: SqlRunner, tenantId: string, period: BillingPeriod) => Promise<TenantBill>;

export interface BillTenantDeps {
  prisma: PrismaClient;
  jobs: JobRunner;
  compute?: ComputeBill;
}

export interface BillTenantOptions {
  /** Billing within a run: the tenant's run row is checked (done once only) and updated in the same transaction. */
  runId?: string;
  tenantId: string;
  period: BillingPeriod;
  actor: Actor | SystemActor;
  /** Issue the drafts at once (the billing settings' `autoIssue` for runs). */
  autoIssue: boolean;
  /** The billing settings, when the caller has just read them (a run's tenant job): saves reading them again. */
  settings?: EffectiveBillingSettings;
}

export type BillTenantResult =
  | { outcome: "invoiced"; invoiceIds: string[]; issued: IssuedDocument[] }
  | { outcome: "skipped"; reason: "already_invoiced" | "nothing_to_bill" }
  /** The run had already finished this tenant (a repeated job): nothing was done. */
  | { outcome: "already_done"; state: string };

/**
 * A large tenant's bill (100,000 SIMs) is computed and stored inside one transaction: give it time. The wait
 * for a pool connection is bounded separately.
 */
const TX = { maxWait: 60_000, timeout: 300_000 };

/** The advisory lock of one (tenant, period): held by whoever is billing that pair, until their commit. */
const lockKey = (tenantId: string, period: BillingPeriod) => `billing:${tenantId}:${period.key}`;

/** Only bills with something to charge become invoices: no lines, or only zero-amount lines, is nothing to bill. */
const hasCharges = (b: CurrencyBill) => b.lines.some((l) => l.netMinor !== 0n);

/**
 * Bills one tenant for one period, exactly once, in ONE transaction:
 *  1. `pg_advisory_xact_lock` on (tenant, period): a concurrent run for the same pair waits here until this one
 *     commits or rolls back, then sees its invoices;
 *  2. a live (not void) invoice of the tenant for the period, in any currency, means it is billed: skip (the
 *     partial unique index on (tenant, period, currency) would refuse a second one anyway);
 *  3. the bill is computed in this transaction (so late-usage deltas match what is stored), one draft per
 *     currency with charges, its lines and per-SIM charges (one set-based insert);
 *  4. with `autoIssue`, each draft is issued with its gapless number, still in this transaction;
 *  5. in a run, the tenant's outcome and the run's counters, still in this transaction.
 * After commit: webhooks, PDF and mail jobs. Any error rolls everything back, numbers included.
 */
export async function billTenant(deps: BillTenantDeps, opts: BillTenantOptions): Promise<BillTenantResult> {
  const compute = deps.compute ?? computeTenantBill;
  const { period, tenantId, runId } = opts;
  const result = await deps.prisma.$transaction(async (tx): Promise<BillTenantResult> => {
    if (runId) {
      const state = await lockRunTenant(tx, runId, tenantId);
      if (state !== "pending") return { outcome: "already_done", state: state ?? "not_in_run" };
    }
    // With the lock, for this transaction only: no JIT and no parallel workers. The computation's main statement
    // costs just above PostgreSQL's default jit_above_cost, so every tenant paid ~19 ms of compilation, and a
    // parallel plan started two workers per tenant: on the bench's 2 cores the run took 193 s instead of ~60 s.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey(tenantId, period)}, 0)), set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`;
    const tenant = await tx.tenant.findUnique({ where: { id: tenantId } });
    if (!tenant || tenant.kind !== "customer") throw new NotFoundError("Tenant");

    const live = await tx.invoice.findFirst({ where: { tenantId, kind: "invoice", periodStart: period.start, status: { not: "void" } }, select: { id: true } });
    const skip = async (reason: "already_invoiced" | "nothing_to_bill"): Promise<BillTenantResult> => {
      if (runId) await recordTenantOutcome(tx, runId, tenantId, { state: "skipped", error: reason });
      return { outcome: "skipped", reason };
    };
    if (live) return skip("already_invoiced");

    const bill = await compute(txSql(tx), tenantId, period);
    const bills = bill.bills.filter(hasCharges);
    if (bills.length === 0) return skip("nothing_to_bill");

    const settings = opts.settings ?? (await loadBillingSettings(tx));
    const customer = customerParty(tenant);
    const vat = decideVat(settings.issuer, customer, settings.vatRateOverrides);
    const invoiceIds: string[] = [];
    for (const b of bills) {
      const id = await insertDraft(tx, {
        tenantId,
        kind: "invoice",
        periodStart: period.start,
        periodEnd: period.end,
        currency: b.currency,
        supplier: settings.issuer,
        customer,
        vat,
        lines: b.lines.map((l, i) => ({ ...l, position: i + 1, vatRate: vat.rate })),
        billingRunId: runId ?? null,
      });
      await insertSimCharges(tx, id, b.simCharges);
      invoiceIds.push(id);
    }

    const issued: IssuedDocument[] = [];
    if (opts.autoIssue) {
      for (const id of invoiceIds) issued.push(await issueDraft(tx, id, { actor: opts.actor, settings }));
    } else {
      for (const id of invoiceIds) {
        await appendAudit(tx, opts.actor, { tenantId, action: "invoice.drafted", targetType: "invoice", targetId: id, data: { period: period.key, billingRunId: runId ?? null } });
      }
    }
    if (runId) await recordTenantOutcome(tx, runId, tenantId, { state: "invoiced", invoiceIds });
    return { outcome: "invoiced", invoiceIds, issued };
  }, TX);
  if (result.outcome === "invoiced") await announceIssued(deps.jobs, result.issued);
  return result;
}
