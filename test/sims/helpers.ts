import type { Role } from "../../src/generated/prisma/enums.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { makeEid, makeIccid } from "../../src/platform/identifiers.js";
import type { TestApp } from "../helpers/build.js";
import type { Client, Reply } from "../helpers/client.js";
import { createUser } from "../helpers/factories.js";

/**
 * Valid, distinct telecom numbers for SIM tests, from a block number and an index: ICCID 8944 + 2-digit block +
 * 0000 + 8-digit index + Luhn, IMSI 234-15 + block + index, MSISDN +44 77 + block + index, EID 89049032 + block
 * + index + MOD 97-10 check digits.
 * Each test file has its own database, so blocks only need to differ inside one file.
 */
export function numbers(block: number, i: number) {
  const b = String(block).padStart(2, "0");
  const n = String(i).padStart(8, "0");
  return {
    iccid: makeIccid(`8944${b}0000${n}`),
    imsi: `23415${b}${n}`,
    msisdn: `4477${b}${n}`,
    eid: makeEid(`89049032${b}000000000000${n}`),
  };
}

/** A signed-in client for a new user of `tenantId` with `role`. */
export async function signedIn(ctx: TestApp, tenantId: string, role: Role): Promise<Client> {
  const user = await createUser(ctx.prisma, { tenantId, role });
  const client = ctx.client();
  const res = await client.login(user.email, user.password);
  if (res.status !== 200 || res.json.status !== "authenticated") throw new Error(`sign-in as ${role} failed: ${res.status} ${res.body}`);
  return client;
}

/** A CSV file from rows of cells, with the standard header unless given. */
export function csv(rows: Array<Array<string | number>>, header = ["iccid", "imsi", "msisdn", "eid", "formFactor", "pin", "puk"]): string {
  return [header, ...rows].map((r) => r.join(",")).join("\r\n") + "\r\n";
}

export async function postCsv(client: Client, body: string, query = ""): Promise<Reply> {
  return client.request("POST", `/v1/inventory/sims/import${query}`, { rawBody: body, headers: { "content-type": "text/csv" } });
}

/** Usage for a SIM on one day (the daily rollup the test-threshold job reads). */
export async function addDailyUsage(prisma: PrismaClient, sim: { id: string; tenantId: string }, day: string, bytesUp: bigint, bytesDown: bigint): Promise<void> {
  await prisma.usageDaily.create({ data: { tenantId: sim.tenantId, simId: sim.id, day: new Date(`${day}T00:00:00Z`), bytesUp, bytesDown, records: 1 } });
}
