import type { NetworkConnector } from "../../connectors/network/network-connector.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { JobContext, JobRunner } from "../../platform/jobs/job-runner.js";
import { appendAudit, systemActor } from "../audit/audit.writer.js";
import { deliverSoon, emitWebhookEvent } from "../webhooks/webhook-events.js";
import { pendingChunk, type ChunkItem, type Counters } from "./engine.repository.js";
import type { RunningOperation } from "./engine.types.js";
import { runLifecycleChunk } from "./lifecycle-chunk.js";
import { runLocalChunk } from "./local-chunk.js";
import { isLifecycleAction, type OperationParams } from "./operation-decisions.js";
import { OPERATION_ATTEMPTS } from "./operation-requests.js";

/** The most SIMs one chunk holds, whatever the connector accepts: bounds each statement and transaction. */
export const MAX_CHUNK = 1000;
/**
 * Chunks of one operation in flight at once: while one waits on the network or PostgreSQL, another works.
 * Measured on 100,000 SIMs on the 2-core machine (docs/benchmarks.md): 1 chunk 23.9 s, 2 chunks 12.6-13.1 s,
 * 3 chunks 13.2 s. Two take the whole gain and keep 4 concurrent operations (the worker's concurrency) within
 * the default pool of 10 connections.
 */
export const CHUNK_CONCURRENCY = 2;

const ENGINE_ACTOR = systemActor("operations.run");

/**
 * From this many items, the first run refreshes operation_items' statistics before its first chunk. A new
 * operation's items are a bulk load the statistics do not know yet: PostgreSQL then takes the new operation for
 * a small one (every operation it has seen was) and answers the chunk statements from the index holding all its
 * pending items rather than the primary key, reading 100,000 entries per chunk. One ANALYZE (tens of ms,
 * sampled) fixes the estimates. Where the database user may not analyze the table, PostgreSQL only warns.
 */
export const ANALYZE_FROM_ITEMS = 10_000;

export interface EngineDeps {
  prisma: PrismaClient;
  network: NetworkConnector;
  jobs: () => JobRunner;
}

export interface RunResult {
  operationId: string;
  status: "completed" | "failed" | "not_runnable";
  counters?: Counters;
}

/**
 * The lifecycle engine: runs (or resumes) one operation's pending items, chunk by chunk, then completes it.
 * Safe to run again at any point: every step only acts on items still pending and SIMs still marked.
 */
export function createOperationEngine(deps: EngineDeps) {
  const { prisma } = deps;
  const percent = (c: Counters) => (c.total === 0 ? 100 : Math.floor(((c.succeeded + c.failed + c.skipped) * 100) / c.total));

  /** Hands webhook deliveries over; if the queue is down, the webhook sweep delivers them later anyway. */
  async function handOver(deliveryIds: string[], ctx: JobContext): Promise<void> {
    if (deliveryIds.length === 0) return;
    try {
      await deliverSoon(deps.jobs(), deliveryIds);
    } catch (err) {
      ctx.log(`operations.run: could not queue ${deliveryIds.length} webhook deliveries (the sweep will): ${(err as Error).message}`);
    }
  }

  async function runChunk(op: RunningOperation, items: ChunkItem[], ctx: JobContext): Promise<Counters | null> {
    if (!isLifecycleAction(op.action)) return runLocalChunk({ prisma }, op, items);
    const { counters, deliveryIds } = await runLifecycleChunk({ prisma, network: deps.network }, op, items);
    await handOver(deliveryIds, ctx);
    return counters;
  }

  /** Runs every pending item; returns the last progress reported. */
  async function processPending(op: RunningOperation, ctx: JobContext): Promise<number> {
    const size = Math.max(1, Math.min(deps.network.maxBatch, MAX_CHUNK));
    let after = 0;
    let done = false;
    let shown = -1;
    // Chunks are claimed one at a time, in seq order (the claim is serialised); the claimed chunks then run
    // side by side. Each locks only its own SIMs: two chunks meet only on the operation's counters row.
    let claiming: Promise<unknown> = Promise.resolve();
    const claim = (): Promise<ChunkItem[]> => {
      const next = claiming.then(async () => {
        if (done) return [];
        const items = await pendingChunk(prisma, op.tenantId, op.id, after, size);
        if (items.length === 0) done = true;
        else after = items[items.length - 1]!.seq;
        return items;
      });
      claiming = next.catch(() => undefined);
      return next;
    };
    const worker = async () => {
      try {
        for (let items = await claim(); items.length; items = await claim()) {
          const counters = await runChunk(op, items, ctx);
          if (counters && percent(counters) > shown) {
            shown = percent(counters);
            await ctx.progress(shown);
          }
        }
      } catch (err) {
        done = true; // the other workers stop after their current chunk; the job's next attempt resumes
        throw err;
      }
    };
    const outcomes = await Promise.allSettled(Array.from({ length: CHUNK_CONCURRENCY }, worker));
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failure) throw failure.reason;
    return shown;
  }

  return {
    async run(operationId: string, ctx: JobContext): Promise<RunResult> {
      const op = await begin(prisma, operationId);
      if (!op) return { operationId, status: "not_runnable" };
      try {
        if (op.firstRun && op.total >= ANALYZE_FROM_ITEMS) await prisma.$executeRawUnsafe("ANALYZE connectivity.operation_items");
        const shown = await processPending(op, ctx);
        const finished = await complete(prisma, op);
        if (!finished) throw new Error(`operation ${op.id}: items still pending after a full pass`);
        await handOver(finished.deliveryIds, ctx);
        if (shown < 100) await ctx.progress(100);
        return { operationId, status: "completed", counters: finished.counters };
      } catch (err) {
        if (ctx.attempt < OPERATION_ATTEMPTS) throw err;
        ctx.log(`operations.run: giving up on operation ${op.id} after ${ctx.attempt} attempts: ${(err as Error).stack ?? String(err)}`);
        const abandoned = await abandon(prisma, op);
        await handOver(abandoned.deliveryIds, ctx);
        return { operationId, status: "failed", counters: abandoned.counters };
      }
    },
  };
}

export type OperationEngine = ReturnType<typeof createOperationEngine>;

/** Marks the operation running and loads it (`firstRun`: it was queued); null when it is finished or gone. */
async function begin(prisma: PrismaClient, operationId: string): Promise<(RunningOperation & { firstRun: boolean; total: number }) | null> {
  const [row] = await prisma.$queryRaw<Array<RunningOperation & { params: unknown; firstRun: boolean; total: number }>>`
    UPDATE connectivity.operations o SET status = 'running', started_at = COALESCE(o.started_at, now())
    FROM (SELECT id, status AS before FROM connectivity.operations WHERE id = ${operationId}::uuid FOR UPDATE) b
    WHERE o.id = b.id AND o.status IN ('queued', 'running')
    RETURNING o.id, o.tenant_id AS "tenantId", o.action::text AS action, o.status::text AS status, o.params, o.reason_code AS "reasonCode",
      o.actor_type AS "actorType", o.actor_id AS "actorId", o.total, b.before = 'queued' AS "firstRun"`;
  return row ? { ...row, params: (row.params ?? {}) as OperationParams } : null;
}

/**
 * Completes the operation when no item is pending: status `completed` whatever the failures (the counters and
 * items say which SIMs failed and why; `failed` is kept for an operation that could not run to its end), an
 * audit event and an `operation.completed` webhook, once (only the run that flips the status writes them).
 * Null when items are still pending.
 */
async function complete(prisma: PrismaClient, op: RunningOperation): Promise<{ counters: Counters; deliveryIds: string[] } | null> {
  return prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<Array<Counters & { status: string }>>`
      UPDATE connectivity.operations SET status = 'completed', completed_at = now()
      WHERE id = ${op.id}::uuid AND status = 'running'
        AND NOT EXISTS (SELECT 1 FROM connectivity.operation_items WHERE tenant_id = ${op.tenantId}::uuid AND operation_id = ${op.id}::uuid AND state = 'pending')
      RETURNING total, succeeded, failed, skipped, status::text AS status`;
    if (!row) {
      const [current] = await tx.$queryRaw<Array<Counters & { status: string }>>`
        SELECT total, succeeded, failed, skipped, status::text AS status FROM connectivity.operations WHERE id = ${op.id}::uuid`;
      // Another run finished it first: nothing more to say. Still running: items remain (the caller retries).
      return current && current.status !== "running" ? { counters: current, deliveryIds: [] } : null;
    }
    const counters = { total: row.total, succeeded: row.succeeded, failed: row.failed, skipped: row.skipped };
    await appendAudit(tx, ENGINE_ACTOR, { tenantId: op.tenantId, action: "operation.completed", targetType: "operation", targetId: op.id, data: { action: op.action, ...counters } });
    const deliveryIds = await emitWebhookEvent(tx, { tenantId: op.tenantId, type: "operation.completed", data: { id: op.id, action: op.action, status: "completed", reasonCode: op.reasonCode, ...counters } });
    return { counters, deliveryIds };
  }, { maxWait: 30_000, timeout: 60_000 });
}

/**
 * The last attempt failed (the connector or the database kept failing): the items still pending fail with
 * `operation_abandoned`, their SIMs are released (a new operation may retry them), and the operation ends
 * `failed`. The cause stays in the log; the operation shows a sentence the customer can act on.
 */
async function abandon(prisma: PrismaClient, op: RunningOperation): Promise<{ counters: Counters; deliveryIds: string[] }> {
  const error = `Stopped after ${OPERATION_ATTEMPTS} attempts: the network or the platform kept failing. SIMs still pending were not changed; request them again.`;
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`
      UPDATE connectivity.sims SET pending_operation_id = NULL, pending_action = NULL, updated_at = now()
      WHERE tenant_id = ${op.tenantId}::uuid AND pending_operation_id = ${op.id}::uuid`;
    const [row] = await tx.$queryRaw<Counters[]>`
      WITH upd AS (
        UPDATE connectivity.operation_items SET state = 'failed', reason = 'operation_abandoned', processed_at = now()
        WHERE tenant_id = ${op.tenantId}::uuid AND operation_id = ${op.id}::uuid AND state = 'pending' RETURNING 1)
      UPDATE connectivity.operations SET failed = failed + (SELECT count(*) FROM upd), status = 'failed', error = ${error}, completed_at = now()
      WHERE id = ${op.id}::uuid
      RETURNING total, succeeded, failed, skipped`;
    const counters = row ?? { total: 0, succeeded: 0, failed: 0, skipped: 0 };
    await appendAudit(tx, ENGINE_ACTOR, { tenantId: op.tenantId, action: "operation.failed", targetType: "operation", targetId: op.id, data: { action: op.action, ...counters } });
    const deliveryIds = await emitWebhookEvent(tx, { tenantId: op.tenantId, type: "operation.completed", data: { id: op.id, action: op.action, status: "failed", reasonCode: op.reasonCode, ...counters } });
    return { counters, deliveryIds };
  }, { maxWait: 30_000, timeout: 60_000 });
}
