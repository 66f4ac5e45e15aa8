import type { BillingRun, Prisma } from "../../generated/prisma/client.js";
import { decodeTimeIdCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { NotFoundError, UnprocessableError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import { principalId, type Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { startRun } from "./billing-run-plan.js";
import type { BillingRunCreateBody, BillingRunDetail, BillingRunListQuery, BillingRunPage, BillingRunView } from "./billing-runs.schemas.js";
import { isoDate, parsePeriod } from "./period.js";

export type BillingRunsService = ReturnType<typeof createBillingRunsService>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toBillingRunView(r: BillingRun): BillingRunView {
  return {
    id: r.id,
    period: isoDate(r.periodStart).slice(0, 7),
    tenantId: r.tenantId,
    status: r.status,
    trigger: r.trigger === "schedule" ? "schedule" : "manual",
    counts: { tenantsTotal: r.tenantsTotal, tenantsDone: r.tenantsDone, invoicesCreated: r.invoicesCreated, tenantsSkipped: r.tenantsSkipped, tenantsFailed: r.tenantsFailed },
    error: r.error,
    createdBy: { type: r.actorType, id: r.actorId },
    createdAt: r.createdAt.toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
  };
}

/**
 * Billing runs on demand and their progress (platform owners, admins and billing staff: `create/read
 * BillingRun`). A run bills every customer tenant, or one, for a period that has ended; the work is done by the
 * `billing.run` and `billing.tenant` jobs (billing-run-plan.ts, billing-run-tenant.ts), exactly once per tenant
 * and period however many runs there are.
 */
export function createBillingRunsService(deps: { prisma: PrismaClient; jobs: JobRunner }) {
  const { prisma, jobs } = deps;

  return {
    async create(actor: Actor, body: BillingRunCreateBody): Promise<BillingRunView> {
      const principal = authorize(actor, "create", "BillingRun");
      const period = parsePeriod(body.period)!;
      if (period.end.getTime() > Date.now()) {
        throw new UnprocessableError(`The period ${period.key} has not ended yet: it can be billed from ${period.end.toISOString()} on.`, "period_not_ended");
      }
      if (body.tenantId) {
        const tenant = await prisma.tenant.findUnique({ where: { id: body.tenantId }, select: { kind: true } });
        if (!tenant || tenant.kind !== "customer") throw new NotFoundError("Tenant");
      }
      const run = await prisma.$transaction(async (tx) => {
        const created = await tx.billingRun.create({
          data: { periodStart: period.start, tenantId: body.tenantId ?? null, trigger: "manual", actorType: principal.kind, actorId: principalId(principal), requestId: actor.requestId },
        });
        await appendAudit(tx, actor, {
          tenantId: principal.tenantId,
          action: "billing_run.created",
          targetType: "billing_run",
          targetId: created.id,
          data: { period: period.key, tenantId: body.tenantId ?? null, trigger: "manual" },
        });
        return created;
      });
      await startRun(jobs, run.id);
      return toBillingRunView(run);
    },

    async list(actor: Actor, query: BillingRunListQuery): Promise<BillingRunPage> {
      authorize(actor, "read", "BillingRun");
      const after = decodeTimeIdCursor(query.cursor);
      const where: Prisma.BillingRunWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("BillingRun"),
          query.period ? { periodStart: parsePeriod(query.period)!.start } : {},
          query.status ? { status: query.status } : {},
          after ? { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] } : {},
        ],
      };
      const rows = await prisma.billingRun.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: query.limit + 1 });
      const { items, nextCursor } = page(rows, query.limit, (r) => ({ at: r.createdAt.toISOString(), id: r.id }));
      return { items: items.map(toBillingRunView), nextCursor };
    },

    /** The run with its tenants by state and every failed tenant's error. */
    async get(actor: Actor, id: string): Promise<BillingRunDetail> {
      authorize(actor, "read", "BillingRun");
      const run = await prisma.billingRun.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("BillingRun"), { id }] } });
      if (!run) throw new NotFoundError("Billing run");
      const byState = await prisma.billingRunTenant.groupBy({ by: ["state"], where: { runId: id }, _count: { _all: true } });
      const count = (s: string) => byState.find((b) => b.state === s)?._count._all ?? 0;
      const failures = await prisma.$queryRaw<Array<{ tenantId: string; tenantName: string; error: string | null }>>`
        SELECT rt.tenant_id::text AS "tenantId", t.legal_name AS "tenantName", rt.error
        FROM enterprise.billing_run_tenants rt JOIN enterprise.tenants t ON t.id = rt.tenant_id
        WHERE rt.run_id = ${id}::uuid AND rt.state = 'failed' ORDER BY t.legal_name, rt.tenant_id`;
      return {
        ...toBillingRunView(run),
        tenants: { pending: count("pending"), invoiced: count("invoiced"), skipped: count("skipped"), failed: count("failed") },
        failures: failures.map((f) => ({ tenantId: f.tenantId, tenantName: f.tenantName, error: f.error ?? "unknown" })),
      };
    },
  };
}
