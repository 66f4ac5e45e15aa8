import type { PrismaClient } from "../../src/platform/db/database.js";
import type { Client } from "../helpers/client.js";
import { createTenant } from "../helpers/factories.js";
import { assign, simWithHistory } from "./charges-helpers.js";
import { waitFor } from "./issuing-helpers.js";

/**
 * Helpers of the billing-run tests. Their tenants' SIMs are active through September and October 2026 only
 * (terminated at 2026-11-01T00:00Z): October bills one monthly fee per SIM, and the hourly scheduled run the
 * test workers start (for the month before the real clock's) finds nothing to bill, so it takes no number.
 */
export const RUN_PERIOD = "2026-10";

export async function billableTenant(prisma: PrismaClient, planId: string, sims = 1, name?: string) {
  const tenant = await createTenant(prisma, name ? { legalName: name } : {});
  const created = [];
  for (let i = 0; i < sims; i++) {
    const sim = await simWithHistory(prisma, tenant.id, [
      ["2026-08-01T00:00:00Z", "ready"],
      ["2026-09-01T08:00:00Z", "active"],
      ["2026-11-01T00:00:00Z", "terminated"],
    ]);
    await assign(prisma, sim, planId, "2026-01-01");
    created.push(sim);
  }
  return { tenant, sims: created };
}

/** Starts a run through the API and answers its id. */
export async function startRunApi(client: Client, body: Record<string, unknown>): Promise<string> {
  const res = await client.post("/v1/billing/runs", body);
  if (res.status !== 202) throw new Error(`run refused: ${res.status} ${res.body}`);
  return res.json.id as string;
}

/** Waits for the run to end (completed or failed) and answers its detail. */
export async function finishedRun(client: Client, runId: string, timeoutMs = 60_000) {
  const res = await waitFor(() => client.get(`/v1/billing/runs/${runId}`), (r) => r.status !== 200 || r.json.status === "completed" || r.json.status === "failed", timeoutMs);
  if (res.status !== 200) throw new Error(`run ${runId}: ${res.status} ${res.body}`);
  return res.json;
}
