import type { PrismaClient } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import { authorize } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { afterImeiCheck, checkImeiObservations, type ImeiObservation } from "../devices/imei-check.js";
import type { ImeiFollowUp } from "../devices/imei-mismatch.js";
import { parseNetworkEvent, type ParsedNetworkEvent } from "./network-event-parse.js";
import type { NetworkEventError, NetworkEventsBody, NetworkEventsResult } from "./network-events.schemas.js";

export type NetworkEventsService = ReturnType<typeof createNetworkEventsService>;

interface SimRef {
  id: string;
  tenantId: string;
  iccid: string;
  imsi: string;
}

/**
 * The operator's mediation feed: attach, detach and location updates, in batches. Each event is checked on its
 * own (a bad one is reported and the rest kept); an event id seen before is a duplicate and changes nothing;
 * events carrying an IMEI go through the IMEI check, in the same transaction as their storage.
 * Platform API keys with `network:write` only (the feed spans every tenant's SIMs).
 */
export function createNetworkEventsService(deps: { prisma: PrismaClient; jobs: JobRunner }) {
  const { prisma, jobs } = deps;

  /** The batch's SIMs, by ICCID and by IMSI, in one query. */
  async function resolveSims(events: ParsedNetworkEvent[]): Promise<{ byIccid: Map<string, SimRef>; byImsi: Map<string, SimRef> }> {
    const iccids = [...new Set(events.flatMap((e) => (e.iccid ? [e.iccid] : [])))];
    const imsis = [...new Set(events.flatMap((e) => (e.imsi ? [e.imsi] : [])))];
    const sims = await prisma.sim.findMany({ where: { OR: [{ iccid: { in: iccids } }, { imsi: { in: imsis } }] }, select: { id: true, tenantId: true, iccid: true, imsi: true } });
    return { byIccid: new Map(sims.map((s) => [s.iccid, s])), byImsi: new Map(sims.map((s) => [s.imsi, s])) };
  }

  return {
    async ingest(actor: Actor, body: NetworkEventsBody): Promise<NetworkEventsResult> {
      const principal = authorize(actor, "create", "NetworkEvent");
      const now = new Date();
      const errors: NetworkEventError[] = [];
      const valid: ParsedNetworkEvent[] = [];
      for (const [index, input] of body.events.entries()) {
        const parsed = parseNetworkEvent(input, index, now);
        if (parsed.ok) valid.push(parsed.event);
        else errors.push(...parsed.errors);
      }

      const { byIccid, byImsi } = valid.length ? await resolveSims(valid) : { byIccid: new Map<string, SimRef>(), byImsi: new Map<string, SimRef>() };
      const known: Array<ParsedNetworkEvent & { sim: SimRef }> = [];
      const seenIds = new Set<string>();
      let duplicates = 0;
      for (const e of valid) {
        const sim = e.iccid ? byIccid.get(e.iccid) : byImsi.get(e.imsi ?? "");
        if (!sim) {
          errors.push({ index: e.index, eventId: e.eventId, field: `/body/events/${e.index}/${e.iccid ? "iccid" : "imsi"}`, reason: "names no known SIM", code: "sim_not_found" });
          continue;
        }
        // The same id twice in one batch: the first one counts, like a resend.
        if (seenIds.has(e.eventId)) duplicates++;
        else {
          seenIds.add(e.eventId);
          known.push({ ...e, sim });
        }
      }
      const rejected = new Set(errors.map((e) => e.index)).size;

      let followUp: ImeiFollowUp = { operationIds: [], deliveryIds: [] };
      let accepted = 0;
      if (known.length) {
        await prisma.$transaction(async (tx) => {
          const inserted = await tx.networkEvent.createManyAndReturn({
            data: known.map((e) => ({ eventId: e.eventId, tenantId: e.sim.tenantId, simId: e.sim.id, kind: e.kind, imei: e.imei, network: e.network, occurredAt: e.occurredAt })),
            skipDuplicates: true,
            select: { eventId: true },
          });
          accepted = inserted.length;
          duplicates += known.length - inserted.length;
          const fresh = new Set(inserted.map((r) => r.eventId));
          const observations: ImeiObservation[] = known
            .filter((e) => e.imei && fresh.has(e.eventId))
            .map((e) => ({ tenantId: e.sim.tenantId, simId: e.sim.id, imei: e.imei!, network: e.network, at: e.occurredAt, source: "network_event" }));
          followUp = await checkImeiObservations(tx, observations);
          // Last, so the platform tenant's audit chain head stays locked only for the commit: every batch appends to it.
          if (accepted) {
            await appendAudit(tx, actor, { tenantId: principal.tenantId, action: "network_events.ingested", targetType: "network_event_batch", data: { accepted, duplicates, rejected } });
          }
        });
      }
      await afterImeiCheck(jobs, followUp);
      return { accepted, duplicates, rejected, errors: errors.sort((a, b) => a.index - b.index) };
    },
  };
}
