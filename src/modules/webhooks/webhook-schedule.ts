/**
 * The retry schedule of Standard Webhooks / Svix: after the first attempt fails, retries 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h and 10 h later, about 27.5 hours in all ("about a day"). Eight automatic attempts; when the
 * last fails the delivery is failed (a person can still redeliver it).
 */
export const RETRY_DELAYS_MS = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 5 * 3600_000, 10 * 3600_000, 10 * 3600_000] as const;
export const MAX_AUTOMATIC_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
/** ±10%: receivers that fail together (an outage) are not all retried in the same second. */
export const JITTER = 0.1;

/**
 * When the next automatic attempt is due after `automaticAttempts` of them failed, or null when none is left.
 * `random` is injectable for the tests of the bounds.
 */
export function nextAttemptAt(automaticAttempts: number, now: Date, random: () => number = Math.random): Date | null {
  const base = RETRY_DELAYS_MS[automaticAttempts - 1];
  if (base === undefined) return null;
  const factor = 1 + JITTER * (2 * random() - 1);
  return new Date(now.getTime() + Math.round(base * factor));
}
