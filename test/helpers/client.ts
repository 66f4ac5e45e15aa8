import type { FastifyInstance } from "fastify";
import { checkResponse } from "./contract.js";

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

  /** Signs in; keeps the session cookie and CSRF token for later requests. */
  async login(email: string, password: string, tenant?: string): Promise<Reply> {
    const res = await this.post("/v1/auth/login", { email, password, ...(tenant ? { tenant } : {}) });
    if (res.status === 200) {
      const setCookie = [res.headers["set-cookie"]].flat().find((c) => typeof c === "string" && c.startsWith("conekt_session="));
      this.cookie = (setCookie as string).split(";")[0];
      this.csrfToken = res.json.csrfToken;
    }
    return res;
  }
}
