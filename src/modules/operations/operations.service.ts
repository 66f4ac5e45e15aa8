import type { Operation, Prisma } from "../../generated/prisma/client.js";
import type { SimStatus } from "../../generated/prisma/enums.js";
import { decodeCursor, invalidCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { ConflictError, NotFoundError, UnprocessableError, ValidationError } from "../../platform/errors.js";
import { validateIccid } from "../../platform/identifiers.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { allowedActions, canApply, type LifecycleAction } from "../sims/lifecycle.js";
import { dryRun, type ResolvedSelection } from "./dry-run.js";
import { reserveSims } from "./engine.repository.js";
import type { OperationParams, OperationSpec } from "./operation-decisions.js";
import { startOperation } from "./operation-requests.js";
import { MAX_SELECTION, checkIccids, countFilter, insertItemsForFilter, parseCsvIccids } from "./operation-selection.js";
import { toItemView, toSummary, toView } from "./operation-view.js";
import { insertItemsForIccids, insertItemsForSimIds, insertOperation, setTotals, type Selection } from "./operations.repository.js";
import type { BulkOperationBody, DryRunResult, ItemListQuery, LifecycleBody, OperationItemView, OperationListQuery, OperationSummary, OperationView } from "./operations.schemas.js";

export type OperationsService = ReturnType<typeof createOperationsService>;

/** The reason code of a change a customer asks for without naming one. */
export const DEFAULT_REASON_CODE = "customer_request";
const FAILURES_SHOWN = 100;
const PAST: Record<LifecycleAction, string> = { activate: "activated", suspend: "suspended", resume: "resumed", terminate: "terminated" };

/**
 * Lifecycle requests (one SIM) and bulk operations, and reading them back. Every change is an operation run by
 * the engine (operation-engine.ts) after the request's transaction commits; the request answers 202 at once.
 */
export function createOperationsService(deps: { prisma: PrismaClient; jobs: JobRunner }) {
  const { prisma, jobs } = deps;

  async function findVisible(actor: Actor, id: string): Promise<Operation> {
    authorize(actor, "read", "Operation");
    const op = await prisma.operation.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Operation"), { id }] } });
    if (!op) throw new NotFoundError("Operation");
    return op;
  }

  async function view(op: Operation): Promise<OperationView> {
    const failures = op.failed === 0 ? [] : await prisma.operationItem.findMany({
      where: { tenantId: op.tenantId, operationId: op.id, state: "failed" },
      orderBy: { seq: "asc" },
      take: FAILURES_SHOWN,
      select: { iccid: true, reason: true },
    });
    return toView(op, failures);
  }

  /**
   * The 409 a single-SIM request gets when the SIM cannot take the action now. The SIM's state goes in
   * `simStatus`: `status` in a problem document is the HTTP status (RFC 9457).
   */
  function refuseIfBlocked(sim: { status: string; pendingOperationId: string | null }, action: LifecycleAction, iccid: string): void {
    const status = sim.status as SimStatus;
    if (sim.pendingOperationId) {
      throw new ConflictError(`SIM ${iccid} has an operation in progress (${sim.pendingOperationId}); wait for it to complete.`, "operation_pending", { operationId: sim.pendingOperationId });
    }
    if (!canApply(action, status)) {
      const allowed = allowedActions(status);
      throw new ConflictError(`A ${status} SIM cannot be ${PAST[action]}; allowed: ${allowed.length ? allowed.join(", ") : "none"}.`, "illegal_transition", { simStatus: status, action, allowed });
    }
  }

  return {
    /**
     * activate | suspend | resume | terminate one SIM. The transition is checked now (409 with the allowed
     * actions); the SIM is marked with the new operation in the same transaction, so a second request before
     * it completes gets 409 `operation_pending` rather than a second operation.
     */
    async requestLifecycle(actor: Actor, rawIccid: string, action: LifecycleAction, body: LifecycleBody | undefined): Promise<OperationView> {
      authorize(actor, "create", "Operation");
      const parsed = validateIccid(rawIccid);
      if (!parsed.ok) throw new ValidationError(`/params/iccid ${parsed.reason}`, [{ field: "/params/iccid", reason: parsed.reason }]);
      const iccid = parsed.value;
      const sim = await prisma.sim.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Sim"), { iccid }] }, select: { id: true, tenantId: true } });
      if (!sim) throw new NotFoundError("SIM");
      authorize(actor, "create", "Operation", { tenantId: sim.tenantId });
      const reasonCode = body?.reasonCode ?? DEFAULT_REASON_CODE;

      const operationId = await prisma.$transaction(async (tx) => {
        // Checked under the row lock: the engine takes the same lock before it marks or changes a SIM.
        const [locked] = await tx.$queryRaw<Array<{ status: string; pendingOperationId: string | null }>>`
          SELECT status::text AS status, pending_operation_id AS "pendingOperationId" FROM connectivity.sims WHERE id = ${sim.id}::uuid FOR UPDATE`;
        if (!locked) throw new NotFoundError("SIM");
        refuseIfBlocked(locked, action, iccid);
        const id = await insertOperation(tx, { tenantId: sim.tenantId, action, params: {}, selection: { kind: "sim", iccid }, reasonCode, actor });
        const total = await insertItemsForSimIds(tx, sim.tenantId, id, [sim.id]);
        await setTotals(tx, id, total, 0);
        await reserveSims(tx, id, action, [sim.id]);
        await appendAudit(tx, actor, { tenantId: sim.tenantId, action: `sim.${action}_requested`, targetType: "sim", targetId: iccid, data: { operationId: id, reasonCode } });
        return id;
      });
      await startOperation(jobs, operationId);
      return view(await prisma.operation.findUniqueOrThrow({ where: { id: operationId } }));
    },

    /**
     * A bulk operation over the caller's tenant: by ICCIDs, a CSV of them, or a filter. Unknown ICCIDs (and
     * other tenants' ICCIDs, which are unknown here) do not stop it: they are listed as failed items
     * (`unknown_iccid`) and the known SIMs proceed. A dry run answers what would happen and writes nothing.
     */
    async createBulk(actor: Actor, body: BulkOperationBody): Promise<{ dryRun: DryRunResult } | { operation: OperationView }> {
      const principal = authorize(actor, "create", "Operation");
      const tenantId = principal.tenantId;
      authorize(actor, "create", "Operation", { tenantId });
      const params = checkParams(body);
      if (params.ratePlanId) {
        const plan = await prisma.ratePlan.findUnique({ where: { id: params.ratePlanId }, select: { status: true } });
        if (!plan) throw new UnprocessableError(`Rate plan ${params.ratePlanId} does not exist.`, "rate_plan_not_found");
        if (plan.status !== "active") throw new UnprocessableError(`Rate plan ${params.ratePlanId} is retired: SIMs cannot move to it.`, "rate_plan_not_active");
      }
      const selection = resolveSelection(body);
      const size = selection.kind === "filter" ? await countFilter(prisma, tenantId, selection.filter) : selection.iccids.length;
      if (size > MAX_SELECTION) {
        throw new UnprocessableError(`The selection holds ${size} SIMs; one operation takes at most ${MAX_SELECTION}. Split it.`, "selection_too_large");
      }
      const reasonCode = body.reasonCode ?? DEFAULT_REASON_CODE;
      const spec: OperationSpec = { tenantId, action: body.action, params };
      if (body.dryRun) return { dryRun: await dryRun(prisma, spec, selection) };

      const operationId = await prisma.$transaction(
        async (tx) => {
          // The selection as given (the filter itself, or how many ICCIDs and how many were unknown).
          const stored: Selection = selection.kind === "filter" ? { kind: "filter", filter: selection.filter as Record<string, unknown> } : { kind: selection.kind, count: selection.iccids.length, unknown: 0 };
          const id = await insertOperation(tx, { tenantId, action: body.action, params: params as Record<string, unknown>, selection: stored, reasonCode, actor });
          let total: number;
          let unknown = 0;
          if (selection.kind === "filter") {
            total = await insertItemsForFilter(tx, tenantId, id, selection.filter);
          } else {
            ({ total, unknown } = await insertItemsForIccids(tx, tenantId, id, selection.iccids));
            if (unknown) await tx.operation.update({ where: { id }, data: { selection: { ...stored, unknown } as object } });
          }
          await setTotals(tx, id, total, unknown);
          await appendAudit(tx, actor, {
            tenantId,
            action: "operation.created",
            targetType: "operation",
            targetId: id,
            data: { action: body.action, reasonCode, selection: selection.kind, total, unknown, ...params },
          });
          return id;
        },
        { maxWait: 30_000, timeout: 120_000 },
      );
      await startOperation(jobs, operationId);
      return { operation: await view(await prisma.operation.findUniqueOrThrow({ where: { id: operationId } })) };
    },

    async list(actor: Actor, query: OperationListQuery): Promise<{ items: OperationSummary[]; nextCursor: string | null }> {
      authorize(actor, "read", "Operation");
      const before = decodeCursor(query.cursor, ["id"] as const);
      const where: Prisma.OperationWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("Operation"),
          query.status ? { status: query.status } : {},
          query.action ? { action: query.action } : {},
          // Newest first; ids are UUIDv7, so id order is creation order.
          before ? { id: { lt: before.id } } : {},
        ],
      };
      const rows = await prisma.operation.findMany({ where, orderBy: { id: "desc" }, take: query.limit + 1 });
      const result = page(rows, query.limit, (o) => ({ id: o.id }));
      return { items: result.items.map(toSummary), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, id: string): Promise<OperationView> {
      return view(await findVisible(actor, id));
    },

    /** The operation's SIMs in selection order, with each one's outcome. */
    async listItems(actor: Actor, id: string, query: ItemListQuery): Promise<{ items: OperationItemView[]; nextCursor: string | null }> {
      const op = await findVisible(actor, id);
      const after = decodeCursor(query.cursor, ["seq"] as const);
      const afterSeq = after ? Number(after.seq) : 0;
      if (!Number.isInteger(afterSeq)) throw invalidCursor();
      const rows = await prisma.operationItem.findMany({
        where: { tenantId: op.tenantId, operationId: op.id, seq: { gt: afterSeq }, ...(query.state ? { state: query.state } : {}) },
        orderBy: { seq: "asc" },
        take: query.limit + 1,
      });
      const result = page(rows, query.limit, (i) => ({ seq: String(i.seq) }));
      return { items: result.items.map(toItemView), nextCursor: result.nextCursor };
    },
  };
}

/** The action's parameters: required where the action needs them, refused where it does not (400 per field). */
function checkParams(body: BulkOperationBody): OperationParams {
  const errors: Array<{ field: string; reason: string }> = [];
  const notFor = (field: string) => errors.push({ field: `/body/${field}`, reason: `is not allowed for action ${body.action}` });
  if (body.action === "change_rate_plan") {
    if (!body.ratePlanId) errors.push({ field: "/body/ratePlanId", reason: "is required for action change_rate_plan" });
  } else if (body.ratePlanId !== undefined) notFor("ratePlanId");
  if (body.action === "set_labels") {
    if (!body.labels) errors.push({ field: "/body/labels", reason: "is required for action set_labels" });
    else if (body.labels.length === 0 && body.mode !== "replace") errors.push({ field: "/body/labels", reason: "must not be empty (to remove every label, use mode replace with [])" });
  } else {
    if (body.labels !== undefined) notFor("labels");
    if (body.mode !== undefined) notFor("mode");
  }
  if (errors.length) throw new ValidationError(errors.map((e) => `${e.field} ${e.reason}`).join("; "), errors);
  if (body.action === "change_rate_plan") return { ratePlanId: body.ratePlanId! };
  if (body.action === "set_labels") return { labels: [...new Set(body.labels!)], mode: body.mode ?? "add" };
  return {};
}

/** Exactly one of `iccids`, `filter`, `csv`; ICCIDs checked in full (the 400 names each bad one). */
function resolveSelection(body: BulkOperationBody): ResolvedSelection {
  const given = (["iccids", "filter", "csv"] as const).filter((k) => body[k] !== undefined);
  if (given.length !== 1) {
    const reason = given.length === 0 ? "one of iccids, filter or csv is required" : `give only one of iccids, filter or csv (got ${given.join(", ")})`;
    throw new ValidationError(`/body ${reason}`, [{ field: given.length ? `/body/${given[1]}` : "/body", reason }]);
  }
  if (body.filter) return { kind: "filter", filter: body.filter };
  if (body.iccids) return { kind: "iccids", iccids: checkIccids(body.iccids) };
  const iccids = parseCsvIccids(body.csv!);
  if (iccids.length === 0) throw new ValidationError("/body/csv holds no ICCID", [{ field: "/body/csv", reason: "holds no ICCID" }]);
  return { kind: "csv", iccids };
}
