import { Es2PlusError, type Es2PlusConnector } from "./es2plus-connector.js";
import { generateMatchingId } from "./matching-id.js";

/**
 * The built-in SM-DP+: keeps each ordered profile's SGP.22 state in memory and answers like an SM-DP+,
 * including its refusals (with SGP.22 subject and reason codes), so the ordering logic is exercised as it
 * would be against a real one:
 * - DownloadOrder of an ICCID already ordered is refused (8.2.1 Profile ICCID / 3.3 Already in use): the
 *   SM-DP+, not only our database, guarantees one order per profile;
 * - ConfirmOrder without a DownloadOrder is refused (8.2.1 / 3.9 Unknown), as is one naming another EID
 *   than the order was linked to (8.1.1 EID / 3.10 Invalid association);
 * - CancelOrder returns the profile to Available (or retires it, Unavailable).
 * Its memory starts empty with each process: a profile it does not know counts as Available, so cancelling
 * an order made before a restart succeeds. Matching ids are unique for the life of the process.
 */
type SimState = "allocated" | "linked" | "confirmed" | "released" | "unavailable";

interface Held {
  state: SimState;
  eid?: string;
  matchingId?: string;
}

export function createSmdpSimulator(opts: { smdpAddress: string }): Es2PlusConnector {
  const profiles = new Map<string, Held>();
  const usedMatchingIds = new Set<string>();
  const refuse = (fn: "downloadOrder" | "confirmOrder" | "cancelOrder" | "releaseProfile", subjectCode: string, reasonCode: string, message: string) =>
    new Es2PlusError("rejected", fn, message, { subjectCode, reasonCode });

  return {
    kind: "simulator",

    async downloadOrder({ iccid, eid }) {
      if (profiles.has(iccid)) throw refuse("downloadOrder", "8.2.1", "3.3", `Profile ICCID ${iccid} is already in use.`);
      profiles.set(iccid, eid ? { state: "linked", eid } : { state: "allocated" });
      return { iccid };
    },

    async confirmOrder({ iccid, eid, matchingId, releaseFlag }) {
      const held = profiles.get(iccid);
      if (!held || (held.state !== "allocated" && held.state !== "linked")) {
        throw refuse("confirmOrder", "8.2.1", "3.9", `Profile ICCID ${iccid} has no pending download order.`);
      }
      if (eid && held.eid && eid !== held.eid) throw refuse("confirmOrder", "8.1.1", "3.10", "The EID differs from the one the order is linked to.");
      let id = matchingId ?? generateMatchingId();
      if (usedMatchingIds.has(id)) {
        if (matchingId) throw refuse("confirmOrder", "8.2.6", "3.3", "The matching id is already in use.");
        while (usedMatchingIds.has(id)) id = generateMatchingId();
      }
      usedMatchingIds.add(id);
      held.matchingId = id;
      held.eid = eid ?? held.eid;
      held.state = releaseFlag ? "released" : "confirmed";
      return { matchingId: id, smdpAddress: opts.smdpAddress, ...(held.eid ? { eid: held.eid } : {}) };
    },

    async cancelOrder({ iccid, matchingId, finalProfileStatusIndicator }) {
      const held = profiles.get(iccid);
      if (held?.matchingId && matchingId && held.matchingId !== matchingId) throw refuse("cancelOrder", "8.2.6", "3.8", "The matching id does not belong to this order.");
      if (held?.state === "unavailable") throw refuse("cancelOrder", "8.2.1", "3.9", `Profile ICCID ${iccid} has no order to cancel.`);
      if (finalProfileStatusIndicator === "Unavailable") profiles.set(iccid, { state: "unavailable" });
      else profiles.delete(iccid);
    },

    async releaseProfile({ iccid }) {
      const held = profiles.get(iccid);
      if (held?.state !== "confirmed") throw refuse("releaseProfile", "8.2.1", "3.5", `Profile ICCID ${iccid} is not in the Confirmed state.`);
      held.state = "released";
    },
  };
}
