import type { Redis } from "ioredis";
import type { SqlRunner } from "../../platform/db/database.js";

/** Which SIM an identifier names, and whose it is. */
export interface SimRef {
  simId: string;
  tenantId: string;
}

/**
 * A generation number for the identifier -> SIM mapping: bumped after anything that changes which tenant a SIM
 * belongs to (allocation), read once per ingestion request. A changed number empties every process's directory.
 */
export interface SimDirectoryVersion {
  read(): Promise<string>;
  bump(): Promise<void>;
}

/** Shared by every API process through Redis. */
export function redisDirectoryVersion(redis: Redis, prefix: string): SimDirectoryVersion {
  const key = `{${prefix}}:usage:sim-directory-version`;
  return {
    read: async () => (await redis.get(key)) ?? "0",
    bump: async () => void (await redis.incr(key)),
  };
}

/** Without Redis the service is one process (the embedded default): a counter in memory does. */
export function localDirectoryVersion(): SimDirectoryVersion {
  let n = 0;
  return { read: async () => String(n), bump: async () => void n++ };
}

type Kind = "iccid" | "imsi" | "msisdn";
const KINDS: Kind[] = ["iccid", "imsi", "msisdn"];

export interface SimIdentifiers {
  iccid: string | null;
  imsi: string | null;
  msisdn: string | null;
}

/** A record's SIM, or why it has none: the identifier at fault, as the API names it. */
export type Resolution = { ok: true; sim: SimRef } | { ok: false; code: "unknown_sim" | "sim_mismatch"; field: Kind };

/**
 * ICCID / IMSI / MSISDN -> SIM for usage ingestion, remembered in memory.
 *
 * Why: resolving identifiers in the ingestion statement cost PostgreSQL as much as inserting the records (three
 * index joins per record, measured 17-22 µs against 10.6 µs for the insert). A feed reports the same SIMs all
 * day, so after the first request a batch resolves here without a query, and the statement only inserts.
 * Only SIMs found are remembered (an unknown identifier is asked again next time: it may have been imported
 * since). The mapping changes only when a SIM changes tenant; allocation bumps the version and every process
 * starts afresh (a request already past its version check may still file a record under the SIM's previous
 * owner: the window is that one request). Bounded: past `maxEntries` identifiers it starts afresh too.
 */
export function createSimDirectory(deps: { sql: SqlRunner; version: SimDirectoryVersion; maxEntries?: number }) {
  const maxEntries = deps.maxEntries ?? 1_000_000;
  let version: string | null = null;
  const maps: Record<Kind, Map<string, SimRef>> = { iccid: new Map(), imsi: new Map(), msisdn: new Map() };
  const size = () => maps.iccid.size + maps.imsi.size + maps.msisdn.size;
  const clear = () => KINDS.forEach((k) => maps[k].clear());

  async function load(missing: Record<Kind, Set<string>>): Promise<void> {
    if (size() + missing.iccid.size + missing.imsi.size + missing.msisdn.size > maxEntries) clear();
    const rows = await deps.sql.query<{ id: string; tenant_id: string; iccid: string; imsi: string; msisdn: string | null }>(
      `SELECT id, tenant_id, iccid, imsi, msisdn FROM connectivity.sims
       WHERE iccid = ANY($1::text[]) OR imsi = ANY($2::text[]) OR msisdn = ANY($3::text[])`,
      [[...missing.iccid], [...missing.imsi], [...missing.msisdn]],
    );
    for (const row of rows) {
      const ref: SimRef = { simId: row.id, tenantId: row.tenant_id };
      maps.iccid.set(row.iccid, ref);
      maps.imsi.set(row.imsi, ref);
      if (row.msisdn) maps.msisdn.set(row.msisdn, ref);
    }
  }

  return {
    /**
     * One resolution per record, in order. `tenantId`: only that tenant's SIMs count (another tenant's SIM is
     * `unknown_sim`, exactly like a missing one); null: any tenant's (the platform's feed). A record whose
     * identifiers do not all name one SIM is `sim_mismatch`, naming the first identifier that disagrees.
     */
    async resolve(records: readonly SimIdentifiers[], tenantId: string | null): Promise<Resolution[]> {
      const current = await deps.version.read();
      if (current !== version) {
        clear();
        version = current;
      }
      const missing: Record<Kind, Set<string>> = { iccid: new Set(), imsi: new Set(), msisdn: new Set() };
      let anyMissing = false;
      for (const r of records) {
        for (const kind of KINDS) {
          const value = r[kind];
          if (value !== null && !maps[kind].has(value)) {
            missing[kind].add(value);
            anyMissing = true;
          }
        }
      }
      if (anyMissing) await load(missing);

      return records.map((r) => {
        let sim: SimRef | undefined;
        let first: Kind | undefined;
        for (const kind of KINDS) {
          if (r[kind] === null) continue;
          first ??= kind;
          const ref = lookup(kind, r[kind]!);
          if (!sim && ref) sim = ref;
        }
        if (!sim) return { ok: false, code: "unknown_sim", field: first ?? "iccid" };
        for (const kind of KINDS) {
          if (r[kind] !== null && lookup(kind, r[kind]!)?.simId !== sim.simId) return { ok: false, code: "sim_mismatch", field: kind };
        }
        return { ok: true, sim };
      });

      function lookup(kind: Kind, value: string): SimRef | undefined {
        const ref = maps[kind].get(value);
        return ref && (tenantId === null || ref.tenantId === tenantId) ? ref : undefined;
      }
    },
  };
}

export type SimDirectory = ReturnType<typeof createSimDirectory>;
