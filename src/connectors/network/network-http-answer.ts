/**
 * The operator's answer to `POST /v1/subscribers/changes` (docs/connectors.md):
 * `{ "results": [ { "iccid": "...", "status": "done" | "rejected", "reason"?: "...", "message"?: "..." } ] }`.
 * Anything else is malformed and thrown: we cannot tell what happened on the network, so the chunk is retried.
 */
export type ChangeResult = { iccid: string; status: "done" } | { iccid: string; status: "rejected"; reason: string; message?: string };

/** Reasons become stable per-SIM codes shown to customers: snake_case or the generic one. */
const REASON = /^[a-z][a-z0-9_]{0,63}$/;
const DEFAULT_REASON = "network_rejected";
const MESSAGE_MAX = 500;

export function parseChangesAnswer(text: string): ChangeResult[] {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw malformed("the body is not JSON");
  }
  const results = isObject(answer) ? answer.results : undefined;
  if (!Array.isArray(results)) throw malformed("`results` is not an array");
  return results.map((r: unknown, i): ChangeResult => {
    if (!isObject(r) || typeof r.iccid !== "string" || r.iccid.length === 0 || r.iccid.length > 32) throw malformed(`results[${i}].iccid is missing or invalid`);
    if (r.status === "done") return { iccid: r.iccid, status: "done" };
    if (r.status !== "rejected") throw malformed(`results[${i}].status is neither "done" nor "rejected"`);
    if (r.reason !== undefined && typeof r.reason !== "string") throw malformed(`results[${i}].reason is not a string`);
    if (r.message !== undefined && typeof r.message !== "string") throw malformed(`results[${i}].message is not a string`);
    // An operator reason that is not a code (free text) is kept as the message rather than shown as a code.
    const coded = typeof r.reason === "string" && REASON.test(r.reason);
    const message = [coded ? undefined : r.reason, r.message].filter((m): m is string => !!m).join(": ");
    return { iccid: r.iccid, status: "rejected", reason: coded ? (r.reason as string) : DEFAULT_REASON, ...(message ? { message: message.slice(0, MESSAGE_MAX) } : {}) };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function malformed(why: string): Error {
  return new Error(`network connector: malformed answer (${why})`);
}
