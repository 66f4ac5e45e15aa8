import { systemActor } from "../../src/modules/audit/audit.writer.js";
import type { BillLine } from "../../src/modules/billing/bill.types.js";
import { billTenant } from "../../src/modules/billing/issuing.js";
import type { TestApp } from "../helpers/build.js";
import { eurBill, handCompute, period } from "../billing/issuing-helpers.js";

/** Helpers of the invoice-action tests: an invoice (issued or draft) made by the real issuing code from given lines. */

const ACTOR = systemActor("test-invoices");
let month = 0;

/**
 * Bills `tenantId` for a period of its own (each call a new month of 2024-2025, so a tenant can hold several
 * invoices) with these lines, issued unless `draft`. Answers the invoice row.
 */
export async function invoiceWith(ctx: TestApp, tenantId: string, lines: BillLine[], opts: { draft?: boolean; periodKey?: string } = {}) {
  const n = month++;
  const key = opts.periodKey ?? `${2024 + Math.floor(n / 12)}-${String((n % 12) + 1).padStart(2, "0")}`;
  const compute = handCompute(new Map([[tenantId, [eurBill(lines)]]]));
  const result = await billTenant({ prisma: ctx.prisma, jobs: ctx.runtime.jobs, compute }, { tenantId, period: period(key), actor: ACTOR, autoIssue: !opts.draft });
  if (result.outcome !== "invoiced") throw new Error(`not invoiced: ${JSON.stringify(result)}`);
  return ctx.prisma.invoice.findUniqueOrThrow({ where: { id: result.invoiceIds[0]! }, include: { lines: { orderBy: { position: "asc" } } } });
}
