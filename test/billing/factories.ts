import type { PrismaClient } from "../../src/platform/db/database.js";
import { createRatePlan } from "../helpers/factories.js";

export interface PlanPrices {
  monthlyFee?: string;
  suspendedFee?: string;
  prorate?: boolean;
  includedBytes?: bigint;
  dataAllowance?: "per_sim" | "pooled";
  overagePerMb?: string;
  smsMoPrice?: string;
  smsMtPrice?: string;
  activationFee?: string;
  /** "YYYY-MM-01"; default 2000-01-01 (in effect for any test period). */
  effectiveFrom?: string;
}

/** A rate plan with one price version (shared by the billing tests; defaults are a plain 5 EUR/month plan). */
export async function createPricedPlan(prisma: PrismaClient, prices: PlanPrices = {}, plan: Partial<{ code: string; name: string; currency: string }> = {}) {
  const ratePlan = await createRatePlan(prisma, plan);
  const version = await addPlanVersion(prisma, ratePlan.id, prices, 1);
  return { ...ratePlan, version };
}

export async function addPlanVersion(prisma: PrismaClient, ratePlanId: string, prices: PlanPrices, version: number) {
  return prisma.ratePlanVersion.create({
    data: {
      ratePlanId,
      version,
      effectiveFrom: new Date(`${prices.effectiveFrom ?? "2000-01-01"}T00:00:00Z`),
      monthlyFee: prices.monthlyFee ?? "5.00",
      suspendedFee: prices.suspendedFee ?? "0",
      prorate: prices.prorate ?? false,
      includedBytes: prices.includedBytes ?? 0n,
      dataAllowance: prices.dataAllowance ?? "per_sim",
      overagePerMb: prices.overagePerMb ?? "0",
      smsMoPrice: prices.smsMoPrice ?? "0",
      smsMtPrice: prices.smsMtPrice ?? "0",
      activationFee: prices.activationFee ?? "0",
    },
  });
}
