import type { PrismaClient } from "../../src/platform/db/database.js";
import { makeIccid } from "../../src/platform/identifiers.js";
import type { Client } from "../helpers/client.js";

type Status = "inventory" | "ready" | "active" | "suspended" | "terminated";

/** Serial numbers already used by this process (each test file has its own database). */
let used = 0;

/**
 * Many SIMs in one statement (INSERT ... SELECT FROM unnest), with valid ICCIDs (Luhn) and IMSIs on MCC-MNC
 * 262-77, numbered on from the previous seed. `rejectedEvery`: every n-th SIM gets an IMSI ending in 9999,
 * which the network simulator refuses. Returns the SIMs in ICCID order.
 */
export async function seedSims(
  prisma: PrismaClient,
  opts: { tenantId: string; count: number; status?: Status; ratePlanId?: string; labels?: string[]; rejectedEvery?: number },
): Promise<Array<{ id: string; iccid: string; imsi: string }>> {
  const iccids: string[] = [];
  const imsis: string[] = [];
  for (let i = 0; i < opts.count; i++) {
    const serial = used + i;
    iccids.push(makeIccid(`894977${String(serial).padStart(12, "0")}`));
    const rejected = opts.rejectedEvery !== undefined && i % opts.rejectedEvery === opts.rejectedEvery - 1;
    imsis.push(`26277${String(serial).padStart(6, "0")}${rejected ? "9999" : "0000"}`);
  }
  used += opts.count;
  const rows = await prisma.$queryRawUnsafe<Array<{ id: string; iccid: string; imsi: string }>>(
    `INSERT INTO connectivity.sims (id, tenant_id, iccid, imsi, form_factor, status, rate_plan_id, labels, activated_at, updated_at)
     SELECT gen_random_uuid(), $1::uuid, u.iccid, u.imsi, 'ff4', $2::connectivity."SimStatus", $3::uuid, $4::varchar(64)[],
       CASE WHEN $2::text IN ('active', 'suspended') THEN now() END, now()
     FROM unnest($5::text[], $6::text[]) AS u(iccid, imsi)
     RETURNING id::text, iccid, imsi`,
    opts.tenantId,
    opts.status ?? "active",
    opts.ratePlanId ?? null,
    opts.labels ?? [],
    iccids,
    imsis,
  );
  return rows.sort((a, b) => (a.iccid < b.iccid ? -1 : 1));
}

/**
 * One SIM (the shared factory's MSISDNs repeat after ten SIMs in a process: it keeps 15 of 16 digits).
 * `refusedByNetwork`: its IMSI ends in 9999, which the network simulator refuses.
 */
export async function createSim(prisma: PrismaClient, opts: { tenantId: string; status?: Status; ratePlanId?: string; labels?: string[]; refusedByNetwork?: boolean }) {
  const [sim] = await seedSims(prisma, { ...opts, count: 1, ...(opts.refusedByNetwork ? { rejectedEvery: 1 } : {}) });
  return sim!;
}

/** Polls GET /v1/operations/{id} until the operation is finished; returns every answer seen (progress). */
export async function waitForOperation(client: Client, id: string, timeoutMs = 30_000): Promise<{ final: any; seen: any[] }> {
  const seen: any[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/v1/operations/${id}`);
    if (res.status !== 200) throw new Error(`GET /v1/operations/${id}: ${res.status} ${res.body}`);
    seen.push(res.json);
    if (res.json.status === "completed" || res.json.status === "failed") return { final: res.json, seen };
    if (Date.now() > deadline) throw new Error(`operation ${id} still ${res.json.status} after ${timeoutMs} ms: ${res.body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A signed-in client for a user. */
export async function signedIn(client: Client, user: { email: string; password: string }): Promise<Client> {
  const res = await client.login(user.email, user.password);
  if (res.status !== 200) throw new Error(`login ${user.email}: ${res.status} ${res.body}`);
  return client;
}
