import type { Readable } from "node:stream";
import type { FastifyBaseLogger } from "fastify";
import type { SqlRunner } from "../../platform/db/database.js";
import { AppError } from "../../platform/errors.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { parseUsageBody, usageFormatOf } from "./ingest-parse.js";
import { storeUsageRecords, type ResolvedUsageRecord } from "./ingest-store.js";
import type { UsageIngestResult } from "./usage-ingest.schemas.js";
import { requestRollup } from "./rollup-trigger.js";
import type { RollupBacklog } from "./rollup-backlog.js";
import type { SimDirectory } from "./sim-directory.js";
import type { UsageRejection, ValidUsageRecord } from "./usage-record.js";

export type UsageIngestService = ReturnType<typeof createUsageIngestService>;

const STORE_REASONS: Record<"unknown_sim" | "sim_mismatch", string> = {
  unknown_sim: "names no SIM you may report usage for",
  sim_mismatch: "names another SIM than the record's other identifiers",
};

/**
 * Usage ingestion (POST /v1/usage/records): authorize, parse the streamed body (JSON array, NDJSON or CSV),
 * store the valid records in one statement, then ask for a rollup. A record with bad values, or naming no SIM
 * the caller may write for, is rejected alone; the others are kept. A record already stored (same tenant,
 * sourceId and startedAt), or repeated within the request, is counted in `duplicates` and changes nothing;
 * duplicates are not listed (a feed re-sending a whole batch after a timeout would otherwise get every record
 * back as an error, and they are not errors: the records are stored).
 * Ingesting data is not a state change of the tenant: no audit event (the records are their own record).
 */
export function createUsageIngestService(deps: { sql: SqlRunner; jobs: JobRunner; directory: SimDirectory; backlog: RollupBacklog; log?: FastifyBaseLogger }) {
  const { sql, jobs, directory, backlog, log } = deps;

  return {
    async ingest(actor: Actor, body: Readable | undefined, contentType: string | undefined): Promise<UsageIngestResult> {
      const tenantId = writableTenant(actor);
      const format = usageFormatOf(contentType);
      // The route's parsers admit only these types; no Content-Type at all (and no body) ends here.
      if (!format || !body) throw new AppError(415, "unsupported_media_type", "Unsupported media type", "Send the records as application/json, application/x-ndjson or text/csv.");
      const parsed = await parseUsageBody(body, format, { now: new Date() });

      const valid: ValidUsageRecord[] = [];
      const rejections: UsageRejection[] = [];
      for (const item of parsed) {
        if (item.ok) valid.push(item.record);
        else rejections.push(item.rejection);
      }

      const sims = await directory.resolve(valid, tenantId);
      const resolved: ResolvedUsageRecord[] = [];
      for (let i = 0; i < valid.length; i++) {
        const record = valid[i]!;
        const found = sims[i]!;
        if (found.ok) resolved.push({ record, sim: found.sim });
        else rejections.push({ index: record.index, sourceId: record.sourceId, field: found.field, code: found.code, reason: `${found.field} ${STORE_REASONS[found.code]}` });
      }
      if (resolved.length < valid.length) rejections.sort((a, b) => a.index - b.index);
      // While the rollup is behind, wait (flow control keeps the figures fresh; see rollup-backlog.ts).
      if (resolved.length) await backlog.admit();
      const stored = await storeUsageRecords(sql, resolved);

      // After the statement committed. The records are durable already: a failed enqueue only delays the rollup
      // until its 5-second schedule, so it must not turn the answer into an error (the feed would resend).
      if (stored.inserted) {
        await requestRollup(jobs).catch((err: unknown) => log?.warn({ err }, "usage ingestion: could not enqueue a rollup; the schedule will pick the records up"));
      }
      return { accepted: stored.inserted, duplicates: stored.duplicates, rejected: rejections.length, rejections };
    },
  };
}

/**
 * Authorization, before anything is read: may the caller ingest usage at all, and for which tenant's SIMs.
 * The CASL rules say it: a rule without conditions (platform staff, the platform's feed key) covers every
 * tenant; a customer's rule carries its `tenantId`, and only that tenant's SIMs resolve. Any other shape of
 * rule fails the request (500) rather than being guessed at.
 */
function writableTenant(actor: Actor): string | null {
  authorize(actor, "create", "UsageRecord");
  const rules = actor.ability.rulesFor("create", "UsageRecord").filter((r) => !r.inverted);
  if (rules.some((r) => !r.conditions)) return null;
  const tenants = new Set(rules.map((r) => (r.conditions as { tenantId?: unknown }).tenantId));
  const [only] = tenants;
  if (tenants.size !== 1 || typeof only !== "string") throw new AppError(500, "internal_error", "Internal server error", "Unexpected usage ingestion rules.");
  return only;
}
