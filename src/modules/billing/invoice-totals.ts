import { decimal, vatMinor } from "./money.js";

/** One entry of `invoices.vat_breakdown` as stored: amounts are minor-unit integers written as strings. */
export interface VatBreakdownRow {
  rate: string;
  netMinor: string;
  vatMinor: string;
}

export interface InvoiceTotals {
  netMinor: bigint;
  vatMinor: bigint;
  totalMinor: bigint;
  breakdown: VatBreakdownRow[];
}

/** "19" / "19.0" / a Prisma Decimal -> "19.00": the one spelling rates are grouped and stored under. */
export const rateKey = (rate: string | { toString(): string }): string => decimal(rate).toFixed(2);

/**
 * An invoice's totals from its lines: net = sum of the line nets; VAT computed once per rate on that rate's net
 * (never per line, so a thousand lines do not add a thousand roundings); total = net + VAT. Works for credit
 * notes too: half-up rounding is symmetric, so crediting a whole invoice yields exactly its negated VAT.
 * `vatOverride` fixes a rate's VAT (a credit note taking what is left of an invoice's VAT at that rate).
 */
export function invoiceTotals(
  lines: ReadonlyArray<{ netMinor: bigint; vatRate: string | { toString(): string } }>,
  vatOverride: ReadonlyMap<string, bigint> = new Map(),
): InvoiceTotals {
  const byRate = new Map<string, bigint>();
  for (const l of lines) {
    const key = rateKey(l.vatRate);
    byRate.set(key, (byRate.get(key) ?? 0n) + l.netMinor);
  }
  let netMinor = 0n;
  let vatTotal = 0n;
  const breakdown: VatBreakdownRow[] = [];
  for (const [rate, net] of [...byRate].sort(([a], [b]) => Number(b) - Number(a))) {
    const vat = vatOverride.get(rate) ?? vatMinor(net, rate);
    netMinor += net;
    vatTotal += vat;
    breakdown.push({ rate, netMinor: net.toString(), vatMinor: vat.toString() });
  }
  return { netMinor, vatMinor: vatTotal, totalMinor: netMinor + vatTotal, breakdown };
}

/** The stored breakdown JSON read back (numbers or strings) as bigints per rate. */
export function readBreakdown(json: unknown): Map<string, { netMinor: bigint; vatMinor: bigint }> {
  const out = new Map<string, { netMinor: bigint; vatMinor: bigint }>();
  for (const b of (json ?? []) as Array<{ rate: string; netMinor: string | number; vatMinor: string | number }>) {
    const key = rateKey(b.rate);
    const prev = out.get(key) ?? { netMinor: 0n, vatMinor: 0n };
    out.set(key, { netMinor: prev.netMinor + BigInt(b.netMinor), vatMinor: prev.vatMinor + BigInt(b.vatMinor) });
  }
  return out;
}
