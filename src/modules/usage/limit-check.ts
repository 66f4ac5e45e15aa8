import { Prisma } from "../../generated/prisma/client.js";
import type { AlertKind, AlertSeverity } from "../../generated/prisma/enums.js";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { systemActor } from "../audit/audit.writer.js";
import { startOperation } from "../operations/operation-requests.js";
import { createAuditedOperation, groupByTenant } from "../operations/system-operations.js";
import { UUID_V7_SQL } from "../sims/sim-events.js";
import { bigintOut } from "../sims/sims.view.js";
import { deliverSoon, emitWebhookEvents, type WebhookEvent } from "../webhooks/webhook-events.js";

/**
 * The data-limit check: month-to-date usage of each SIM that has a limit (usage_daily) and of each tenant with a
 * pooled limit (usage_hourly), against the thresholds of the tenant's policy. Each threshold crossed raises one
 * alert per billing period and limit (the alert's dedupe key says which), with a `usage.threshold_crossed`
 * webhook; at 100 % of a SIM limit with `suspendAtLimit`, an active SIM is suspended (reason `data_limit`).
 *
 * Safe to run twice at once: alerts are raised with INSERT ... ON CONFLICT DO NOTHING and only the rows this
 * run inserted go on; a suspension is claimed by flipping the 100 % alert's `action` to `suspend` under a row
 * lock, so exactly one run asks for it.
 */

export const LIMITS_ACTOR = systemActor("usage-limits");
/** The reason code on the suspend operation (and so on the SIM's `statusReason` and history). */
export const DATA_LIMIT_REASON = "data_limit";
/** Thresholds when a tenant has no policy row: warn at 80 %, alert (and maybe suspend) at the limit. */
export const DEFAULT_THRESHOLDS = [80, 100];
/** Tenants per read and per transaction, so the sweep over every tenant holds nothing for long. */
const TENANTS_PER_BATCH = 50;
/** A chunk's transaction: one statement per kind of write, whatever the number of SIMs. */
const TX = { maxWait: 30_000, timeout: 60_000 };

/** The billing period: the UTC calendar month. */
export interface BillingPeriod {
  /** "2026-12" */
  month: string;
  start: Date;
  /** Exclusive: the next month's first instant. */
  end: Date;
}

export function billingPeriod(now: Date): BillingPeriod {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { month: start.toISOString().slice(0, 7), start, end };
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** What the check found over a limit, with the alert that crossing raises (whether it exists yet or not). */
interface Crossing {
  tenantId: string;
  /** null for the pooled limit. */
  simId: string | null;
  iccid: string | null;
  pct: number;
  limitBytes: bigint;
  usedBytes: bigint;
  dedupeKey: string;
  /** `data.action` of the existing alert: null when none exists yet. */
  existingAction: string | null;
  alertExists: boolean;
  /** SIM crossings only: whether a suspension may be asked now. */
  suspendable: boolean;
}

export interface LimitCheckResult {
  tenants: number;
  alerts: number;
  suspensions: number;
  operationIds: string[];
  deliveryIds: string[];
}

/**
 * Checks these tenants (every tenant with a limit when none is named), in batches, then starts the suspend
 * operations and hands the webhooks to the dispatcher after each batch commits. `now` picks the billing period
 * (tests pass a date in another month).
 */
export async function checkLimits(deps: { prisma: PrismaClient; jobs: JobRunner }, opts: { tenantIds?: string[]; now?: Date } = {}): Promise<LimitCheckResult> {
  const period = billingPeriod(opts.now ?? new Date());
  const tenantIds = opts.tenantIds ? await activeTenants(deps.prisma, opts.tenantIds) : await tenantsWithLimits(deps.prisma);
  const result: LimitCheckResult = { tenants: tenantIds.length, alerts: 0, suspensions: 0, operationIds: [], deliveryIds: [] };
  for (let i = 0; i < tenantIds.length; i += TENANTS_PER_BATCH) {
    const batch = tenantIds.slice(i, i + TENANTS_PER_BATCH);
    // Read outside any transaction (the sums are the heavy part); write only what is new.
    const crossings = [...(await simCrossings(deps.prisma, batch, period)), ...(await poolCrossings(deps.prisma, batch, period))];
    const toRaise = crossings.filter((c) => !c.alertExists);
    const toClaim = crossings.filter((c) => c.suspendable && c.existingAction !== "suspend");
    if (toRaise.length === 0 && toClaim.length === 0) continue;
    const done = await deps.prisma.$transaction((tx) => raiseAndSuspend(tx, period, toRaise, toClaim), TX);
    for (const id of done.operationIds) await startOperation(deps.jobs, id);
    await deliverSoon(deps.jobs, done.deliveryIds);
    result.alerts += done.alerts;
    result.suspensions += done.suspensions;
    result.operationIds.push(...done.operationIds);
    result.deliveryIds.push(...done.deliveryIds);
  }
  return result;
}

/** The named tenants that are active (a suspended or closed tenant's fleet is not watched), sorted. */
async function activeTenants(prisma: PrismaClient, ids: string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const rows = await prisma.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM enterprise.tenants WHERE id = ANY(${unique}::uuid[]) AND status = 'active' ORDER BY id`;
  return rows.map((r) => r.id);
}

/** The sweep's tenants: active ones with a pooled limit or at least one SIM with a limit. */
async function tenantsWithLimits(prisma: PrismaClient): Promise<string[]> {
  const rows = await prisma.$queryRaw<Array<{ id: string }>>`
    SELECT t.id FROM enterprise.tenants t
    WHERE t.status = 'active' AND (
      EXISTS (SELECT 1 FROM connectivity.usage_limits l WHERE l.tenant_id = t.id AND l.pooled_limit_bytes IS NOT NULL)
      OR EXISTS (SELECT 1 FROM connectivity.sims s WHERE s.tenant_id = t.id AND s.data_limit_bytes IS NOT NULL))
    ORDER BY t.id`;
  return rows.map((r) => r.id);
}

/**
 * Every (SIM, threshold) at or over its mark this period, with the key of the alert it raises. The limit itself
 * (100 %) always counts, whatever the policy lists. The key carries the limit: a SIM whose limit is raised (and
 * which was resumed) alerts and suspends again at its new limit in the same period.
 */
async function simCrossings(prisma: PrismaClient, tenantIds: string[], period: BillingPeriod): Promise<Crossing[]> {
  // Each step MATERIALIZED: computed once (inlined, the sums would be recomputed per threshold, or per alert row).
  // The sums join usage_daily on its key (tenant, SIM, day): only SIMs with a limit and usage this period.
  const rows = await prisma.$queryRaw<
    Array<{ tenantId: string; simId: string; iccid: string; pct: number; limitBytes: bigint; usedBytes: bigint; dedupeKey: string; alertExists: boolean; existingAction: string | null; suspendable: boolean }>
  >`
    WITH lim AS MATERIALIZED (
      SELECT s.tenant_id, s.id AS sim_id, s.iccid, s.data_limit_bytes AS limit_bytes,
        s.data_limit_suspend AND s.status = 'active' AND s.pending_operation_id IS NULL AS suspendable,
        coalesce(l.sim_thresholds, ARRAY[80, 100]) AS thresholds
      FROM connectivity.sims s
      LEFT JOIN connectivity.usage_limits l ON l.tenant_id = s.tenant_id
      WHERE s.tenant_id = ANY(${tenantIds}::uuid[]) AND s.data_limit_bytes IS NOT NULL AND s.status <> 'terminated'
    ),
    used AS MATERIALIZED (
      SELECT lim.sim_id, sum(u.bytes_up + u.bytes_down)::bigint AS used_bytes
      FROM lim
      JOIN connectivity.usage_daily u ON u.tenant_id = lim.tenant_id AND u.sim_id = lim.sim_id
        AND u.day >= ${day(period.start)}::date AND u.day < ${day(period.end)}::date
      GROUP BY lim.sim_id
    ),
    crossed AS MATERIALIZED (
      SELECT lim.tenant_id, lim.sim_id, lim.iccid, lim.limit_bytes, lim.suspendable, used.used_bytes, p.pct,
        (CASE WHEN p.pct >= 100 THEN 'data_limit' ELSE 'usage_threshold' END) || ':' || lim.sim_id || ':' || ${period.month}::text || ':' || p.pct || ':' || lim.limit_bytes AS dedupe_key
      FROM lim
      JOIN used ON used.sim_id = lim.sim_id
      CROSS JOIN LATERAL (SELECT DISTINCT x AS pct FROM unnest(lim.thresholds || 100) AS x) p
      WHERE used.used_bytes::numeric * 100 >= lim.limit_bytes::numeric * p.pct
    )
    SELECT c.tenant_id AS "tenantId", c.sim_id AS "simId", c.iccid, c.pct, c.limit_bytes AS "limitBytes", c.used_bytes AS "usedBytes",
      c.dedupe_key AS "dedupeKey", a.id IS NOT NULL AS "alertExists", a.data->>'action' AS "existingAction", c.suspendable AND c.pct >= 100 AS suspendable
    FROM crossed c
    LEFT JOIN connectivity.alerts a ON a.tenant_id = c.tenant_id AND a.dedupe_key = c.dedupe_key
    ORDER BY c.tenant_id, c.dedupe_key`;
  return rows.map((r) => ({ ...r, pct: Number(r.pct) }));
}

/** Every (tenant, threshold) of a pooled limit crossed this period: all the tenant's usage, from usage_hourly. */
async function poolCrossings(prisma: PrismaClient, tenantIds: string[], period: BillingPeriod): Promise<Crossing[]> {
  const rows = await prisma.$queryRaw<Array<{ tenantId: string; pct: number; limitBytes: bigint; usedBytes: bigint; dedupeKey: string; alertExists: boolean }>>`
    WITH used AS (
      SELECT l.tenant_id, l.pooled_limit_bytes AS limit_bytes, coalesce(l.pooled_thresholds, ARRAY[80, 100]) AS thresholds,
        (SELECT coalesce(sum(h.bytes_up + h.bytes_down), 0) FROM connectivity.usage_hourly h
         WHERE h.tenant_id = l.tenant_id AND h.hour >= ${period.start}::timestamptz AND h.hour < ${period.end}::timestamptz)::bigint AS used_bytes
      FROM connectivity.usage_limits l
      WHERE l.tenant_id = ANY(${tenantIds}::uuid[]) AND l.pooled_limit_bytes IS NOT NULL
    ),
    crossed AS (
      SELECT used.*, p.pct,
        (CASE WHEN p.pct >= 100 THEN 'data_limit' ELSE 'usage_threshold' END) || ':pool:' || ${period.month}::text || ':' || p.pct || ':' || used.limit_bytes AS dedupe_key
      FROM used CROSS JOIN LATERAL (SELECT DISTINCT x AS pct FROM unnest(used.thresholds || 100) AS x) p
      WHERE used.used_bytes::numeric * 100 >= used.limit_bytes::numeric * p.pct
    )
    SELECT c.tenant_id AS "tenantId", c.pct, c.limit_bytes AS "limitBytes", c.used_bytes AS "usedBytes", c.dedupe_key AS "dedupeKey",
      EXISTS (SELECT 1 FROM connectivity.alerts a WHERE a.tenant_id = c.tenant_id AND a.dedupe_key = c.dedupe_key) AS "alertExists"
    FROM crossed c
    ORDER BY c.tenant_id, c.dedupe_key`;
  return rows.map((r) => ({ ...r, pct: Number(r.pct), simId: null, iccid: null, existingAction: null, suspendable: false }));
}

interface BatchOutcome {
  alerts: number;
  suspensions: number;
  operationIds: string[];
  deliveryIds: string[];
}

const SUSPENDING = " The SIM is being suspended until the next billing period.";

async function raiseAndSuspend(tx: Db, period: BillingPeriod, toRaise: Crossing[], toClaim: Crossing[]): Promise<BatchOutcome> {
  // Sorted by (tenant, key), as every run inserts them: two concurrent runs wait for each other, never deadlock.
  const rows = [...toRaise].sort((a, b) => (a.tenantId === b.tenantId ? (a.dedupeKey < b.dedupeKey ? -1 : 1) : a.tenantId < b.tenantId ? -1 : 1));
  // One statement whatever the number: ON CONFLICT DO NOTHING RETURNING gives exactly the alerts this run raised.
  const inserted = rows.length
    ? await tx.$queryRaw<Array<{ id: string; tenantId: string; dedupeKey: string; createdAt: Date }>>`
        INSERT INTO connectivity.alerts (id, tenant_id, sim_id, kind, severity, message, data, dedupe_key, created_at)
        SELECT ${Prisma.raw(UUID_V7_SQL)}, r.tenant_id, r.sim_id, r.kind::connectivity."AlertKind", r.severity::connectivity."AlertSeverity", r.message, r.data, r.dedupe_key, now()
        FROM jsonb_to_recordset(${JSON.stringify(rows.map((c, ord) => ({ ...alertRow(c, period), ord })))}::jsonb)
          AS r(tenant_id uuid, sim_id uuid, kind text, severity text, message text, data jsonb, dedupe_key text, ord int)
        ORDER BY r.ord
        ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
        RETURNING id, tenant_id AS "tenantId", dedupe_key AS "dedupeKey", created_at AS "createdAt"`
    : [];

  // The claim: the 100 % alert of this period and limit turns to `suspend` once, under a row lock taken in id
  // order; a run that finds it claimed already (or the SIM resumed by hand after its suspension) asks nothing.
  const claimed = toClaim.length
    ? await tx.$queryRaw<Array<{ id: string; tenantId: string; simId: string }>>`
        WITH target AS (
          SELECT a.id FROM unnest(${toClaim.map((c) => c.tenantId)}::uuid[], ${toClaim.map((c) => c.dedupeKey)}::text[]) AS k(tenant_id, dedupe_key)
          JOIN connectivity.alerts a ON a.tenant_id = k.tenant_id AND a.dedupe_key = k.dedupe_key
          -- Still suspendable as the run commits (read again here: the crossings were read outside this transaction).
          JOIN connectivity.sims s ON s.id = a.sim_id AND s.tenant_id = a.tenant_id AND s.data_limit_suspend
            AND s.status = 'active' AND s.pending_operation_id IS NULL
          WHERE a.data->>'action' IS DISTINCT FROM 'suspend'
          ORDER BY a.id FOR UPDATE OF a)
        UPDATE connectivity.alerts a
        SET data = a.data || jsonb_build_object('action', 'suspend'), message = left(a.message || ${SUSPENDING}, 500)
        FROM target WHERE a.id = target.id AND a.data->>'action' IS DISTINCT FROM 'suspend'
        RETURNING a.id, a.tenant_id AS "tenantId", a.sim_id AS "simId"`
    : [];
  const claimedIds = new Set(claimed.map((c) => c.id));

  const byKey = new Map(rows.map((c) => [`${c.tenantId}|${c.dedupeKey}`, c]));
  const events: WebhookEvent[] = [];
  for (const alert of inserted) {
    const c = byKey.get(`${alert.tenantId}|${alert.dedupeKey}`);
    if (!c) continue;
    events.push({ tenantId: c.tenantId, type: "usage.threshold_crossed", occurredAt: alert.createdAt, data: webhookData(c, period, alert.id, claimedIds.has(alert.id)) });
  }
  const deliveryIds = await emitWebhookEvents(tx, events);

  const operationIds: string[] = [];
  for (const { tenantId, simIds } of groupByTenant([...claimed].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0)))) {
    operationIds.push(await createAuditedOperation(tx, { tenantId, action: "suspend", simIds, reasonCode: DATA_LIMIT_REASON, actor: LIMITS_ACTOR }, { period: period.month }));
  }
  return { alerts: inserted.length, suspensions: claimed.length, operationIds, deliveryIds };
}

const kindOf = (c: Crossing): AlertKind => (c.pct >= 100 ? "data_limit" : "usage_threshold");

/** One alert to insert; `ord` keeps the (tenant, key) order the caller sorted them in. */
function alertRow(c: Crossing, period: BillingPeriod) {
  const severity: AlertSeverity = c.pct >= 100 ? "critical" : "warning";
  return { tenant_id: c.tenantId, sim_id: c.simId, kind: kindOf(c), severity, message: messageOf(c, period), data: alertData(c, period), dedupe_key: c.dedupeKey };
}

/** 1536 -> "1.5 KiB": messages are for people; the exact figures are in `data`. */
export function formatBytes(n: bigint): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  let scaled = Number(n);
  while (scaled >= 1024 && i < units.length - 1) {
    scaled /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${scaled.toFixed(1)} ${units[i]}`;
}

function messageOf(c: Crossing, period: BillingPeriod): string {
  const figures = `${formatBytes(c.usedBytes)} of ${formatBytes(c.limitBytes)}`;
  if (c.simId === null) {
    return c.pct >= 100
      ? `The fleet has reached its pooled data limit for ${period.month}: ${figures}.`
      : `The fleet has used ${c.pct} % of its pooled data limit for ${period.month}: ${figures}.`;
  }
  return c.pct >= 100 ? `SIM ${c.iccid} has reached its data limit for ${period.month}: ${figures}.` : `SIM ${c.iccid} has used ${c.pct} % of its data limit for ${period.month}: ${figures}.`;
}

/** Stored on the alert (jsonb: byte counts as numbers while exact, else strings, as the API shows them). */
function alertData(c: Crossing, period: BillingPeriod) {
  return {
    scope: c.simId === null ? "pool" : "sim",
    iccid: c.iccid,
    thresholdPercent: c.pct,
    limitBytes: bigintOut(c.limitBytes),
    usedBytes: bigintOut(c.usedBytes),
    period: period.month,
    // SIM alerts at the limit: `suspend` once a suspension was asked for this period and limit.
    ...(c.simId !== null && c.pct >= 100 && { action: "none" }),
  };
}

function webhookData(c: Crossing, period: BillingPeriod, alertId: string, suspending: boolean): Record<string, unknown> {
  return {
    alertId,
    scope: c.simId === null ? "pool" : "sim",
    iccid: c.iccid,
    thresholdPercent: c.pct,
    limitBytes: c.limitBytes,
    usedBytes: c.usedBytes,
    period: period.month,
    periodStart: period.start.toISOString(),
    periodEnd: period.end.toISOString(),
    action: suspending ? "suspend" : "none",
  };
}
