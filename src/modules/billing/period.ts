/**
 * Billing periods are calendar months in UTC: [first day 00:00:00.000, first day of the next month 00:00).
 * A usage record started at 23:59:59.999 on the last day belongs to that month; one at 00:00:00.000 of the next
 * day to the next. In the API a period is "YYYY-MM".
 */
export interface BillingPeriod {
  /** "2026-11" */
  key: string;
  /** 2026-11-01T00:00:00.000Z */
  start: Date;
  /** 2026-12-01T00:00:00.000Z (exclusive) */
  end: Date;
  /** Days in the month (28-31): the denominator of proration. */
  days: number;
}

export const PERIOD_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$";

export function periodOf(year: number, month1: number): BillingPeriod {
  const start = new Date(Date.UTC(year, month1 - 1, 1));
  const end = new Date(Date.UTC(year, month1, 1));
  return { key: `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, "0")}`, start, end, days: Math.round((end.getTime() - start.getTime()) / 86_400_000) };
}

/** "2026-11" -> the period; null when malformed. */
export function parsePeriod(key: string): BillingPeriod | null {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(key);
  return m ? periodOf(Number(m[1]), Number(m[2])) : null;
}

/** The period containing an instant (UTC). */
export const periodContaining = (at: Date): BillingPeriod => periodOf(at.getUTCFullYear(), at.getUTCMonth() + 1);

/** The period whose first day is this date (a DATE column read back as midnight UTC). */
export const periodStartingOn = (start: Date): BillingPeriod => periodContaining(start);

/** The period before / after. */
export const previousPeriod = (p: BillingPeriod): BillingPeriod => periodContaining(new Date(p.start.getTime() - 86_400_000));
export const nextPeriod = (p: BillingPeriod): BillingPeriod => periodContaining(p.end);

/** "2026-11-01": a DATE parameter for SQL. */
export const isoDate = (d: Date): string => d.toISOString().slice(0, 10);
