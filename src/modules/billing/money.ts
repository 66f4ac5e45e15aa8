import { Decimal } from "decimal.js";

/**
 * Exact money. Prices are decimals with up to 6 places (NUMERIC(18,6) in the database, strings in the API);
 * amounts on invoices and payments are integers in the currency's minor unit (bigint). Arithmetic is decimal.js
 * with enough precision never to round before we say so; rounding is half-up (commercial rounding), once per
 * invoice line and once per VAT rate.
 */
export const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -30, toExpPos: 40 });
export type Money = Decimal;

/** ISO 4217 minor-unit exponents that are not 2. */
const EXPONENTS: Record<string, number> = {
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
};

/** Digits after the decimal point in the currency's minor unit (EUR 2, JPY 0, KWD 3). */
export const currencyExponent = (currency: string): number => EXPONENTS[currency] ?? 2;

/** A price or quantity from the API or the database ("0.0125", a NUMERIC string, a Prisma Decimal). */
export function decimal(value: string | number | bigint | { toString(): string }): Money {
  return new Money(typeof value === "bigint" ? value.toString() : typeof value === "number" ? value : value.toString());
}

/** Rounds an exact amount to the currency's minor unit, half-up: 12.345 EUR -> 1235n. */
export function toMinor(amount: Money, currency: string): bigint {
  const scaled = amount.mul(new Money(10).pow(currencyExponent(currency))).toDecimalPlaces(0, Money.ROUND_HALF_UP);
  return BigInt(scaled.toFixed(0));
}

/** Minor units as a decimal string with the currency's places: 1235n EUR -> "12.35", -5n -> "-0.05". */
export function formatMinor(minor: bigint, currency: string): string {
  const exp = currencyExponent(currency);
  return new Money(minor.toString()).div(new Money(10).pow(exp)).toFixed(exp);
}

/** A decimal amount string in the currency's places ("12.35") to minor units; null when it has more places. */
export function parseMinor(text: string, currency: string): bigint | null {
  const exp = currencyExponent(currency);
  if (!/^-?\d{1,15}(\.\d+)?$/.test(text)) return null;
  const d = new Money(text);
  if (d.decimalPlaces() > exp) return null;
  return BigInt(d.mul(new Money(10).pow(exp)).toFixed(0));
}

/** A price for the API: the stored decimal without trailing zeros beyond 2 places ("0.0125", "5.00"). */
export function formatPrice(value: Money | { toString(): string }): string {
  const d = value instanceof Money ? value : new Money(value.toString());
  return d.decimalPlaces() <= 2 ? d.toFixed(2) : d.toFixed();
}

/** VAT on a net amount at a percentage rate ("19.00"), rounded to the minor unit: computed once per rate. */
export function vatMinor(netMinor: bigint, ratePercent: string): bigint {
  return BigInt(new Money(netMinor.toString()).mul(new Money(ratePercent)).div(100).toDecimalPlaces(0, Money.ROUND_HALF_UP).toFixed(0));
}
