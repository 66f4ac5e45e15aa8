import type { Db } from "../../platform/db/database.js";

/**
 * Gapless invoice numbers. A series is `<prefix>-<issue year>` ("INV-2026", "CN-2026"); a number is the series
 * and six digits ("INV-2026-000042"). The number is taken inside the transaction that issues the document:
 * the upsert below locks the series row until that transaction ends, so issuers queue on it one by one, and a
 * transaction that rolls back gives its number back with it (the row's increment is rolled back too). Hence no
 * gaps and no duplicates, across any number of processes. Take the number as late as possible in the
 * transaction: everything after it runs while every other issuer waits.
 */

export const seriesCode = (prefix: string, issueDate: Date): string => `${prefix}-${issueDate.getUTCFullYear()}`;

export const formatNumber = (series: string, n: number): string => `${series}-${String(n).padStart(6, "0")}`;

export interface AssignedNumber {
  series: string;
  number: string;
  /** The sequence value (1, 2, ...) within the series. */
  sequence: number;
}

export async function takeNextNumber(tx: Db, series: string): Promise<AssignedNumber> {
  const [row] = await tx.$queryRaw<Array<{ n: number }>>`
    INSERT INTO enterprise.invoice_series (code, next_number, updated_at) VALUES (${series}, 2, now())
    ON CONFLICT (code) DO UPDATE SET next_number = invoice_series.next_number + 1, updated_at = now()
    RETURNING next_number - 1 AS n`;
  if (!row) throw new Error(`invoice series ${series}: no number returned`);
  const sequence = Number(row.n);
  return { series, number: formatNumber(series, sequence), sequence };
}
