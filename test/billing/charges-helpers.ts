import type { SimStatus } from "../../src/generated/prisma/enums.js";
import type { CurrencyBill, TenantBill } from "../../src/modules/billing/bill.types.js";
import { BILLING_EFFECT } from "../../src/modules/sims/lifecycle.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { createSim } from "../helpers/factories.js";

/** Helpers of the billing computation tests: a SIM's history, plan assignments and daily usage written by hand. */

export const MB = 1_000_000n;

/**
 * A SIM of the tenant whose history is `states`: [instant, status] in order (the first is reached from
 * inventory). Its row carries the last status, as lifecycle operations leave it.
 */
export async function simWithHistory(prisma: PrismaClient, tenantId: string, states: Array<[string, SimStatus]>) {
  const status = states.at(-1)?.[1] ?? "inventory";
  const sim = await createSim(prisma, { tenantId, status });
  await addHistory(prisma, sim, states, "inventory");
  return sim;
}

/** More state changes of a SIM, after `from` (the status it was in). */
export async function addHistory(prisma: PrismaClient, sim: { id: string; tenantId: string }, states: Array<[string, SimStatus]>, from: SimStatus) {
  let previous = from;
  for (const [at, to] of states) {
    await prisma.simEvent.create({
      data: { tenantId: sim.tenantId, simId: sim.id, kind: "state_changed", fromStatus: previous, toStatus: to, billingEffect: BILLING_EFFECT[to], actorType: "system", at: new Date(at) },
    });
    previous = to;
  }
}

/** The SIM is on `ratePlanId` from `day` ("YYYY-MM-DD"). */
export async function assign(prisma: PrismaClient, sim: { id: string; tenantId: string }, ratePlanId: string, day: string, kind: "allocation" | "next_period" | "immediate" = "allocation") {
  await prisma.simRatePlanAssignment.create({ data: { simId: sim.id, tenantId: sim.tenantId, ratePlanId, effectiveFrom: new Date(`${day}T00:00:00Z`), kind, actorType: "system" } });
}

/** Adds one day's usage of a SIM as the rollup would: to usage_daily, and to usage_hourly (the day's first hour). */
export async function addUsage(prisma: PrismaClient, sim: { id: string; tenantId: string }, day: string, u: { bytes?: bigint; smsMo?: number; smsMt?: number; updatedAt?: Date }) {
  const bytes = u.bytes ?? 0n;
  await prisma.$executeRawUnsafe(
    `INSERT INTO connectivity.usage_hourly (tenant_id, hour, network, bytes_up, bytes_down, sms_mo, sms_mt, records, updated_at)
     VALUES ($1::uuid, $2::timestamptz, '', $3::bigint, $4::bigint, $5, $6, 1, $7::timestamptz)
     ON CONFLICT (tenant_id, hour, network) DO UPDATE SET bytes_up = usage_hourly.bytes_up + EXCLUDED.bytes_up,
       bytes_down = usage_hourly.bytes_down + EXCLUDED.bytes_down, sms_mo = usage_hourly.sms_mo + EXCLUDED.sms_mo,
       sms_mt = usage_hourly.sms_mt + EXCLUDED.sms_mt, records = usage_hourly.records + 1, updated_at = EXCLUDED.updated_at`,
    sim.tenantId,
    `${day}T00:00:00Z`,
    (bytes / 4n).toString(),
    (bytes - bytes / 4n).toString(),
    u.smsMo ?? 0,
    u.smsMt ?? 0,
    (u.updatedAt ?? new Date()).toISOString(),
  );
  await prisma.$executeRawUnsafe(
    `INSERT INTO connectivity.usage_daily (tenant_id, sim_id, day, bytes_up, bytes_down, sms_mo, sms_mt, records, updated_at)
     VALUES ($1::uuid, $2::uuid, $3::date, $4::bigint, $5::bigint, $6, $7, 1, $8::timestamptz)
     ON CONFLICT (tenant_id, sim_id, day) DO UPDATE SET bytes_up = usage_daily.bytes_up + EXCLUDED.bytes_up,
       bytes_down = usage_daily.bytes_down + EXCLUDED.bytes_down, sms_mo = usage_daily.sms_mo + EXCLUDED.sms_mo,
       sms_mt = usage_daily.sms_mt + EXCLUDED.sms_mt, records = usage_daily.records + 1, updated_at = EXCLUDED.updated_at`,
    sim.tenantId,
    sim.id,
    day,
    (bytes / 4n).toString(),
    (bytes - bytes / 4n).toString(),
    u.smsMo ?? 0,
    u.smsMt ?? 0,
    (u.updatedAt ?? new Date()).toISOString(),
  );
}

/** The lines of a bill as [kind, description, quantity, unit, unitPrice, netMinor] for t.same. */
export const linesOf = (bill: CurrencyBill | undefined) => (bill?.lines ?? []).map((l) => [l.kind, l.description, l.quantity, l.unit, l.unitPrice, Number(l.netMinor)]);

export const billIn = (tb: TenantBill, currency: string) => tb.bills.find((b) => b.currency === currency);

export const netTotal = (bill: CurrencyBill | undefined) => (bill?.lines ?? []).reduce((sum, l) => sum + l.netMinor, 0n);

/** A SIM's charges in a bill, keyed by ICCID and plan. */
export function chargeOf(bill: CurrencyBill | undefined, iccid: string, ratePlanId?: string, usagePeriod?: string) {
  return bill?.simCharges.find((c) => c.iccid === iccid && (!ratePlanId || c.ratePlanId === ratePlanId) && (!usagePeriod || c.usagePeriod === usagePeriod));
}

/**
 * Stores a computed bill as an issued invoice the way issuing does (a draft with its lines and per-SIM charges,
 * then issued with a number), so the late-usage tests have something billed. `createdAt` is when the draft was
 * computed.
 */
let invoiceSerial = 0;
export async function storeIssued(prisma: PrismaClient, tb: TenantBill, opts: { status?: "issued" | "paid" | "void"; createdAt?: Date } = {}) {
  const ids: string[] = [];
  for (const bill of tb.bills) {
    const net = bill.lines.reduce((sum, l) => sum + l.netMinor, 0n);
    const invoice = await prisma.invoice.create({
      data: {
        tenantId: tb.tenantId,
        periodStart: tb.period.start,
        periodEnd: tb.period.end,
        currency: bill.currency,
        supplier: { legalName: "Conekt GmbH" },
        customer: { legalName: "Customer" },
        vatTreatment: "reverse_charge",
        ...(opts.createdAt && { createdAt: opts.createdAt }),
        lines: {
          create: bill.lines.map((l, i) => ({
            position: i + 1,
            kind: l.kind,
            description: l.description,
            ratePlanId: l.ratePlanId,
            ratePlanVersion: l.ratePlanVersion,
            quantity: l.quantity,
            unit: l.unit,
            unitPrice: l.unitPrice,
            netMinor: l.netMinor,
            vatRate: "0",
            adjustsPeriod: l.adjustsPeriod ? new Date(`${l.adjustsPeriod}T00:00:00Z`) : null,
          })),
        },
      },
    });
    await prisma.invoiceSimCharge.createMany({
      data: bill.simCharges.map((c) => ({ ...c, invoiceId: invoice.id, usagePeriod: new Date(`${c.usagePeriod}T00:00:00Z`) })),
    });
    const number = `TEST-${process.pid}-${++invoiceSerial}`;
    await prisma.invoice.update({
      where: { id: invoice.id },
      data: { status: "issued", series: "TEST", number, issueDate: new Date(), issuedAt: new Date(), netMinor: net, totalMinor: net },
    });
    if (opts.status === "paid" || opts.status === "void") {
      await prisma.invoice.update({ where: { id: invoice.id }, data: opts.status === "paid" ? { status: "paid", paidAt: new Date(), paidMinor: net } : { status: "void", voidedAt: new Date(), voidReason: "test" } });
    }
    ids.push(invoice.id);
  }
  return ids;
}
