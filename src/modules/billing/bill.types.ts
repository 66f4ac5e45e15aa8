import type { BillingPeriod } from "./period.js";

/**
 * The contract between the billing computation (charges: what a tenant owes for a period, from usage_daily, the
 * SIMs' state history and plan assignments) and issuing (invoices: drafts, VAT, numbers). The computation writes
 * nothing; issuing stores what it returns inside the transaction that holds the tenant's billing lock.
 */

export type LineKind =
  | "monthly_fee"
  | "suspended_fee"
  | "activation_fee"
  | "data_overage"
  | "sms_mo"
  | "sms_mt"
  | "late_usage"
  | "credit";

/** One invoice line before VAT: net = quantity x unitPrice, rounded half-up once to the currency's minor unit. */
export interface BillLine {
  kind: LineKind;
  /** e.g. "Monthly fee, IOT-1GB-EU (1 GB Europe), 812 SIMs", "Late usage for 2026-10: data beyond the allowance" */
  description: string;
  ratePlanId: string | null;
  ratePlanVersion: number | null;
  /** Exact decimal string, up to 6 places. */
  quantity: string;
  /** "SIM-month" | "SIM" | "MB" | "SMS" | "item" */
  unit: string;
  /** Exact decimal string, up to 6 places. */
  unitPrice: string;
  netMinor: bigint;
  /** "YYYY-MM-DD" (first day) of the earlier period a late-usage line adjusts; null otherwise. */
  adjustsPeriod: string | null;
}

/** One SIM's charges under one plan for one period's usage (the invoice CSV; the record of what was billed). */
export interface SimCharge {
  simId: string;
  iccid: string;
  ratePlanId: string;
  /** "YYYY-MM-DD": the invoice's period, or an earlier one for late usage. */
  usagePeriod: string;
  billableDays: number;
  suspendedDays: number;
  activated: boolean;
  bytes: bigint;
  includedBytes: bigint;
  overageBytes: bigint;
  smsMo: number;
  smsMt: number;
  /** Exact decimal strings (unrounded shares; the lines round their sums once). */
  feeAmount: string;
  activationAmount: string;
  overageAmount: string;
  smsAmount: string;
}

/** What one tenant owes in one currency for one period (one invoice). */
export interface CurrencyBill {
  currency: string;
  lines: BillLine[];
  simCharges: SimCharge[];
}

export interface TenantBill {
  tenantId: string;
  period: BillingPeriod;
  /** One per currency of the plans involved; empty when there is nothing to bill. */
  bills: CurrencyBill[];
}
