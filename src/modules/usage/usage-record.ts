/**
 * One usage record after validation: what ingestion stores. The parser (ingest-parse.ts) produces it from JSON,
 * NDJSON or CSV input; the store (ingest-store.ts) resolves the SIM and inserts it.
 */
export interface ValidUsageRecord {
  /** Position in the request, 0-based (JSON array element, NDJSON line, CSV data row). */
  index: number;
  /** The feed's record id, 1-128 printable characters: with the start time it makes ingestion idempotent. */
  sourceId: string;
  /** Exactly how the record names its SIM: at least one of these, normalised (digits only). */
  iccid: string | null;
  imsi: string | null;
  msisdn: string | null;
  startedAt: Date;
  endedAt: Date;
  /** Non-negative integers below 2^63; bigint because a session's bytes may exceed 2^53. */
  bytesUp: bigint;
  bytesDown: bigint;
  smsMo: number;
  smsMt: number;
  /** 15 digits with the Luhn check digit; an IMEISV's device part is normalised to this. */
  imei: string | null;
  /** MCC-MNC, "262-01". */
  network: string | null;
  radio: UsageRadio | null;
}

export const USAGE_RADIOS = ["2g", "3g", "4g", "5g", "nb-iot", "lte-m"] as const;
export type UsageRadio = (typeof USAGE_RADIOS)[number];

/** A record refused alone: the others of the request are still taken. */
export interface UsageRejection {
  index: number;
  /** When the record had a readable one. */
  sourceId?: string;
  /** The offending field (camelCase, as in the JSON form), or null when the record as a whole is unreadable. */
  field: string | null;
  /** Stable, for programs: invalid_json, invalid_value, missing_field, unknown_sim, sim_mismatch, ... */
  code: string;
  /** For people. */
  reason: string;
}

/** What parsing a request body yields, in input order. */
export type ParsedUsage = { ok: true; record: ValidUsageRecord } | { ok: false; rejection: UsageRejection };

/** Request bounds from the issue: 10,000 records or 10 MB, whichever comes first. */
export const MAX_RECORDS_PER_REQUEST = 10_000;
export const MAX_BYTES_PER_REQUEST = 10 * 1024 * 1024;
