import type { RatePlan } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import { NotFoundError, ValidationError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import { principalId, type Actor } from "../access/principal.js";
import { formatPrice } from "../billing/money.js";
import type { RatePlanPricesInput } from "./rate-plans.schemas.js";

const MAX_BIGINT = 2n ** 63n - 1n;

/** What the schema cannot say: included bytes fit a bigint column (a digit string may hold up to 19 digits). */
export function checkPrices(prices: RatePlanPricesInput, at: string): void {
  if (prices.includedBytes !== undefined && BigInt(prices.includedBytes) > MAX_BIGINT) {
    const field = `${at}/includedBytes`;
    throw new ValidationError(`${field} must be at most ${MAX_BIGINT}`, [{ field, reason: `must be at most ${MAX_BIGINT}` }]);
  }
}

/** The version row's price columns from the API's prices (omitted prices 0, no proration, per-SIM data). */
export function versionData(prices: RatePlanPricesInput) {
  return {
    monthlyFee: prices.monthlyFee,
    suspendedFee: prices.suspendedFee ?? "0",
    prorate: prices.prorate ?? false,
    includedBytes: BigInt(prices.includedBytes ?? 0),
    dataAllowance: prices.dataAllowance ?? "per_sim",
    overagePerMb: prices.overagePerMb ?? "0",
    smsMoPrice: prices.smsMoPrice ?? "0",
    smsMtPrice: prices.smsMtPrice ?? "0",
    activationFee: prices.activationFee ?? "0",
  } as const;
}

/** The prices as an audit event records them: every price as the API shows it, bytes as a string. */
export function pricesAudit(prices: RatePlanPricesInput): Record<string, string | boolean> {
  const d = versionData(prices);
  return {
    monthlyFee: formatPrice(d.monthlyFee),
    suspendedFee: formatPrice(d.suspendedFee),
    prorate: d.prorate,
    includedBytes: d.includedBytes.toString(),
    dataAllowance: d.dataAllowance,
    overagePerMb: formatPrice(d.overagePerMb),
    smsMoPrice: formatPrice(d.smsMoPrice),
    smsMtPrice: formatPrice(d.smsMtPrice),
    activationFee: formatPrice(d.activationFee),
  };
}

/** Who created a price version, as `created_by` records it: the principal's kind and id. */
export function principalLabel(actor: Actor): string | null {
  const p = actor.principal;
  return p ? `${p.kind}:${principalId(p)}` : null;
}

/** A rate plan the actor may read, or 404 (the plan routes and the version routes share it). */
export async function findVisibleRatePlan(prisma: Db, actor: Actor, id: string): Promise<RatePlan> {
  authorize(actor, "read", "RatePlan");
  const plan = await prisma.ratePlan.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("RatePlan"), { id }] } });
  if (!plan) throw new NotFoundError("Rate plan");
  return plan;
}
