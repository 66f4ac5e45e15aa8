import { subject as asSubject } from "@casl/ability";
import { decodeCursor, encodeCursor } from "../../http/pagination.js";
import type { PrismaClient, SqlRunner } from "../../platform/db/database.js";
import { AppError, ForbiddenError, NotFoundError, ValidationError } from "../../platform/errors.js";
import { requirePrincipal } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { bigintOut } from "../sims/sims.view.js";
import { readCompleteness, type Completeness } from "./completeness.js";
import { seriesCsv, simMajorCsv, timeMajorCsv } from "./usage-csv.js";
import {
  ceilTo,
  countBuckets,
  createUsageQueryRepository,
  floorTo,
  type CounterRow,
  type Plan,
  type SeriesRow,
  type SimFilter,
  type Source,
  type Window,
} from "./usage-query.repository.js";
import type { FleetUsage, Granularity, GroupBy, SimUsage, SimUsageQuery, UsageBucket, UsageGroup, UsageQuery, UsageTotals } from "./usage-query.schemas.js";
import { requireVisibleTenant } from "../access/visible-tenant.js";

export type UsageQueryService = ReturnType<typeof createUsageQueryService>;

/** JSON bounds (CSV has none: it streams page by page). */
export const MAX_SIM_HOURS = 31 * 24;
export const MAX_RAW_FLEET_HOURS = 7 * 24;
/** Buckets in one JSON answer: the series' length times the groups per page. */
export const MAX_JSON_POINTS = 50_000;
const DEFAULT_LIMIT = 50;
/** Instants outside these are refused (PostgreSQL and ISO 8601 agree on every instant between them). */
const EARLIEST = new Date(Date.UTC(1970, 0, 1));
const LATEST = new Date(Date.UTC(9000, 0, 1));

/** A 400 with its own stable code (`invalid_range`, `range_too_large`, `result_too_large`) naming the field. */
export class UsageQueryError extends AppError {
  constructor(code: string, detail: string, field: string) {
    super(400, code, "Invalid usage query", detail, { errors: [{ field, reason: detail }] });
  }
}

export interface CsvAnswer {
  kind: "csv";
  filename: string;
  completeness: Completeness;
  chunks: AsyncGenerator<string>;
}
export type Answer<T> = { kind: "json"; body: T } | CsvAnswer;

/**
 * Reading usage: one SIM's series and the fleet's, grouped or not, as JSON or a streamed CSV.
 * Authorization comes first (`read UsageDaily`, and `read UsageRecord` where raw records are read); every
 * check and the completeness watermark run before an answer starts, so a refusal is an ordinary problem reply
 * and a CSV's headers can carry the watermark.
 */
export function createUsageQueryService(deps: { prisma: PrismaClient; sql: SqlRunner; csvPageRows?: number }) {
  const { prisma } = deps;
  const repo = createUsageQueryRepository(deps.sql);
  const pageRows = deps.csvPageRows;

  const can = (actor: Actor, type: "UsageDaily" | "UsageRecord", tenantId?: string) =>
    tenantId === undefined ? actor.ability.can("read", type) : actor.ability.can("read", asSubject(type, { tenantId }) as never);

  function requireUsageRead(actor: Actor): void {
    requirePrincipal(actor);
    if (!can(actor, "UsageDaily")) throw new ForbiddenError("Your role does not allow read on UsageDaily.");
  }

  /** Hourly series read raw records: `read UsageRecord` on the tenant (every usage reader holds it today). */
  function requireRawRead(actor: Actor, tenantId: string): void {
    if (!can(actor, "UsageRecord", tenantId)) throw new ForbiddenError("Your role does not allow read on UsageRecord (hourly usage per SIM).");
  }

  /** Whose usage: the caller's tenant, or (platform staff) the one named; one the caller may not read is 404. */
  async function resolveTenant(actor: Actor, asked: string | undefined): Promise<string> {
    const own = requirePrincipal(actor).tenantId;
    if (!asked || asked === own) return own;
    await requireVisibleTenant(prisma, actor, asked, "UsageDaily");
    return asked;
  }

  return {
    /** `GET /v1/sims/{iccid}/usage`. The ICCID lookup needs no `read Sim`: billing contacts read usage, not SIMs. */
    async simUsage(actor: Actor, iccid: string, query: SimUsageQuery, opts: { csv: boolean }): Promise<Answer<SimUsage>> {
      requireUsageRead(actor);
      const g = query.granularity;
      const range = resolveRange(query, g);
      const sim = await prisma.sim.findUnique({ where: { iccid }, select: { id: true, tenantId: true, iccid: true } });
      if (!sim || !can(actor, "UsageDaily", sim.tenantId)) throw new NotFoundError("SIM");
      const buckets = countBuckets(range.from, range.to, g);
      if (g === "hour") requireRawRead(actor, sim.tenantId);
      if (!opts.csv && g === "hour" && buckets > MAX_SIM_HOURS) {
        throw new UsageQueryError("range_too_large", `Hourly usage of a SIM covers at most ${MAX_SIM_HOURS / 24} days per answer; ask for a shorter range, a coarser granularity, or CSV.`, "/query/from");
      }
      if (!opts.csv && buckets > MAX_JSON_POINTS) throw tooManyPoints(buckets);
      const plan: Plan = { tenantId: sim.tenantId, source: g === "hour" ? "raw" : "daily", granularity: g, groupBy: "none", filter: { simId: sim.id } };
      // The watermark first: it then speaks for data read after it (a rollup in between only adds to the totals).
      const completeness = await readCompleteness(prisma, sim.tenantId);
      if (opts.csv) {
        return { kind: "csv", filename: `usage-${sim.iccid}-${g}.csv`, completeness, chunks: seriesCsv(repo, plan, range, { lead: [{ column: "iccid", value: sim.iccid }], pageRows }) };
      }
      const rows = await repo.series(plan, range, { zeroFill: true, order: "bucket" });
      const series = rows.map(bucketView);
      return { kind: "json", body: { iccid: sim.iccid, from: iso(range.from), to: iso(range.to), granularity: g, series, totals: sumBuckets(rows), completeness: completenessView(completeness) } };
    },

    /** `GET /v1/usage`: the fleet's usage, one series or grouped. */
    async fleetUsage(actor: Actor, query: UsageQuery, opts: { csv: boolean }): Promise<Answer<FleetUsage>> {
      requireUsageRead(actor);
      const tenantId = await resolveTenant(actor, query.tenantId);
      const g = query.granularity;
      const groupBy = query.groupBy;
      const range = resolveRange(query, g);
      const filter: SimFilter = { ...(query.iccid && { iccid: query.iccid }), ...(query.label && { label: query.label }), ...(query.ratePlanId && { ratePlanId: query.ratePlanId }) };
      const filtered = Object.keys(filter).length > 0;
      checkCombination(query, filtered, opts.csv);

      // Sources: the fleet's hourly rollup has no SIMs; SIM grouping or filters need the per-SIM daily rollup,
      // or raw records for hours.
      const simScoped = filtered || groupBy === "sim" || groupBy === "label" || groupBy === "ratePlan";
      const source: Source = !simScoped ? "hourly" : g === "hour" ? "raw" : "daily";
      if (source === "raw") requireRawRead(actor, tenantId);
      const buckets = countBuckets(range.from, range.to, g);
      if (!opts.csv) {
        if (source === "raw" && buckets > MAX_RAW_FLEET_HOURS) {
          throw new UsageQueryError("range_too_large", `Hourly usage grouped by SIM, label or rate plan, or filtered by them, covers at most ${MAX_RAW_FLEET_HOURS / 24} days per answer; ask for a shorter range, a coarser granularity, or CSV.`, "/query/from");
        }
        const perPage = groupBy === "none" ? 1 : (query.top ?? query.limit ?? DEFAULT_LIMIT);
        if (buckets * perPage > MAX_JSON_POINTS) throw tooManyPoints(buckets * perPage);
      }
      const after = cursorKey(query.cursor, tenantId, groupBy);
      const plan: Plan = { tenantId, source, granularity: g, groupBy, filter };
      const completeness = await readCompleteness(prisma, tenantId);

      if (opts.csv) return { kind: "csv", filename: `usage-${tenantId}-${groupBy}-${g}.csv`, completeness, chunks: fleetCsv(plan, range) };

      const head = { tenantId, from: iso(range.from), to: iso(range.to), granularity: g, groupBy, completeness: completenessView(completeness) };
      if (groupBy === "none") {
        const rows = await repo.series(plan, range, { zeroFill: true, order: "bucket" });
        return { kind: "json", body: { ...head, totals: sumBuckets(rows), series: rows.map(bucketView), groups: null, nextCursor: null } };
      }

      const { groups, nextCursor } = await groupPage(plan, range, query, after);
      // Totals of the whole selection (a SIM with two labels counts once here). Without SIM filters the fleet's
      // hourly rollup has them at a fraction of the cost; raw hours stay raw (fresher than the rollups).
      const totalsPlan: Plan = { ...plan, groupBy: "none", source: !filtered && source !== "raw" ? "hourly" : source };
      const totals = counterView(await repo.totals(totalsPlan, range));
      return { kind: "json", body: { ...head, totals, series: null, groups, nextCursor } };
    },
  };

  /**
   * One JSON page of groups with their zero-filled series (whose sums are the groups' totals). Labels, plans and
   * networks: one pass (few groups). SIMs: the page's keys first (by ICCID, SIM by SIM; or the top N), then
   * their series by primary key.
   */
  async function groupPage(plan: Plan, range: Window, query: UsageQuery, after: string | undefined): Promise<{ groups: UsageGroup[]; nextCursor: string | null }> {
    const limit = query.top ?? query.limit ?? DEFAULT_LIMIT;
    const order = query.top ? ({ order: "bytes", limit } as const) : ({ order: "key", ...(after !== undefined && { after }), limit: limit + 1 } as const);
    let heads: Array<{ key: string; out: string | null; name: string | null }>;
    let series: SeriesRow[];
    let cursorOf: (h: { key: string; out: string | null }) => string = (h) => h.key;
    if (plan.groupBy === "sim") {
      if (query.top) {
        const keys = await repo.groupKeys(plan, range, order);
        const names = await namesOf("sim", keys);
        heads = keys.map((key) => ({ key, out: names.get(key)?.out ?? key, name: names.get(key)?.name ?? null }));
      } else {
        const rows = await repo.simGroups(plan, range, { ...(after !== undefined && { after }), limit: limit + 1 });
        heads = rows.map((r) => ({ key: r.key, out: r.iccid, name: r.custom_name }));
        cursorOf = (h) => h.out!;
      }
      series = heads.length ? await repo.series(plan, range, { keys: heads.slice(0, limit).map((h) => h.key), zeroFill: true, order: "key" }) : [];
    } else {
      series = await repo.groupSeries(plan, range, order);
      const keys = [...new Set(series.map((r) => r.key))];
      const names = await namesOf(plan.groupBy, keys.slice(0, limit));
      heads = keys.map((key) => ({ key, out: names.get(key)?.out ?? (key === "" ? null : key), name: names.get(key)?.name ?? null }));
    }
    const more = !query.top && heads.length > limit;
    heads = heads.slice(0, limit);
    const byKey = new Map<string, SeriesRow[]>();
    for (const r of series) {
      const rows = byKey.get(r.key);
      if (rows) rows.push(r);
      else byKey.set(r.key, [r]);
    }
    const groups = heads.map((h) => {
      const rows = byKey.get(h.key) ?? [];
      return { key: h.out, name: h.name, totals: sumBuckets(rows), series: rows.map(bucketView) };
    });
    const last = heads[heads.length - 1];
    return { groups, nextCursor: more && last ? encodeCursor({ t: plan.tenantId, g: plan.groupBy, k: cursorOf(last) }) : null };
  }

  /** What a group shows: a SIM's ICCID and name, a rate plan's name; labels and networks are their own key. */
  async function namesOf(groupBy: GroupBy, keys: string[]): Promise<Map<string, { out: string | null; name: string | null }>> {
    const ids = keys.filter((k) => k !== "");
    if (!ids.length) return new Map();
    if (groupBy === "sim") {
      const sims = await prisma.sim.findMany({ where: { id: { in: ids } }, select: { id: true, iccid: true, customName: true } });
      return new Map(sims.map((s) => [s.id, { out: s.iccid, name: s.customName }]));
    }
    if (groupBy === "ratePlan") {
      const plans = await prisma.ratePlan.findMany({ where: { id: { in: ids } }, select: { id: true, name: true } });
      return new Map(plans.map((p) => [p.id, { out: p.id, name: p.name }]));
    }
    return new Map();
  }

  function fleetCsv(plan: Plan, range: Window): AsyncGenerator<string> {
    switch (plan.groupBy) {
      case "none":
        return seriesCsv(repo, plan, range, { lead: [], pageRows });
      case "sim":
        return simMajorCsv(repo, plan, range, { pageRows });
      case "label":
        return timeMajorCsv(repo, plan, range, { columns: ["label"], cells: async () => (k) => [k || null], pageRows });
      case "network":
        return timeMajorCsv(repo, plan, range, { columns: ["network"], cells: async () => (k) => [k || null], pageRows });
      case "ratePlan": {
        const known = new Map<string, string | null>();
        return timeMajorCsv(repo, plan, range, {
          columns: ["ratePlanId", "ratePlanName"],
          cells: async (keys) => {
            const missing = keys.filter((k) => k !== "" && !known.has(k));
            if (missing.length) for (const [id, v] of await namesOf("ratePlan", missing)) known.set(id, v.name);
            return (k) => (k === "" ? [null, null] : [k, known.get(k) ?? null]);
          },
          pageRows,
        });
      }
    }
  }
}

/**
 * [from, to) on the granularity's UTC boundaries: `from` rounded down, `to` rounded up, so every bucket is
 * counted whole (a day of usage_daily cannot be split). Defaults: `to` now, `from` the start of the UTC month
 * `to` falls in (the month to date).
 */
export function resolveRange(q: { from?: string; to?: string }, g: Granularity, now = new Date()): Window {
  const to = q.to !== undefined ? new Date(q.to) : now;
  const from = q.from !== undefined ? new Date(q.from) : floorTo(new Date(to.getTime() - 1), "month");
  for (const [field, d] of [["from", from], ["to", to]] as const) {
    if (Number.isNaN(d.getTime()) || d < EARLIEST || d > LATEST) {
      throw new UsageQueryError("invalid_range", `\`${field}\` must be an instant between ${iso(EARLIEST)} and ${iso(LATEST)}.`, `/query/${field}`);
    }
  }
  if (from > to) throw new UsageQueryError("invalid_range", "`from` is after `to`.", "/query/to");
  return { from: floorTo(from, g), to: ceilTo(to, g) };
}

const tooManyPoints = (points: number) =>
  new UsageQueryError("result_too_large", `This answer would hold ${points} buckets (at most ${MAX_JSON_POINTS}): ask for fewer groups (top, limit), a coarser granularity, a shorter range, or CSV.`, "/query/granularity");

function checkCombination(q: UsageQuery, filtered: boolean, csv: boolean): void {
  const bad = (field: string, reason: string) => new ValidationError(`${field} ${reason}`, [{ field, reason }]);
  if (q.top !== undefined && q.groupBy === "none") throw bad("/query/top", "needs groupBy (sim, label, ratePlan or network)");
  if (q.top !== undefined && (q.limit !== undefined || q.cursor !== undefined)) throw bad("/query/top", "cannot be combined with limit or cursor (top is one page)");
  if (q.groupBy === "none" && (q.limit !== undefined || q.cursor !== undefined)) throw bad(q.cursor !== undefined ? "/query/cursor" : "/query/limit", "pages groups: it needs groupBy");
  if (q.groupBy === "network" && filtered) throw bad("/query/groupBy", "network cannot be combined with iccid, label or ratePlanId (the fleet's hourly totals by network have no SIMs)");
  if (csv && (q.top !== undefined || q.limit !== undefined || q.cursor !== undefined)) {
    throw bad(q.top !== undefined ? "/query/top" : q.limit !== undefined ? "/query/limit" : "/query/cursor", "does not apply to CSV: an export has every group");
  }
}

function cursorKey(cursor: string | undefined, tenantId: string, groupBy: GroupBy): string | undefined {
  const key = decodeCursor(cursor, ["t", "g", "k"] as const);
  if (!key) return undefined;
  if (key.t !== tenantId || key.g !== groupBy || key.k.length > 64) {
    throw new ValidationError("The cursor belongs to another listing.", [{ field: "/query/cursor", reason: "is not a valid cursor for these parameters" }]);
  }
  return key.k;
}

const iso = (d: Date) => d.toISOString();

function counterView(r: CounterRow): UsageTotals {
  const up = BigInt(r.bytes_up);
  const down = BigInt(r.bytes_down);
  return { bytesUp: bigintOut(up)!, bytesDown: bigintOut(down)!, bytes: bigintOut(up + down)!, smsMo: Number(r.sms_mo), smsMt: Number(r.sms_mt), records: Number(r.records) };
}

const bucketView = (r: SeriesRow): UsageBucket => ({ start: r.start.toISOString(), ...counterView(r) });

function sumBuckets(rows: CounterRow[]): UsageTotals {
  const t = { bytes_up: 0n, bytes_down: 0n, sms_mo: 0n, sms_mt: 0n, records: 0n };
  for (const r of rows) {
    t.bytes_up += BigInt(r.bytes_up);
    t.bytes_down += BigInt(r.bytes_down);
    t.sms_mo += BigInt(r.sms_mo);
    t.sms_mt += BigInt(r.sms_mt);
    t.records += BigInt(r.records);
  }
  return counterView({ bytes_up: `${t.bytes_up}`, bytes_down: `${t.bytes_down}`, sms_mo: `${t.sms_mo}`, sms_mt: `${t.sms_mt}`, records: `${t.records}` });
}

const completenessView = (c: Completeness) => ({ rolledUpThrough: c.rolledUpThrough.toISOString(), finalThrough: c.finalThrough?.toISOString() ?? null });
