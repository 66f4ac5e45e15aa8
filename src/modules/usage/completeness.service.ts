import type { Db, PrismaClient } from "../../platform/db/database.js";
import { ConflictError, ValidationError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { principalId, type Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { readCompleteness } from "./completeness.js";
import { MAX_FUTURE_MINUTES, type CompletenessBody, type CompletenessQuery, type CompletenessView } from "./completeness.schemas.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";

export type CompletenessService = ReturnType<typeof createCompletenessService>;

interface WatermarkRow {
  complete_through: Date;
  previous_through: Date | null;
  declared_at: Date;
}

/**
 * Completeness declarations ("usage final through T") and the completeness of a tenant's figures.
 * A feed declares that it has delivered every record that started before T: the platform's staff and keys for the
 * operator's mediation feed (the platform tenant's row, covering every tenant), a customer's owners, admins and
 * `usage:write` keys for the tenant's own feed. Reading needs `read UsageDaily` (everyone who reads usage).
 */
export function createCompletenessService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  /** The tenant whose completeness is asked: the caller's, or (platform staff) a named one; another's is 404. */
  async function resolveTenant(actor: Actor, tenantId: string | undefined): Promise<string> {
    const principal = authorize(actor, "read", "UsageDaily");
    if (!tenantId || tenantId === principal.tenantId) return principal.tenantId;
    await requireVisibleTenant(prisma, actor, tenantId, "UsageDaily");
    return tenantId;
  }

  return {
    async get(actor: Actor, query: CompletenessQuery): Promise<CompletenessView> {
      const tenantId = await resolveTenant(actor, query.tenantId);
      return completenessView(prisma, tenantId);
    },

    /**
     * Moves the caller's feed's watermark forward. An earlier instant than the one declared is refused (409
     * `completeness_regression`: a feed cannot take back what it declared); the same instant again changes
     * nothing; more than MAX_FUTURE_MINUTES ahead is refused (400). The declaration before it stays the answer
     * until every record received before this one is rolled up (see readCompleteness).
     */
    async declare(actor: Actor, body: CompletenessBody): Promise<CompletenessView> {
      const principal = authorize(actor, "create", "UsageWatermark");
      const tenantId = principal.tenantId;
      authorize(actor, "create", "UsageWatermark", { tenantId });
      const through = new Date(body.completeThrough);
      if (Number.isNaN(through.getTime())) throw fieldError("is not a valid date-time");
      if (through.getTime() > Date.now() + MAX_FUTURE_MINUTES * 60_000) throw fieldError(`is more than ${MAX_FUTURE_MINUTES} minutes in the future`);
      const platformFeed = principal.tenantKind === "platform";

      await prisma.$transaction(async (tx) => {
        const current = await lockWatermark(tx, tenantId, through, principalId(principal));
        if (current === "created") {
          await audit(tx, actor, tenantId, through, null);
          return;
        }
        if (through < current.complete_through) {
          throw new ConflictError(
            `Usage was already declared complete through ${current.complete_through.toISOString()}; a declaration cannot move back.`,
            "completeness_regression",
            { completeThrough: current.complete_through.toISOString() },
          );
        }
        if (through.getTime() === current.complete_through.getTime()) return;
        // The declaration being replaced becomes the fallback only if it already counts (every record received
        // before it is rolled up); otherwise the fallback it had stays, so the answer never runs ahead of the totals.
        const counted = current.declared_at <= (await rolledUpThrough(tx, platformFeed ? null : tenantId));
        const previous = counted ? current.complete_through : current.previous_through;
        await tx.$executeRaw`
          UPDATE connectivity.usage_watermarks
          SET complete_through = ${through}, previous_through = ${previous}, declared_at = now(), declared_by = ${principalId(principal)}
          WHERE tenant_id = ${tenantId}::uuid`;
        await audit(tx, actor, tenantId, through, current.complete_through);
      });
      return completenessView(prisma, tenantId);
    },
  };
}

const fieldError = (reason: string) => new ValidationError(`/body/completeThrough ${reason}`, [{ field: "/body/completeThrough", reason }]);

/** The feed's row locked for the transaction, or "created" when this is its first declaration. */
async function lockWatermark(tx: Db, tenantId: string, through: Date, declaredBy: string): Promise<WatermarkRow | "created"> {
  for (;;) {
    const [row] = await tx.$queryRaw<WatermarkRow[]>`
      SELECT complete_through, previous_through, declared_at FROM connectivity.usage_watermarks WHERE tenant_id = ${tenantId}::uuid FOR UPDATE`;
    if (row) return row;
    const inserted = await tx.$executeRaw`
      INSERT INTO connectivity.usage_watermarks (tenant_id, complete_through, previous_through, declared_at, declared_by)
      VALUES (${tenantId}::uuid, ${through}, NULL, now(), ${declaredBy})
      ON CONFLICT (tenant_id) DO NOTHING`;
    if (inserted === 1) return "created";
    // A first declaration of the same feed committed meanwhile: lock that one.
  }
}

/**
 * Every record acknowledged before this instant is in the totals: the oldest waiting journal row's time (of one
 * tenant, or of any tenant for the platform's feed), or now when none waits.
 */
async function rolledUpThrough(tx: Db, tenantId: string | null): Promise<Date> {
  const [row] = await tx.$queryRaw<Array<{ at: Date }>>`
    SELECT coalesce(min(created_at), now()) AS at FROM connectivity.usage_rollup_journal
    WHERE ${tenantId}::uuid IS NULL OR tenant_id = ${tenantId}::uuid`;
  return row!.at;
}

async function audit(tx: Db, actor: Actor, tenantId: string, through: Date, before: Date | null): Promise<void> {
  await appendAudit(tx, actor, {
    tenantId,
    action: "usage.completeness_declared",
    targetType: "usage_watermark",
    targetId: tenantId,
    data: { completeThrough: through.toISOString(), previousThrough: before?.toISOString() ?? null },
  });
}

/** The tenant's completeness and the declarations it rests on (the platform's feed first). */
async function completenessView(prisma: PrismaClient, tenantId: string): Promise<CompletenessView> {
  const [completeness, declarations] = await Promise.all([
    readCompleteness(prisma, tenantId),
    prisma.$queryRaw<Array<{ platform: boolean; complete_through: Date; declared_at: Date }>>`
      SELECT t.kind = 'platform' AS platform, w.complete_through, w.declared_at
      FROM connectivity.usage_watermarks w
      JOIN enterprise.tenants t ON t.id = w.tenant_id
      WHERE w.tenant_id = ${tenantId}::uuid OR t.kind = 'platform'
      ORDER BY platform DESC, w.declared_at`,
  ]);
  return {
    tenantId,
    rolledUpThrough: completeness.rolledUpThrough.toISOString(),
    finalThrough: completeness.finalThrough?.toISOString() ?? null,
    declarations: declarations.map((d) => ({ scope: d.platform ? "platform" : "tenant", completeThrough: d.complete_through.toISOString(), declaredAt: d.declared_at.toISOString() })),
  };
}
