import { randomUUID } from "node:crypto";
import type { NetworkChange, NetworkConnector, NetworkResult } from "./network-connector.js";
import { parseChangesAnswer, type ChangeResult } from "./network-http-answer.js";

/**
 * The operator's provisioning API over HTTP (docs/connectors.md, "Network: operator provisioning API"):
 * `POST {url}/v1/subscribers/changes` with a bearer token and up to `maxBatch` changes; the answer holds one
 * result per ICCID, matched by ICCID (the operator may answer in any order).
 *
 * Failure model, for the lifecycle job that calls `apply`:
 * - thrown (the job retries the chunk; changes are idempotent on the operator's side): no answer in time
 *   (10 s), a connection failure, 408, 429, 5xx, a 2xx whose body is not the documented JSON, or one that
 *   lacks a result for a change we sent;
 * - every change failed with reason `network_error`: any other 4xx. The operator read the request and refused
 *   all of it (bad token, malformed request, unknown endpoint); repeating it would be refused the same way,
 *   so the SIMs are reported failed, with the status, rather than retried until the job gives up.
 * - per-SIM: `rejected` results become failed results with the operator's reason code.
 */
export interface NetworkHttpOptions {
  /** NETWORK_CONNECTOR_URL, without a trailing slash. */
  url: string;
  /** NETWORK_CONNECTOR_TOKEN; sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  timeoutMs?: number;
  maxBatch?: number;
  /** Where the operator's own words about a refused request go (they stay out of customer-visible reasons). */
  log?: (msg: string) => void;
}

export const NETWORK_HTTP_TIMEOUT_MS = 10_000;
export const NETWORK_HTTP_MAX_BATCH = 500;
/** Enough of an error body to tell what the operator said, not enough to flood the per-SIM reasons. */
const DETAIL_MAX = 300;

export function createNetworkHttp(opts: NetworkHttpOptions): NetworkConnector {
  const endpoint = `${opts.url.replace(/\/+$/, "")}/v1/subscribers/changes`;
  // For messages: a URL must never bring credentials into a log line.
  const shown = endpoint.replace(/\/\/[^/@]*@/, "//");
  const timeoutMs = opts.timeoutMs ?? NETWORK_HTTP_TIMEOUT_MS;
  const maxBatch = opts.maxBatch ?? NETWORK_HTTP_MAX_BATCH;

  async function post(changes: NetworkChange[]): Promise<{ status: number; text: string }> {
    const requestId = randomUUID();
    const body = JSON.stringify({ requestId, changes: changes.map(({ iccid, imsi, msisdn, action }) => ({ iccid, imsi, msisdn, action })) });
    try {
      const res = await fetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        body,
        redirect: "error",
        // Covers the whole exchange, body included: a server that trickles its answer is cut off too.
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      const why = timedOut ? `no answer within ${timeoutMs} ms` : `request failed (${describe(err)})`;
      throw new Error(`network connector: ${why}: POST ${shown} (request ${requestId})`, { cause: err });
    }
  }

  return {
    kind: "http",
    maxBatch,
    async apply(changes) {
      if (changes.length === 0) return [];
      if (changes.length > maxBatch) throw new Error(`network connector: ${changes.length} changes exceed the batch limit of ${maxBatch}`);
      const { status, text } = await post(changes);

      if (status === 408 || status === 429 || status >= 500) {
        throw new Error(`network connector: HTTP ${status} from POST ${shown}, retrying: ${snippet(text)}`);
      }
      if (status >= 400) {
        opts.log?.(`network connector: HTTP ${status} from POST ${shown}, ${changes.length} changes failed: ${snippet(text)}`);
        const detail = `The operator's provisioning API refused the request (HTTP ${status}).`;
        return changes.map((c): NetworkResult => ({ iccid: c.iccid, ok: false, reason: "network_error", detail }));
      }
      if (status < 200 || status > 299) throw new Error(`network connector: unexpected HTTP ${status} from POST ${shown}`);

      const byIccid = new Map<string, ChangeResult>();
      for (const result of parseChangesAnswer(text)) byIccid.set(result.iccid, result);
      return changes.map((c): NetworkResult => {
        const result = byIccid.get(c.iccid);
        // A missing result is not a refusal: we do not know what happened to that SIM, so the chunk is retried.
        if (!result) throw new Error(`network connector: the answer has no result for ICCID ${c.iccid}`);
        if (result.status === "done") return { iccid: c.iccid, ok: true };
        return { iccid: c.iccid, ok: false, reason: result.reason, ...(result.message ? { detail: result.message } : {}) };
      });
    },
  };
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat ? (flat.length > DETAIL_MAX ? `${flat.slice(0, DETAIL_MAX)}…` : flat) : "(empty body)";
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? err.message;
}
