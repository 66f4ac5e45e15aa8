import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { Es2PlusError, type ConfirmOrderResult, type Es2PlusConnector, type Es2PlusFunction } from "./es2plus-connector.js";

/**
 * ES2+ over HTTPS as SGP.22 binds it (section 6): `POST {base}/gsma/rsp2/es2plus/<function>` with header
 * `X-Admin-Protocol: gsma/rsp/v2.2.0`, a JSON body `{ header: { functionRequesterIdentifier,
 * functionCallIdentifier }, ...the function's fields }`, and a JSON answer whose
 * `header.functionExecutionStatus.status` tells success ("Executed-Success", or "Executed-WithWarning", which
 * SGP.22 also counts as executed) from failure ("Failed", "Expired", with `statusCodeData` holding the SGP.22
 * subject and reason codes). Mutual TLS: our client certificate and key, and the CA that signed the
 * SM-DP+'s certificate, from PEM files.
 */
export const ES2PLUS_PROTOCOL = "gsma/rsp/v2.2.0";
/** Per call; an order makes two or three calls, so a request waits at most a few times this. */
export const ES2PLUS_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 1_048_576;

export interface Es2PlusHttpOptions {
  /** e.g. https://smdp.example.com (the path /gsma/rsp2/es2plus/... is appended). */
  baseUrl: string;
  functionRequesterId: string;
  /** Used when ConfirmOrder's answer names no SM-DP+ address. */
  smdpAddress: string;
  tls?: { certFile?: string; keyFile?: string; caFile?: string };
  timeoutMs?: number;
}

interface StatusCodeData {
  subjectCode?: unknown;
  reasonCode?: unknown;
  subjectIdentifier?: unknown;
  message?: unknown;
}

interface Es2Response {
  header?: { functionExecutionStatus?: { status?: unknown; statusCodeData?: StatusCodeData } };
  [field: string]: unknown;
}

const SUCCESS = new Set(["Executed-Success", "Executed-WithWarning"]);

export function createEs2PlusHttpClient(opts: Es2PlusHttpOptions): Es2PlusConnector {
  const base = new URL(opts.baseUrl.replace(/\/+$/, "") + "/gsma/rsp2/es2plus/");
  const timeoutMs = opts.timeoutMs ?? ES2PLUS_TIMEOUT_MS;
  const tls = opts.tls ?? {};
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new Error("SMDP_TLS_CERT_FILE and SMDP_TLS_KEY_FILE must be set together (ES2+ mutual TLS).");
  // Read once at start: a missing or unreadable file stops the service at boot, not at the first order.
  const agent =
    base.protocol === "https:"
      ? new https.Agent({
          keepAlive: true,
          ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
          ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
          ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
        })
      : new http.Agent({ keepAlive: true });

  async function call(fn: Es2PlusFunction, fields: Record<string, unknown>): Promise<Es2Response> {
    const body = JSON.stringify({ header: { functionRequesterIdentifier: opts.functionRequesterId, functionCallIdentifier: randomUUID() }, ...fields });
    const { status, text } = await post(new URL(fn, base), body, agent, timeoutMs).catch((err: Error) => {
      throw new Es2PlusError("unavailable", fn, `The SM-DP+ did not answer ${fn}.`, undefined, { cause: err });
    });
    if (status >= 500) throw new Es2PlusError("unavailable", fn, `The SM-DP+ answered HTTP ${status} to ${fn}.`);
    if (status !== 200) throw new Es2PlusError("rejected", fn, `The SM-DP+ answered HTTP ${status} to ${fn}.`);
    let parsed: Es2Response;
    try {
      parsed = JSON.parse(text) as Es2Response;
    } catch {
      throw new Es2PlusError("rejected", fn, `The SM-DP+ answered ${fn} with something that is not JSON.`);
    }
    const execution = parsed?.header?.functionExecutionStatus;
    if (typeof execution?.status !== "string") throw new Es2PlusError("rejected", fn, `The SM-DP+ answer to ${fn} has no functionExecutionStatus.`);
    if (!SUCCESS.has(execution.status)) throw failure(fn, execution.status, execution.statusCodeData);
    return parsed;
  }

  return {
    kind: "http",

    async downloadOrder({ iccid, eid, profileType }) {
      const res = await call("downloadOrder", { eid, iccid, profileType });
      return { iccid: typeof res.iccid === "string" ? res.iccid : iccid };
    },

    async confirmOrder({ iccid, eid, matchingId, confirmationCode, smdsAddress, releaseFlag }): Promise<ConfirmOrderResult> {
      const res = await call("confirmOrder", { iccid, eid, matchingId, confirmationCode, smdsAddress, releaseFlag });
      const id = typeof res.matchingId === "string" ? res.matchingId : matchingId;
      // The activation code carries it, so it must fit the SGP.22 alphabet and our column.
      if (!id || !/^[0-9A-Z-]{1,64}$/.test(id)) throw new Es2PlusError("rejected", "confirmOrder", "The SM-DP+ answered ConfirmOrder without a usable matchingId.");
      const address = typeof res.smdpAddress === "string" && /^[A-Za-z0-9.-]{1,253}$/.test(res.smdpAddress) ? res.smdpAddress : opts.smdpAddress;
      return { matchingId: id, smdpAddress: address, ...(typeof res.eid === "string" ? { eid: res.eid } : eid ? { eid } : {}) };
    },

    async cancelOrder({ iccid, eid, matchingId, finalProfileStatusIndicator }) {
      await call("cancelOrder", { iccid, eid, matchingId, finalProfileStatusIndicator });
    },

    async releaseProfile({ iccid }) {
      await call("releaseProfile", { iccid });
    },
  };
}

/** An ES2+ failure status as an error naming the SGP.22 codes and the SM-DP+'s own words. */
function failure(fn: Es2PlusFunction, status: string, data: StatusCodeData | undefined): Es2PlusError {
  const subjectCode = typeof data?.subjectCode === "string" ? data.subjectCode.slice(0, 32) : undefined;
  const reasonCode = typeof data?.reasonCode === "string" ? data.reasonCode.slice(0, 32) : undefined;
  const message = typeof data?.message === "string" ? data.message.slice(0, 300) : undefined;
  const codes = subjectCode || reasonCode ? ` (subject ${subjectCode ?? "?"}, reason ${reasonCode ?? "?"})` : "";
  const text = `The SM-DP+ refused ${fn}: ${status}${codes}${message ? `: ${message}` : ""}`;
  return new Es2PlusError("rejected", fn, text, subjectCode && reasonCode ? { subjectCode, reasonCode } : undefined);
}

/** One POST with a deadline for the whole exchange and a cap on the answer's size. */
function post(url: URL, body: string, agent: http.Agent, timeoutMs: number): Promise<{ status: number; text: string }> {
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method: "POST",
        agent,
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          "content-type": "application/json;charset=UTF-8",
          accept: "application/json",
          "x-admin-protocol": ES2PLUS_PROTOCOL,
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error("the answer is larger than 1 MiB"));
          else chunks.push(chunk);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", (err: Error) => reject(err.name === "AbortError" || err.name === "TimeoutError" ? new Error(`no answer within ${timeoutMs} ms`) : err));
    req.end(body);
  });
}
