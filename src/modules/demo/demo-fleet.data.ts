// Pure, in-memory generator of a realistic demo fleet: SIMs, raw usage records and their per-day rollups.
// Deterministic: the same slug, attempt, size and `now` always give the same rows. SIM identities (ICCID, IMSI,
// MSISDN, EID) depend only on the slug, the attempt and the SIM's serial, never on `now` or the fleet size.
// demo-fleet.ts writes the result to the database.

import type { ImeiLockMode, SimFormFactor, SimStatus } from "../../generated/prisma/enums.js";
import { makeEid, makeIccid, makeImei } from "../../platform/identifiers.js";

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MIB = 1_048_576;
/** Serials are 5 digits in every identifier below, so a demo fleet holds at most this many SIMs. */
export const MAX_DEMO_SIMS = 99_999;

export interface DemoFleetOptions {
  slug: string;
  sims?: number;
  days?: number;
  now?: Date;
  /** Bumped by the writer when attempt 0's number blocks clash with SIMs already in the database. */
  attempt?: number;
}

export interface DemoSim {
  id: string;
  serial: number;
  profile: string;
  iccid: string;
  imsi: string;
  msisdn: string;
  eid: string | null;
  formFactor: SimFormFactor;
  status: SimStatus;
  statusChangedAt: Date;
  customName: string | null;
  labels: string[];
  imeiLockMode: ImeiLockMode;
  boundImei: string | null;
  lastSeenImei: string | null;
  lastSeenAt: Date | null;
  lastNetwork: string | null;
  dataLimitBytes: bigint | null;
  activatedAt: Date | null;
  terminatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DemoUsageRecord {
  sourceId: string;
  simId: string;
  startedAt: Date;
  endedAt: Date;
  bytesUp: number;
  bytesDown: number;
  smsMo: number;
  smsMt: number;
  imei: string | null;
  network: string | null;
  radio: string;
  receivedAt: Date;
}

/** One row per SIM and UTC day of `startedAt`: the exact sums of that SIM's records that day. */
export interface DemoUsageDaily {
  simId: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
  bytesUp: number;
  bytesDown: number;
  smsMo: number;
  smsMt: number;
  records: number;
}

export interface DemoFleet {
  sims: DemoSim[];
  usage: DemoUsageRecord[];
  daily: DemoUsageDaily[];
  /** First instant of the usage window (UTC midnight `days - 1` days before `now`'s day). */
  windowStart: Date;
  now: Date;
}

// ───────────────────────────── deterministic randomness ─────────────────────────────

/** FNV-1a over UTF-16 code units, with a murmur3 finaliser for better avalanche. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rngFor = (...parts: (string | number)[]): Rng => mulberry32(hash32(parts.join("\u0000")));
const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
const logUniform = (rng: Rng, min: number, max: number): number =>
  Math.round(Math.exp(Math.log(min) + rng() * (Math.log(max) - Math.log(min))));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rng() * total;
  for (const [item, w] of items) if ((r -= w) < 0) return item;
  return (items[items.length - 1] as readonly [T, number])[0];
}
const digits = (n: number, width: number): string => String(n).padStart(width, "0");

/** A decimal block of `width` (≤ 9) digits derived from the slug: each demo tenant gets its own number ranges. */
const block = (slug: string, attempt: number, kind: string, width: number): string =>
  digits(hash32(`${kind}:${slug}#${attempt}`) % 10 ** width, width);

/** A UUIDv7 (as the schema's default) for `ms`, its random bits from `rng`. */
function uuidV7(ms: number, rng: Rng): string {
  const hex = (n: number, w: number) => Math.floor(n).toString(16).padStart(w, "0");
  const ts = hex(ms, 12);
  const randA = hex(rng() * 0x1000, 3);
  const variant = hex(0x8000 | (rng() * 0x4000), 4);
  const randB = hex(rng() * 0x1000000, 6) + hex(rng() * 0x1000000, 6);
  return `${ts.slice(0, 8)}-${ts.slice(8)}-7${randA}-${variant}-${randB}`;
}

// ───────────────────────────── device profiles ─────────────────────────────

interface Profile {
  key: string;
  share: number;
  labelSets: readonly (readonly string[])[];
  /** Plausible TACs (reporting bodies 35/86); demo values, not real device allocations. */
  tac: string;
  radio: readonly string[];
  /** Visited networks (the SIMs' home network is the shared MCC 901, so everything is roaming). */
  networks: readonly (readonly [string, number])[];
  recordsPerDay: readonly [number, number];
  /** Bytes per data record (log-uniform). */
  bytes: readonly [number, number];
  upShare: readonly [number, number];
  /** Chance that a record is an SMS record rather than a data session. */
  smsChance: number;
  weekendFactor: number;
  sessionMinutes: readonly [number, number];
  formFactors: readonly (readonly [SimFormFactor, number])[];
  dataLimitBytes: bigint | null;
  lockMode: ImeiLockMode;
  name: ((n: number, labels: readonly string[]) => string) | null;
}

const GERMANY = [["262-01", 55], ["262-02", 30], ["262-03", 15]] as const;

const PROFILES: readonly Profile[] = [
  {
    key: "tracker", share: 46, tac: "35473810", radio: ["LTE-M"], networks: GERMANY,
    labelSets: [["fleet:berlin", "model:tracker-v2"], ["fleet:hamburg", "model:tracker-v2"],
      ["fleet:munich", "model:tracker-v2", "env:pilot"], ["fleet:berlin", "model:tracker-v1"]],
    recordsPerDay: [3, 8], bytes: [8_000, 90_000], upShare: [0.6, 0.85], smsChance: 0.04, weekendFactor: 0.5,
    sessionMinutes: [1, 20], formFactors: [["mff2", 50], ["ff4", 35], ["esim", 15]],
    dataLimitBytes: BigInt(50 * MIB), lockMode: "lock_first_seen",
    name: (n, labels) => `Truck ${(labels[0] ?? "").slice(6, 9).toUpperCase()}-${digits(n, 4)}`,
  },
  {
    key: "meter", share: 24, tac: "86754203", radio: ["NB-IoT"], networks: [["262-01", 70], ["262-02", 30]],
    labelSets: [["site:rhine-ruhr", "model:meter-s3"], ["site:hesse", "model:meter-s3"]],
    recordsPerDay: [1, 3], bytes: [600, 12_000], upShare: [0.75, 0.95], smsChance: 0.01, weekendFactor: 1,
    sessionMinutes: [0.2, 2], formFactors: [["mff2", 70], ["ff4", 22], ["esim", 8]],
    dataLimitBytes: BigInt(10 * MIB), lockMode: "none", name: null,
  },
  {
    key: "pos", share: 14, tac: "35890111", radio: ["LTE"], networks: GERMANY,
    labelSets: [["retail:north", "model:pos-t1"], ["retail:south", "model:pos-t1"]],
    recordsPerDay: [3, 7], bytes: [3_000, 60_000], upShare: [0.3, 0.5], smsChance: 0.02, weekendFactor: 0.7,
    sessionMinutes: [0.5, 5], formFactors: [["ff3", 60], ["ff4", 25], ["esim", 15]],
    dataLimitBytes: BigInt(100 * MIB), lockMode: "lock", name: null,
  },
  {
    key: "camera", share: 13, tac: "86933605", radio: ["LTE"], networks: [["262-02", 80], ["262-01", 20]],
    labelSets: [["site:warehouse-7", "model:cam-4k"], ["site:depot-leipzig", "model:cam-4k"]],
    recordsPerDay: [4, 10], bytes: [2 * MIB, 60 * MIB], upShare: [0.85, 0.97], smsChance: 0, weekendFactor: 1,
    sessionMinutes: [5, 45], formFactors: [["ff4", 60], ["mff2", 20], ["esim", 20]],
    dataLimitBytes: null, lockMode: "none",
    name: (n, labels) => `Cam ${(labels[0] ?? "").slice(5)} #${n}`,
  },
  {
    key: "gateway", share: 2, tac: "35961207", radio: ["LTE", "5G"], networks: [["262-01", 60], ["262-02", 40]],
    labelSets: [["site:hq", "model:gw-lte-r5", "tier:heavy"]],
    recordsPerDay: [6, 12], bytes: [20 * MIB, 400 * MIB], upShare: [0.15, 0.4], smsChance: 0, weekendFactor: 0.8,
    sessionMinutes: [30, 120], formFactors: [["ff4", 50], ["esim", 50]],
    dataLimitBytes: null, lockMode: "lock", name: null,
  },
];

// ───────────────────────────── SIMs ─────────────────────────────

interface NumberBlocks { iccid: string; imsi: string; msisdn: string; eid: string }

function numberBlocks(slug: string, attempt: number): NumberBlocks {
  return {
    iccid: block(slug, attempt, "iccid", 7),
    imsi: block(slug, attempt, "imsi", 5),
    msisdn: block(slug, attempt, "msisdn", 5),
    eid: block(slug, attempt, "eid-a", 6) + block(slug, attempt, "eid-b", 6),
  };
}

/** Identifiers of SIM `serial` (1-based). Issued in consecutive batches, as real SIM orders are. */
function identities(b: NumberBlocks, serial: number) {
  const s = digits(serial, 5);
  return {
    // 89 + 882 (international networks) + 39 + per-slug block + serial + Luhn = 20 digits.
    iccid: makeIccid(`8988239${b.iccid}${s}`),
    // MCC 901 (shared international) + MNC 28 + MSIN (block + serial).
    imsi: `90128${b.imsi}${s}`,
    // E.164 in the +882 international networks range, 15 digits.
    msisdn: `88239${b.msisdn}${s}`,
    // 89 + country 049 + issuer 032 + 00401 + block + serial + MOD 97-10 check digits = 32 digits.
    eid: makeEid(`8904903200401${b.eid}${s}`),
  };
}

const anyTimeOfDay = (rng: Rng): number => Math.floor(rng() * DAY_MS);

/** Status history; the SIM could use the network during [activatedAt, end). */
interface Lifecycle { status: SimStatus; createdAt: number; activatedAt: number | null; statusChangedAt: number; end: number }

function lifecycle(rng: Rng, now: number, days: number): Lifecycle {
  const status = weighted<SimStatus>(rng, [["active", 78], ["ready", 9], ["suspended", 9], ["terminated", 4]]);
  if (status === "ready") {
    const createdAt = now - int(rng, 30, 400) * DAY_MS - anyTimeOfDay(rng);
    const statusChangedAt = Math.min(createdAt + int(rng, 1, 20) * DAY_MS + anyTimeOfDay(rng), now - HOUR_MS);
    return { status, createdAt, activatedAt: null, statusChangedAt, end: 0 };
  }
  // ~7% of active SIMs went live inside the usage window; the rest well before it.
  const recent = status === "active" && rng() < 0.07;
  const activatedAt = recent
    ? now - Math.floor(rng() * days * DAY_MS)
    : now - int(rng, days + 10, 700) * DAY_MS - anyTimeOfDay(rng);
  const createdAt = activatedAt - int(rng, 1, 45) * DAY_MS - anyTimeOfDay(rng);
  if (status === "active") return { status, createdAt, activatedAt, statusChangedAt: activatedAt, end: now };
  // Suspended or terminated some time after activation, often inside the window, so usage stops that day.
  const earliest = Math.max(activatedAt + 7 * DAY_MS, now - 3 * days * DAY_MS);
  const changedAt = Math.min(earliest + Math.floor(rng() * Math.max(0, now - HOUR_MS - earliest)), now - HOUR_MS);
  return { status, createdAt, activatedAt, statusChangedAt: changedAt, end: changedAt };
}

// ───────────────────────────── generator ─────────────────────────────

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function generateDemoFleet(opts: DemoFleetOptions): DemoFleet {
  const { slug, sims: count = 1000, days = 30, attempt = 0 } = opts;
  if (!Number.isInteger(count) || count < 0 || count > MAX_DEMO_SIMS) {
    throw new RangeError(`sims must be an integer from 0 to ${MAX_DEMO_SIMS}, got ${count}`);
  }
  if (!Number.isInteger(days) || days < 0 || days > 400) throw new RangeError(`days must be 0-400, got ${days}`);
  const now = (opts.now ?? new Date()).getTime();
  const windowStart = Math.floor(now / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
  const blocks = numberBlocks(slug, attempt);
  const profileWeights = PROFILES.map((p) => [p, p.share] as const);

  const sims: DemoSim[] = [];
  const usage: DemoUsageRecord[] = [];
  const daily: DemoUsageDaily[] = [];
  const usedImeis = new Set<string>();
  const perLabelSet = new Map<string, number>();

  for (let serial = 1; serial <= count; serial++) {
    const rng = rngFor("sim", slug, attempt, serial);
    const ids = identities(blocks, serial);
    const p = weighted(rng, profileWeights);
    const labels = [...pick(rng, p.labelSets)];
    const nth = (perLabelSet.get(labels.join()) ?? 0) + 1;
    perLabelSet.set(labels.join(), nth);
    const formFactor = weighted(rng, p.formFactors);
    // eSIM-capable (about 20% of the fleet): every "esim" and one in ten soldered MFF2 chips (eUICC-based) carry an EID.
    const eid = formFactor === "esim" || (formFactor === "mff2" && rng() < 0.1) ? ids.eid : null;
    const life = lifecycle(rng, now, days);
    const everActive = life.activatedAt !== null;
    const dormant = life.status === "active" && rng() < 0.03; // device switched off: no traffic lately

    let imei: string | null = null;
    if (everActive && rng() < 0.9) {
      do imei = makeImei(p.tac + digits(int(rng, 0, 999_999), 6));
      while (usedImeis.has(imei));
      usedImeis.add(imei);
    }
    const homeNet = weighted(rng, p.networks);
    const radio = pick(rng, p.radio);
    const heavy = p.key !== "gateway" && rng() < 0.02 ? 8 : 1; // a few chatty outliers
    const id = uuidV7(life.createdAt, rng);

    const urng = rngFor("usage", slug, attempt, serial);
    let last: { at: number; network: string } | null = null;
    if (everActive && !dormant) {
      const from = Math.max(windowStart, life.activatedAt ?? 0);
      const until = Math.min(life.end, now);
      for (let dayStart = windowStart; dayStart < until; dayStart += DAY_MS) {
        const lo = Math.max(dayStart, from);
        const hi = Math.min(dayStart + DAY_MS, until);
        if (hi <= lo) continue;
        const weekday = new Date(dayStart).getUTCDay();
        const factor = weekday === 0 || weekday === 6 ? p.weekendFactor : 1;
        const n = Math.round(int(urng, p.recordsPerDay[0], p.recordsPerDay[1]) * factor * ((hi - lo) / DAY_MS));
        const starts = Array.from({ length: n }, () => lo + Math.floor(urng() * (hi - lo))).sort((a, b) => a - b);
        const roll: DemoUsageDaily = { simId: id, day: isoDay(dayStart), bytesUp: 0, bytesDown: 0, smsMo: 0, smsMt: 0, records: 0 };
        for (const start of starts) {
          const sms = urng() < p.smsChance;
          const minutes = sms ? 0 : p.sessionMinutes[0] + urng() * (p.sessionMinutes[1] - p.sessionMinutes[0]);
          const endedAt = Math.min(start + Math.max(1000, Math.round(minutes * 60_000)), until);
          const total = sms ? 0 : logUniform(urng, p.bytes[0], p.bytes[1]) * heavy;
          const bytesUp = Math.round(total * (p.upShare[0] + urng() * (p.upShare[1] - p.upShare[0])));
          const smsMo = sms ? int(urng, 1, 2) : 0;
          const smsMt = sms ? int(urng, 0, 1) : 0;
          const network = urng() < 0.9 ? homeNet : weighted(urng, p.networks);
          const rec: DemoUsageRecord = {
            sourceId: "", simId: id, startedAt: new Date(start), endedAt: new Date(endedAt),
            bytesUp, bytesDown: total - bytesUp, smsMo, smsMt, imei, network, radio,
            receivedAt: new Date(Math.min(endedAt + int(urng, 20, 900) * 1000, now)),
          };
          rec.sourceId = `demo:${slug}:${usage.length + 1}`;
          usage.push(rec);
          roll.bytesUp += rec.bytesUp;
          roll.bytesDown += rec.bytesDown;
          roll.smsMo += smsMo;
          roll.smsMt += smsMt;
          roll.records++;
          if (!last || endedAt >= last.at) last = { at: endedAt, network };
        }
        if (roll.records > 0) daily.push(roll);
      }
    }
    // Seen before the window (dormant, or stopped earlier): a plausible last sighting on the home network.
    if (!last && everActive && rng() < 0.8) {
      const before = Math.min(life.end, windowStart) - int(rng, 1, 20) * DAY_MS;
      if (before > (life.activatedAt ?? 0)) last = { at: before, network: homeNet };
    }

    // Locked to the device it was seen in (half of the SIMs whose profile locks).
    const lockMode = last && imei && rng() < 0.5 ? p.lockMode : "none";
    const statusChangedAt = new Date(life.statusChangedAt);
    const lastSeenAt = last ? new Date(last.at) : null;
    sims.push({
      id, serial, profile: p.key, iccid: ids.iccid, imsi: ids.imsi, msisdn: ids.msisdn, eid, formFactor,
      status: life.status, statusChangedAt, customName: p.name && rng() < 0.6 ? p.name(nth, labels) : null,
      labels, imeiLockMode: lockMode, boundImei: lockMode === "none" ? null : imei,
      lastSeenImei: last ? imei : null, lastSeenAt, lastNetwork: last?.network ?? null,
      dataLimitBytes: rng() < 0.7 ? p.dataLimitBytes : null,
      activatedAt: life.activatedAt === null ? null : new Date(life.activatedAt),
      terminatedAt: life.status === "terminated" ? statusChangedAt : null,
      createdAt: new Date(life.createdAt),
      updatedAt: new Date(Math.max(life.statusChangedAt, last?.at ?? 0)),
    });
  }
  return { sims, usage, daily, windowStart: new Date(windowStart), now: new Date(now) };
}
