import type { AuditEvent, Prisma } from "../../generated/prisma/client.js";
import { decodeCursor, encodeCursor } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { ValidationError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import type { AuditEventView, AuditExportQuery, AuditFilter, AuditListQuery, AuditVerification, AuditVerifyQuery } from "./audit.schemas.js";
import { verifyChain } from "./audit.verify.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";

export type AuditService = ReturnType<typeof createAuditService>;

/** Rows per query while an export streams. */
export const EXPORT_PAGE = 500;

/**
 * Reading the audit log: pages for the API, a paged stream for the CSV export, and chain verification.
 * Writing is src/modules/audit/audit.writer.ts, called inside each state change's transaction.
 */
export function createAuditService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /**
   * Whose log: the caller's own tenant, or (platform staff) the one named. A tenant the caller may not read, or
   * that does not exist, answers 404 like any other tenant's object.
   */
  async function resolveTenant(actor: Actor, tenantId: string | undefined): Promise<string> {
    const principal = authorize(actor, "read", "AuditEvent");
    if (!tenantId || tenantId === principal.tenantId) return principal.tenantId;
    await requireVisibleTenant(prisma, actor, tenantId, "AuditEvent");
    return tenantId;
  }

  /** The filters as one `where`; the CASL rules are part of it, so no other tenant's row can match. */
  function whereOf(actor: Actor, tenantId: string, f: AuditFilter): Prisma.AuditEventWhereInput {
    const from = f.from ? new Date(f.from) : undefined;
    const to = f.to ? new Date(f.to) : undefined;
    if (from && to && to < from) throw new ValidationError("`to` is before `from`.", [{ field: "/query/to", reason: "must not be before from" }]);
    const action = f.action?.endsWith(".*") ? { startsWith: f.action.slice(0, -1) } : f.action;
    return {
      AND: [
        accessibleBy(actor.ability, "read").ofType("AuditEvent"),
        { tenantId },
        action !== undefined ? { action } : {},
        f.actorId !== undefined ? { actorId: f.actorId } : {},
        f.targetType !== undefined ? { targetType: f.targetType } : {},
        f.targetId !== undefined ? { targetId: f.targetId } : {},
        from || to ? { at: { ...(from && { gte: from }), ...(to && { lt: to }) } } : {},
      ],
    };
  }

  /** The cursor names its tenant, so a page of one tenant's log cannot continue in another's. */
  function seqAfter(cursor: string | undefined, tenantId: string): bigint | undefined {
    const key = decodeCursor(cursor, ["t", "seq"] as const);
    if (!key) return undefined;
    if (key.t !== tenantId || !/^[1-9][0-9]{0,18}$/.test(key.seq)) {
      throw new ValidationError("The cursor belongs to another listing.", [{ field: "/query/cursor", reason: "is not a valid cursor for these filters" }]);
    }
    return BigInt(key.seq);
  }

  /** Newest first by seq; each page is one indexed query on (tenant_id, seq). */
  async function pageOf(where: Prisma.AuditEventWhereInput, before: bigint | undefined, take: number): Promise<AuditEvent[]> {
    return prisma.auditEvent.findMany({ where: before ? { AND: [where, { seq: { lt: before } }] } : where, orderBy: { seq: "desc" }, take });
  }

  return {
    async list(actor: Actor, query: AuditListQuery): Promise<{ items: AuditEventView[]; nextCursor: string | null }> {
      const { limit, cursor, tenantId: asked, ...filter } = query;
      const tenantId = await resolveTenant(actor, asked);
      const where = whereOf(actor, tenantId, filter);
      const rows = await pageOf(where, seqAfter(cursor, tenantId), limit + 1);
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return {
        items: items.map(toView),
        nextCursor: rows.length > limit && last ? encodeCursor({ t: tenantId, seq: last.seq.toString() }) : null,
      };
    },

    /**
     * Authorizes and checks the filters now (so refusals are ordinary problem replies), then returns the events
     * as pages read lazily: the next query runs only when the consumer asks for more, so an export of any size
     * holds one page in memory. Events appended while it runs are newer than its first page and not included.
     */
    async export(actor: Actor, query: AuditExportQuery): Promise<{ tenantId: string; pages: AsyncGenerator<AuditEventView[]> }> {
      const { tenantId: asked, ...filter } = query;
      const tenantId = await resolveTenant(actor, asked);
      const where = whereOf(actor, tenantId, filter);
      async function* pages(): AsyncGenerator<AuditEventView[]> {
        let before: bigint | undefined;
        for (;;) {
          const rows = await pageOf(where, before, EXPORT_PAGE);
          if (rows.length) yield rows.map(toView);
          if (rows.length < EXPORT_PAGE) return;
          before = rows[rows.length - 1]!.seq;
        }
      }
      return { tenantId, pages: pages() };
    },

    async verify(actor: Actor, query: AuditVerifyQuery): Promise<AuditVerification> {
      const tenantId = await resolveTenant(actor, query.tenantId);
      return verifyChain(prisma, tenantId);
    },
  };
}

/** The fields allowed out: never the chain's hashes. */
export function toView(e: AuditEvent): AuditEventView {
  return {
    id: e.id,
    seq: Number(e.seq),
    tenantId: e.tenantId,
    at: e.at.toISOString(),
    actorType: e.actorType as AuditEventView["actorType"],
    actorId: e.actorId,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    ip: e.ip,
    userAgent: e.userAgent,
    requestId: e.requestId,
    data: (e.data ?? {}) as Record<string, unknown>,
  };
}
