import type { NetworkEventKind } from "../../generated/prisma/enums.js";
import { validateIccid, validateImei, validateImsi, validateNetworkCode } from "../../platform/identifiers.js";
import type { NetworkEventError, NetworkEventErrorCode, NetworkEventInput } from "./network-events.schemas.js";

/** One event of the feed, checked and normalised; the SIM is still named by ICCID or IMSI. */
export interface ParsedNetworkEvent {
  index: number;
  eventId: string;
  kind: NetworkEventKind;
  iccid: string | null;
  imsi: string | null;
  /** 15 digits: an IMEISV is normalised to its IMEI. */
  imei: string | null;
  network: string | null;
  occurredAt: Date;
}

const KINDS: readonly NetworkEventKind[] = ["attach", "detach", "location_update"];
// ISO 8601 with a date, a time and a zone: a time without a zone would be read in the server's zone.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
const EVENT_ID = /^[\x21-\x7e]{1,128}$/;
/** Clock skew tolerated between the operator's clock and ours. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Checks one event; every problem is reported (field by field), not only the first. */
export function parseNetworkEvent(input: NetworkEventInput, index: number, now: Date): { ok: true; event: ParsedNetworkEvent } | { ok: false; errors: NetworkEventError[] } {
  const errors: NetworkEventError[] = [];
  const eventId = typeof input.eventId === "string" && EVENT_ID.test(input.eventId) ? input.eventId : null;
  const fail = (field: string, code: NetworkEventErrorCode, reason: string) => errors.push({ index, eventId, field: `/body/events/${index}/${field}`, reason, code });

  if (input.eventId === undefined) fail("eventId", "missing_field", "is required");
  else if (!eventId) fail("eventId", "invalid_value", "must be 1-128 printable ASCII characters without spaces");

  let kind: NetworkEventKind | null = null;
  if (input.type === undefined) fail("type", "missing_field", "is required");
  else if (!KINDS.includes(input.type as NetworkEventKind)) fail("type", "invalid_value", `must be one of ${KINDS.join(", ")}`);
  else kind = input.type as NetworkEventKind;

  let iccid: string | null = null;
  let imsi: string | null = null;
  if (input.iccid === undefined && input.imsi === undefined) fail("iccid", "missing_field", "iccid or imsi is required");
  else if (input.iccid !== undefined && input.imsi !== undefined) fail("imsi", "conflicting_fields", "give either iccid or imsi, not both");
  else if (input.iccid !== undefined) {
    const v = validateIccid(input.iccid);
    if (v.ok) iccid = v.value;
    else fail("iccid", "invalid_value", v.reason);
  } else if (input.imsi !== undefined) {
    const v = validateImsi(input.imsi);
    if (v.ok) imsi = v.value;
    else fail("imsi", "invalid_value", v.reason);
  }

  let imei: string | null = null;
  if (input.imei !== undefined && input.imeisv !== undefined) fail("imeisv", "conflicting_fields", "give either imei or imeisv, not both");
  else if (input.imei !== undefined) {
    const v = validateImei(input.imei);
    if (v.ok) imei = v.value;
    else fail("imei", "invalid_value", v.reason);
  } else if (input.imeisv !== undefined) {
    const digits = input.imeisv.trim().replace(/[\s-]/g, "");
    // The software version replaces the check digit: an IMEISV has no Luhn digit, so any 16 digits are valid.
    const v = validateImei(digits);
    if (!/^\d+$/.test(digits)) fail("imeisv", "invalid_value", "IMEISV must contain digits only");
    else if (digits.length !== 16) fail("imeisv", "invalid_value", `IMEISV must be 16 digits, got ${digits.length}`);
    else if (v.ok) imei = v.value;
    else fail("imeisv", "invalid_value", v.reason);
  }

  let network: string | null = null;
  if (input.network !== undefined) {
    const v = validateNetworkCode(input.network);
    if (v.ok) network = v.value;
    else fail("network", "invalid_value", v.reason);
  }

  let occurredAt: Date | null = null;
  if (input.occurredAt === undefined) fail("occurredAt", "missing_field", "is required");
  else {
    const at = ISO_TIME.test(input.occurredAt) ? new Date(input.occurredAt) : null;
    if (!at || Number.isNaN(at.getTime())) fail("occurredAt", "invalid_value", "must be an ISO 8601 date-time with a zone, e.g. 2026-11-22T10:00:00Z");
    else if (at.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) fail("occurredAt", "invalid_value", "is in the future");
    else occurredAt = at;
  }

  if (errors.length || !eventId || !kind || !occurredAt) return { ok: false, errors };
  return { ok: true, event: { index, eventId, kind, iccid, imsi, imei, network, occurredAt } };
}
