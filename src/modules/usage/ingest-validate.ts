import { makeImei, validateIccid, validateImei, validateImsi, validateMsisdn, validateNetworkCode } from "../../platform/identifiers.js";
import { USAGE_RADIOS, type ParsedUsage, type UsageRadio } from "./usage-record.js";

/**
 * Checks and normalises one usage record as the client sent it (a parsed JSON object, or a CSV row whose cells
 * are all strings). Pure and allocation-light: ingestion runs it tens of thousands of times a second.
 * Only the first problem of a record is reported, in a fixed order so the same record always gets the same answer:
 * unknown fields, sourceId, the SIM identifiers, the times (both formats, then their range), the counts, the
 * device, network, radio.
 */

/** Every field a record may carry (JSON names; also the CSV header names). */
export const USAGE_FIELDS = [
  "sourceId",
  "iccid",
  "imsi",
  "msisdn",
  "startedAt",
  "endedAt",
  "bytesUp",
  "bytesDown",
  "smsMo",
  "smsMt",
  "imei",
  "imeisv",
  "network",
  "radio",
] as const;
export type UsageField = (typeof USAGE_FIELDS)[number];
/** A switch over the names: they are interned constants, so this is a few pointer comparisons, cheaper than a Set. */
export function isUsageField(name: string): name is UsageField {
  switch (name) {
    case "sourceId":
    case "iccid":
    case "imsi":
    case "msisdn":
    case "startedAt":
    case "endedAt":
    case "bytesUp":
    case "bytesDown":
    case "smsMo":
    case "smsMt":
    case "imei":
    case "imeisv":
    case "network":
    case "radio":
      return true;
    default:
      return false;
  }
}

/** Rejection codes the parser and validator give (the store adds its own, e.g. unknown_sim). */
export const USAGE_PARSE_REJECTION_CODES = [
  "missing_field",
  "unknown_field",
  "invalid_value",
  "conflicting_fields",
  "not_an_object",
  "invalid_json",
  "invalid_csv",
  "wrong_cell_count",
] as const;
export type UsageParseRejectionCode = (typeof USAGE_PARSE_REJECTION_CODES)[number];

const MAX_SOURCE_ID_LENGTH = 128;
/** Clock skew tolerated between the feed's clock and ours. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** Older than this is a unit or epoch mistake, not late usage. */
const EARLIEST_START_MS = Date.UTC(2000, 0, 1);
const MAX_SESSION_MS = 31 * 24 * 3600_000;
const MAX_SMS = 1_000_000;
const MAX_INT64 = 2n ** 63n - 1n;
/**
 * Network codes as sent -> normalised. A feed names a few hundred networks at most, over and over: the cache spares
 * a regex and two strings per record. Bounded, so odd input cannot grow it.
 */
const NETWORKS = new Map<string, string>();
const MAX_CACHED_NETWORKS = 4096;
const RADIO_BY_NAME: ReadonlyMap<string, UsageRadio> = new Map(USAGE_RADIOS.map((r) => [r, r]));

/** A failed check: built only on the (rare) failure path, so the happy path allocates nothing for it. */
class Bad {
  constructor(
    readonly code: UsageParseRejectionCode,
    readonly reason: string,
  ) {}
}

export function rejectUsage(index: number, sourceId: string | undefined, field: string | null, code: UsageParseRejectionCode, reason: string): ParsedUsage {
  return sourceId === undefined
    ? { ok: false, rejection: { index, field, code, reason } }
    : { ok: false, rejection: { index, sourceId, field, code, reason } };
}

/** A value quoted in a reason, cut short: reasons go back to the client and must stay small. */
function show(v: unknown): string {
  const s = typeof v === "string" ? v : String(v);
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

const absent = (v: unknown): v is null | undefined => v === undefined || v === null;

export function validateUsageRecord(raw: unknown, index: number, now: Date): ParsedUsage {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return rejectUsage(index, undefined, null, "not_an_object", `the record must be an object of fields, got ${raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw}`);
  }
  const r = raw as Record<string, unknown>;

  // The source id names the record in every rejection when it is usable.
  const sid = r.sourceId;
  const sourceIdProblem = typeof sid === "string" ? sourceIdError(sid) : null;
  const sourceId = typeof sid === "string" && sourceIdProblem === null ? sid : undefined;

  // A misspelt field ("bytesDwn") must never silently count as 0.
  for (const key in r) {
    if (!isUsageField(key)) {
      return rejectUsage(index, sourceId, key.length > 128 ? key.slice(0, 128) : key, "unknown_field", `unknown field ${show(key)}; the fields are ${USAGE_FIELDS.join(", ")}`);
    }
  }

  if (absent(sid)) return rejectUsage(index, undefined, "sourceId", "missing_field", "sourceId is required");
  if (typeof sid !== "string") return rejectUsage(index, undefined, "sourceId", "invalid_value", "sourceId must be a string");
  if (sourceIdProblem !== null) return rejectUsage(index, undefined, "sourceId", "invalid_value", sourceIdProblem);

  // The SIM: at least one identifier, and every one given must be valid; whether they name one SIM is the store's question.
  let iccid: string | null = null;
  let imsi: string | null = null;
  let msisdn: string | null = null;
  if (!absent(r.iccid)) {
    if (typeof r.iccid !== "string") return rejectUsage(index, sourceId, "iccid", "invalid_value", "iccid must be a string of digits (as a JSON number it would lose digits)");
    if (isCanonicalIccid(r.iccid)) iccid = r.iccid;
    else {
      const v = validateIccid(r.iccid);
      if (!v.ok) return rejectUsage(index, sourceId, "iccid", "invalid_value", v.reason);
      iccid = v.value;
    }
  }
  if (!absent(r.imsi)) {
    if (typeof r.imsi !== "string") return rejectUsage(index, sourceId, "imsi", "invalid_value", "imsi must be a string of digits");
    const v = validateImsi(r.imsi);
    if (!v.ok) return rejectUsage(index, sourceId, "imsi", "invalid_value", v.reason);
    imsi = v.value;
  }
  if (!absent(r.msisdn)) {
    if (typeof r.msisdn !== "string") return rejectUsage(index, sourceId, "msisdn", "invalid_value", 'msisdn must be a string ("+4915112345678")');
    const v = validateMsisdn(r.msisdn);
    if (!v.ok) return rejectUsage(index, sourceId, "msisdn", "invalid_value", v.reason);
    msisdn = v.value;
  }
  if (iccid === null && imsi === null && msisdn === null) {
    return rejectUsage(index, sourceId, "iccid", "missing_field", "one of iccid, imsi or msisdn is required");
  }

  const started = timestamp(r.startedAt, "startedAt");
  if (started instanceof Bad) return rejectUsage(index, sourceId, "startedAt", started.code, started.reason);
  const ended = timestamp(r.endedAt, "endedAt");
  if (ended instanceof Bad) return rejectUsage(index, sourceId, "endedAt", ended.code, ended.reason);
  const limit = now.getTime() + FUTURE_TOLERANCE_MS;
  if (started > limit) return rejectUsage(index, sourceId, "startedAt", "invalid_value", `startedAt ${show(r.startedAt)} is in the future (more than 5 minutes after ${now.toISOString()})`);
  if (started < EARLIEST_START_MS) return rejectUsage(index, sourceId, "startedAt", "invalid_value", `startedAt ${show(r.startedAt)} is before 2000-01-01`);
  if (ended < started) return rejectUsage(index, sourceId, "endedAt", "invalid_value", "endedAt is before startedAt");
  if (ended > limit) return rejectUsage(index, sourceId, "endedAt", "invalid_value", `endedAt ${show(r.endedAt)} is in the future (more than 5 minutes after ${now.toISOString()})`);
  if (ended - started > MAX_SESSION_MS) return rejectUsage(index, sourceId, "endedAt", "invalid_value", "the session lasts more than 31 days; split it into several records");

  const bytesUp = byteCount(r.bytesUp, "bytesUp");
  if (bytesUp instanceof Bad) return rejectUsage(index, sourceId, "bytesUp", bytesUp.code, bytesUp.reason);
  const bytesDown = byteCount(r.bytesDown, "bytesDown");
  if (bytesDown instanceof Bad) return rejectUsage(index, sourceId, "bytesDown", bytesDown.code, bytesDown.reason);
  const smsMo = smsCount(r.smsMo, "smsMo");
  if (smsMo instanceof Bad) return rejectUsage(index, sourceId, "smsMo", smsMo.code, smsMo.reason);
  const smsMt = smsCount(r.smsMt, "smsMt");
  if (smsMt instanceof Bad) return rejectUsage(index, sourceId, "smsMt", smsMt.code, smsMt.reason);

  let imei: string | null = null;
  if (!absent(r.imei)) {
    const v = imeiOf(r.imei);
    if (v instanceof Bad) return rejectUsage(index, sourceId, "imei", v.code, v.reason);
    imei = v;
  }
  if (!absent(r.imeisv)) {
    const v = imeisvDevice(r.imeisv);
    if (v instanceof Bad) return rejectUsage(index, sourceId, "imeisv", v.code, v.reason);
    if (imei !== null && imei !== v) {
      return rejectUsage(index, sourceId, "imeisv", "conflicting_fields", `imeisv names device ${v}, imei names ${imei}; they must agree`);
    }
    imei = v;
  }

  let network: string | null = null;
  if (!absent(r.network)) {
    if (typeof r.network !== "string") return rejectUsage(index, sourceId, "network", "invalid_value", 'network must be a string, e.g. "262-01"');
    const known = NETWORKS.get(r.network);
    if (known !== undefined) network = known;
    else {
      const v = validateNetworkCode(r.network);
      if (!v.ok) return rejectUsage(index, sourceId, "network", "invalid_value", v.reason);
      network = v.value;
      if (NETWORKS.size < MAX_CACHED_NETWORKS) NETWORKS.set(r.network, network);
    }
  }

  let radio: UsageRadio | null = null;
  if (!absent(r.radio)) {
    const v = typeof r.radio === "string" ? RADIO_BY_NAME.get(r.radio) ?? RADIO_BY_NAME.get(r.radio.toLowerCase()) : undefined;
    if (v === undefined) return rejectUsage(index, sourceId, "radio", "invalid_value", `radio must be one of ${USAGE_RADIOS.join(", ")}`);
    radio = v;
  }

  return {
    ok: true,
    record: { index, sourceId: sid, iccid, imsi, msisdn, startedAt: new Date(started), endedAt: new Date(ended), bytesUp, bytesDown, smsMo, smsMt, imei, network, radio },
  };
}

/** Null when usable: 1-128 characters, no control characters, not only spaces. */
function sourceIdError(s: string): string | null {
  const n = s.length;
  if (n === 0) return "sourceId must not be empty";
  if (n > MAX_SOURCE_ID_LENGTH) return `sourceId must be at most ${MAX_SOURCE_ID_LENGTH} characters, got ${n}`;
  let blank = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return "sourceId must not contain control characters";
    if (c !== 0x20) blank = false;
  }
  return blank ? "sourceId must not be blank" : null;
}

// ───────────────────────────── Times ─────────────────────────────

const TIME_FORMAT = "an ISO 8601 date-time with a zone, e.g. 2026-11-22T10:00:00.250Z or 2026-11-22T11:00:00+01:00";

/** Milliseconds since the epoch. A time without a zone would be read in some server's zone: refused. */
function timestamp(v: unknown, field: "startedAt" | "endedAt"): number | Bad {
  if (absent(v)) return new Bad("missing_field", `${field} is required`);
  if (typeof v !== "string") return new Bad("invalid_value", `${field} must be ${TIME_FORMAT}`);
  const ms = parseIsoTimestamp(v);
  if (ms === null) return new Bad("invalid_value", `${field} ${show(v)} is not ${TIME_FORMAT}`);
  return ms;
}

/** Two or four digits at `at` as a number, or -1. */
function digits(s: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `YYYY-MM-DDTHH:MM[:SS[.fraction]]` then `Z` or an offset `±HH[:MM]`/`±HHMM`. The fraction is cut to
 * milliseconds (what a Date holds). A hand-written scanner: one regex plus `new Date()` per field costs more.
 */
export function parseIsoTimestamp(s: string): number | null {
  const n = s.length;
  if (n < 17 || n > 40) return null;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return null;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58) return null;
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 116 && t !== 32) return null; // 'T', 't' or ' ' (RFC 3339)
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return null;
  let i = 16;
  let second = 0;
  let millis = 0;
  if (s.charCodeAt(i) === 58) {
    second = digits(s, i + 1, 2);
    if (second < 0 || second > 59) return null;
    i += 3;
    if (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44) {
      // Fraction: at least one digit; the first three are the milliseconds, the rest are dropped.
      const from = ++i;
      for (; i < n; i++) {
        const d = s.charCodeAt(i) - 48;
        if (!(d >= 0 && d <= 9)) break;
        if (i - from < 3) millis = millis * 10 + d;
      }
      const len = i - from;
      if (len === 0 || len > 9) return null;
      if (len === 1) millis *= 100;
      else if (len === 2) millis *= 10;
    }
  }
  let offsetMinutes: number;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    if (i + 1 !== n) return null;
    offsetMinutes = 0;
  } else if (z === 43 || z === 45) {
    const oh = digits(s, i + 1, 2);
    let om = 0;
    const rest = n - (i + 3);
    if (rest === 3 && s.charCodeAt(i + 3) === 58) om = digits(s, i + 4, 2);
    else if (rest === 2) om = digits(s, i + 3, 2);
    else if (rest !== 0) return null;
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return null;
    offsetMinutes = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else {
    return null;
  }
  return daysFromCivil(year, month, day) * 86_400_000 + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm): plain arithmetic, no Date. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

// ───────────────────────────── Counts ─────────────────────────────

/** Bytes: a JSON integer while exact (<= 2^53-1), or a decimal digit string up to 2^63-1 (CSV cells are strings). */
function byteCount(v: unknown, field: string): bigint | Bad {
  if (absent(v)) return 0n;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return new Bad("invalid_value", `${field} must be a whole number of bytes, got ${show(v)}`);
    if (v < 0) return new Bad("invalid_value", `${field} must not be negative`);
    if (!Number.isSafeInteger(v)) return new Bad("invalid_value", `${field} is above 2^53-1 and cannot be exact as a JSON number; send it as a string of digits`);
    return BigInt(v);
  }
  if (typeof v !== "string") return new Bad("invalid_value", `${field} must be a non-negative integer (a JSON number or a string of digits)`);
  const n = v.length;
  let first = 0; // first significant digit
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) {
      if (i === 0 && c === 45 && n > 1) return new Bad("invalid_value", `${field} must not be negative`);
      return new Bad("invalid_value", `${field} ${show(v)} is not a non-negative integer (decimal digits only)`);
    }
    if (c === 48 && first === i) first++;
  }
  if (n === 0) return new Bad("invalid_value", `${field} is an empty string`);
  // Leading zeros aside, more than 19 digits is beyond 2^63-1 for sure: checked before building a huge BigInt.
  if (n - first > 19) return new Bad("invalid_value", `${field} is above 2^63-1`);
  if (n - first <= 15) return BigInt(Number(v)); // exact: < 10^15 < 2^53, and cheaper than parsing a BigInt
  const b = BigInt(v);
  if (b > MAX_INT64) return new Bad("invalid_value", `${field} is above 2^63-1`);
  return b;
}

/** SMS counts: 0..1,000,000, as a JSON integer or a string of digits. */
function smsCount(v: unknown, field: string): number | Bad {
  if (absent(v)) return 0;
  let n: number;
  if (typeof v === "number") {
    n = v;
  } else if (typeof v === "string") {
    const len = v.length;
    if (len === 0 || len > 10) return new Bad("invalid_value", `${field} must be an integer from 0 to ${MAX_SMS}`);
    n = 0;
    for (let i = 0; i < len; i++) {
      const d = v.charCodeAt(i) - 48;
      if (!(d >= 0 && d <= 9)) return new Bad("invalid_value", `${field} ${show(v)} is not an integer from 0 to ${MAX_SMS}`);
      n = n * 10 + d;
    }
  } else {
    return new Bad("invalid_value", `${field} must be an integer from 0 to ${MAX_SMS}`);
  }
  if (!Number.isInteger(n) || n < 0 || n > MAX_SMS) return new Bad("invalid_value", `${field} must be an integer from 0 to ${MAX_SMS}, got ${show(v)}`);
  return n;
}

// ───────────────────────────── Device ─────────────────────────────

// ───────────────────────────── Fast paths ─────────────────────────────
// validateIccid and validateImei run several regexes per call; on 10,000 records that was about 8 ms of the 15 ms
// of validation. Input already in canonical form (what feeds send) is recognised here in one loop; it is exactly
// the input those validators accept unchanged (the tests compare both on random input), and anything else still
// goes through them, for their normalisation and their reasons.

/** 19 or 20 digits, "89" first, Luhn-valid: validateIccid would return it as it is. */
function isCanonicalIccid(s: string): boolean {
  const n = s.length;
  return (n === 19 || n === 20) && s.charCodeAt(0) === 56 && s.charCodeAt(1) === 57 && isLuhnDigits(s);
}

/** Only decimal digits, the last one the Luhn check digit of the others. */
function isLuhnDigits(s: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = s.length - 1; i >= 0; i--) {
    let d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return s.length >= 2 && sum % 10 === 0;
}

/** Digits of a device identifier with spaces and dashes removed, or null when anything else is in it. */
function deviceDigits(v: string): string | null {
  const s = v.replace(/[\s-]/g, "");
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  return s;
}

/** IMEI: 14 digits get their Luhn digit; 15 must pass Luhn; 16 (an IMEISV sent as imei) gives its device part. */
function imeiOf(v: unknown): string | Bad {
  if (typeof v !== "string") return new Bad("invalid_value", "imei must be a string of digits (as a JSON number it would lose leading zeros)");
  if (v.length === 15 && isLuhnDigits(v)) return v;
  const r = validateImei(v);
  if (r.ok) return r.value;
  const s = deviceDigits(v);
  if (s !== null && s.length === 14) return makeImei(s);
  if (s !== null && s.length !== 15) return new Bad("invalid_value", `imei must be 14 or 15 digits (or send a 16-digit IMEISV as imeisv), got ${s.length}`);
  return new Bad("invalid_value", r.reason);
}

/** IMEISV: 16 digits, the device is the first 14 plus their Luhn digit (the software version replaces it). */
function imeisvDevice(v: unknown): string | Bad {
  if (typeof v !== "string") return new Bad("invalid_value", "imeisv must be a string of 16 digits");
  const s = deviceDigits(v);
  if (s === null) return new Bad("invalid_value", "imeisv must contain digits only");
  if (s.length !== 16) return new Bad("invalid_value", `imeisv must be 16 digits, got ${s.length}`);
  return makeImei(s.slice(0, 14));
}
