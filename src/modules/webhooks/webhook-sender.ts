import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { performance } from "node:perf_hooks";
import { WebhookUrlRefused, hostOf, parseWebhookUrl, resolveAllowedAddresses, type ResolvedAddress } from "./webhook-url-policy.js";

export interface SendRequest {
  url: string;
  body: Buffer;
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
}

export interface SendResult {
  /** The receiver's HTTP status, or null when no answer came (refused address, DNS, connection, timeout). */
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** The first characters of the receiver's answer, for the delivery log. */
  excerpt: string | null;
}

const EXCERPT_CHARS = 1000;
/** Read at most this much of an answer: enough for the excerpt, and a hostile receiver cannot make us buffer more. */
const READ_LIMIT_BYTES = 4 * EXCERPT_CHARS;
const ERROR_CHARS = 500;

/**
 * One POST to a receiver. The host is resolved and every address checked here, then the connection goes to the
 * checked address (a `lookup` that answers it), so a name re-pointed between the check and the connect cannot
 * reach an internal address; TLS still verifies the certificate for the host name. Redirects are not followed
 * (a 3xx is a failure), and the whole exchange is bounded by `timeoutMs`. Never throws: failures are results.
 */
export async function sendWebhook(req: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let url: URL;
  let target: ResolvedAddress;
  try {
    url = parseWebhookUrl(req.url, req.allowPrivate);
    [target] = (await resolveAllowedAddresses(hostOf(url), req.allowPrivate)) as [ResolvedAddress];
  } catch (err) {
    const reason = err instanceof WebhookUrlRefused ? err.reason : (err as Error).message;
    return { statusCode: null, durationMs: elapsed(), error: clip(`not sent: the URL is not allowed: ${reason}`, ERROR_CHARS), excerpt: null };
  }
  try {
    const { statusCode, excerpt } = await post(url, target, req);
    return { statusCode, durationMs: elapsed(), error: statusCode >= 200 && statusCode < 300 ? null : `HTTP ${statusCode}`, excerpt };
  } catch (err) {
    return { statusCode: null, durationMs: elapsed(), error: clip(describe(err as NodeJS.ErrnoException), ERROR_CHARS), excerpt: null };
  }
}

/** A lookup that answers the already-checked address, whatever the name now resolves to. */
const pinnedLookup = (target: ResolvedAddress): LookupFunction => (_host, options, callback) => {
  if (options.all) callback(null, [{ address: target.address, family: target.family }]);
  else callback(null, target.address, target.family);
};

function post(url: URL, target: ResolvedAddress, req: SendRequest): Promise<{ statusCode: number; excerpt: string }> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === "https:" ? https : http;
    const request = transport.request(url, {
      method: "POST",
      headers: { ...req.headers, "content-length": String(req.body.length) },
      lookup: pinnedLookup(target),
      // A fresh connection each time: a pooled socket could still point at an address checked for another send.
      agent: false,
    });
    const timer = setTimeout(() => request.destroy(Object.assign(new Error(`no complete answer within ${req.timeoutMs} ms`), { code: "ETIMEDOUT" })), req.timeoutMs);
    request.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    request.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        clearTimeout(timer);
        resolve({ statusCode: res.statusCode ?? 0, excerpt: excerptOf(Buffer.concat(chunks)) });
      };
      res.on("data", (chunk: Buffer) => {
        if (size >= READ_LIMIT_BYTES) return;
        chunks.push(chunk);
        size += chunk.length;
        // Enough for the excerpt: stop reading (the status is what counts).
        if (size >= READ_LIMIT_BYTES) {
          finish();
          res.destroy();
        }
      });
      res.on("end", finish);
      res.on("error", (err) => (size >= READ_LIMIT_BYTES ? undefined : reject(err)));
    });
    request.end(req.body);
  });
}

/** Text for the log: PostgreSQL text holds no NUL, and the column holds 1000 characters. */
function excerptOf(bytes: Buffer): string {
  return clip(bytes.toString("utf8").replaceAll("\u0000", ""), EXCERPT_CHARS);
}

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

function describe(err: NodeJS.ErrnoException): string {
  if (err.code === "ETIMEDOUT") return `timeout: ${err.message}`;
  return err.code ? `${err.code}: ${err.message}` : err.message;
}
