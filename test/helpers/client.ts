import type { FastifyInstance } from "fastify";
import { checkResponse } from "./contract.js";
import { oathCode } from "./totp.js";

export interface Reply<T = any> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json: T;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * A caller of the API through `inject` (no port): keeps the session cookie and CSRF token like a browser, and
 * checks every response against openapi.yaml, throwing on any contract violation.
 */
/** Every response body received by any client in this process, for leak checks (responses never hold secrets). */
export const responseLog: string[] = [];

export class Client {
  cookie?: string;
  csrfToken?: string;

  constructor(readonly app: FastifyInstance, readonly defaults: { headers?: Record<string, string> } = {}) {}

  async request<T = any>(method: Method, url: string, opts: { body?: unknown; headers?: Record<string, string>; rawBody?: string } = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...this.defaults.headers, ...opts.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrfToken && method !== "GET") headers["x-csrf-token"] ??= this.csrfToken;
    const res = await this.app.inject({
      method,
      url,
      headers,
      ...(opts.rawBody !== undefined ? { payload: opts.rawBody } : opts.body !== undefined ? { payload: opts.body as object } : {}),
    });
    responseLog.push(res.body);
    if (res.body.includes("scrypt$")) throw new Error(`a response contains a password hash: ${method} ${url}`);
    const violations = checkResponse(method, url, res.statusCode, res.headers["content-type"] as string | undefined, res.body);
    if (violations.length) throw new Error(`openapi.yaml contract violated:\n  ${violations.join("\n  ")}`);
    let json: any;
    try {
      json = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, body: res.body, json };
  }

  get<T = any>(url: string, headers?: Record<string, string>) {
    return this.request<T>("GET", url, { headers });
  }
  post<T = any>(url: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>("POST", url, { body, headers });
  }
  patch<T = any>(url: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>("PATCH", url, { body, headers });
  }

  /** The TOTP secret enrolled by `login(..., { enrolMfa: true })`. */
  totpSecret?: string;

  /**
   * Signs in; keeps the session cookie and CSRF token for later requests. Where the tenant requires MFA and the
   * account has none (platform staff always), `enrolMfa` enrols it as a person with an authenticator app would.
   */
  async login(email: string, password: string, tenant?: string, opts: { enrolMfa?: boolean } = {}): Promise<Reply> {
    let res = await this.post("/v1/auth/login", { email, password, ...(tenant ? { tenant } : {}) });
    if (opts.enrolMfa && res.status === 200 && res.json.status === "mfa_enrollment_required") {
      const mfaToken = res.json.mfaToken as string;
      const begun = await this.post("/v1/auth/mfa/enrol", { mfaToken });
      this.totpSecret = begun.json.secret as string;
      res = await this.post("/v1/auth/mfa/enrol/confirm", { mfaToken, code: oathCode(this.totpSecret) });
    }
    if (res.status === 200 && res.json.status === "authenticated") {
      const setCookie = [res.headers["set-cookie"]].flat().find((c) => typeof c === "string" && c.startsWith("conekt_session="));
      this.cookie = (setCookie as string).split(";")[0];
      this.csrfToken = res.json.csrfToken;
    }
    return res;
  }
}
