import type { PrismaClient } from "../../src/platform/db/database.js";
import { checkLimits, type LimitCheckResult } from "../../src/modules/usage/limit-check.js";
import type { TestApp } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";

/** Helpers of the data-limit and alert tests. Usage totals are written straight into the rollup tables. */

/** Adds to a SIM's usage of one UTC day (as the rollup would). */
export async function addDaily(prisma: PrismaClient, sim: { tenantId: string; id: string }, day: string, up: bigint, down = 0n): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO connectivity.usage_daily (tenant_id, sim_id, day, bytes_up, bytes_down, records)
    VALUES (${sim.tenantId}::uuid, ${sim.id}::uuid, ${day}::date, ${up}, ${down}, 1)
    ON CONFLICT (tenant_id, sim_id, day) DO UPDATE SET bytes_up = usage_daily.bytes_up + EXCLUDED.bytes_up, bytes_down = usage_daily.bytes_down + EXCLUDED.bytes_down`;
}

/** Adds to a tenant's usage of one UTC hour on one network. */
export async function addHourly(prisma: PrismaClient, tenantId: string, hour: Date, up: bigint, down = 0n, network = "262-01"): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO connectivity.usage_hourly (tenant_id, hour, network, bytes_up, bytes_down, records)
    VALUES (${tenantId}::uuid, ${hour}::timestamptz, ${network}, ${up}, ${down}, 1)
    ON CONFLICT (tenant_id, hour, network) DO UPDATE SET bytes_up = usage_hourly.bytes_up + EXCLUDED.bytes_up, bytes_down = usage_hourly.bytes_down + EXCLUDED.bytes_down`;
}

/** The limit check as the usage.limits job runs it, at `now`. */
export const check = (ctx: TestApp, now: Date, tenantIds?: string[]): Promise<LimitCheckResult> =>
  checkLimits({ prisma: ctx.prisma, jobs: ctx.runtime.jobs }, { now, ...(tenantIds && { tenantIds }) });

export const putLimit = (client: Client, iccid: string, body: unknown) => client.request("PUT", `/v1/sims/${iccid}/data-limit`, { body });
export const putPolicy = (client: Client, body: unknown, tenantId?: string) => client.request("PUT", `/v1/usage/limits${tenantId ? `?tenantId=${tenantId}` : ""}`, { body });

/** The first day of the month `offset` months from `now`'s, at noon on `day` (UTC). */
export function monthDay(now: Date, offset: number, day = 15): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, day, 12));
}
export const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** Polls until `read` returns something `done` accepts (operations complete through the jobs in seconds). */
export async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}
