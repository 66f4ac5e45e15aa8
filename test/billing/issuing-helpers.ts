import { randomUUID } from "node:crypto";
import type { BillLine, CurrencyBill, SimCharge, TenantBill } from "../../src/modules/billing/bill.types.js";
import type { ComputeBill } from "../../src/modules/billing/issuing.js";
import { parsePeriod, type BillingPeriod } from "../../src/modules/billing/period.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import type { TestApp } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";
import { createTenant, createUser } from "../helpers/factories.js";

/** Helpers of the issuing, run and invoice-action tests: hand-made bills and staff clients. */

export const period = (key: string): BillingPeriod => parsePeriod(key)!;

/** A fee line: quantity x unit price = net, as the computation would round it. */
export function feeLine(netMinor: bigint, over: Partial<BillLine> = {}): BillLine {
  return {
    kind: "monthly_fee",
    description: "Monthly fee – TEST-PLAN (Test plan)",
    ratePlanId: null,
    ratePlanVersion: null,
    quantity: "1.000000",
    unit: "SIM-month",
    unitPrice: (Number(netMinor) / 100).toFixed(2),
    netMinor,
    adjustsPeriod: null,
    ...over,
  };
}

export function simCharge(over: Partial<SimCharge> & Pick<SimCharge, "simId" | "iccid" | "ratePlanId" | "usagePeriod">): SimCharge {
  return {
    billableDays: 30,
    suspendedDays: 0,
    activated: false,
    bytes: 0n,
    includedBytes: 0n,
    overageBytes: 0n,
    smsMo: 0,
    smsMt: 0,
    feeAmount: "5.000000",
    activationAmount: "0",
    overageAmount: "0",
    smsAmount: "0",
    ...over,
  };
}

export const eurBill = (lines: BillLine[], simCharges: SimCharge[] = [], currency = "EUR"): CurrencyBill => ({ currency, lines, simCharges });

/**
 * A stand-in for computeTenantBill: the bills given per tenant (none for others); a tenant mapped to an Error
 * makes the computation throw it, as an unpriced plan would.
 */
export function handCompute(bills: Map<string, CurrencyBill[] | Error>): ComputeBill {
  return async (_sql, tenantId, p): Promise<TenantBill> => {
    const b = bills.get(tenantId);
    if (b instanceof Error) throw b;
    return { tenantId, period: p, bills: b ?? [] };
  };
}

/** A platform tenant with a signed-in staff member of `role` (MFA enrolled, as platform staff must). */
export async function staffClient(ctx: TestApp, role: "owner" | "admin" | "billing" | "operator" | "viewer" = "billing"): Promise<{ client: Client; platformId: string }> {
  const existing = await ctx.prisma.tenant.findFirst({ where: { kind: "platform" }, select: { id: true, slug: true } });
  const platform = existing ?? (await createTenant(ctx.prisma, { kind: "platform", slug: `platform-${randomUUID().slice(0, 8)}` }));
  const user = await createUser(ctx.prisma, { tenantId: platform.id, role });
  const client = ctx.client();
  const res = await client.login(user.email, user.password, platform.slug, { enrolMfa: true });
  if (res.status !== 200) throw new Error(`staff sign-in failed: ${res.status} ${res.body}`);
  return { client, platformId: platform.id };
}

/** A customer member signed in to their tenant. */
export async function memberClient(ctx: TestApp, tenantId: string, role: "owner" | "admin" | "billing" | "operator" | "viewer"): Promise<Client> {
  const tenant = await ctx.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { slug: true } });
  const user = await createUser(ctx.prisma, { tenantId, role });
  const client = ctx.client();
  const res = await client.login(user.email, user.password, tenant.slug);
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return client;
}

/** Every issued number of a series, in order. */
export async function numbersOf(prisma: PrismaClient, series: string): Promise<string[]> {
  const rows = await prisma.invoice.findMany({ where: { series }, select: { number: true }, orderBy: { number: "asc" } });
  return rows.map((r) => r.number!);
}

/** "INV-2026-000001" .. for n numbers from `from`. */
export const expectedNumbers = (series: string, n: number, from = 1): string[] => Array.from({ length: n }, (_, i) => `${series}-${String(from + i).padStart(6, "0")}`);

export const thisYear = () => new Date().getUTCFullYear();

export async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}
