// Helpers for the identity tests: a client that keeps every cookie like a browser (the shared Client keeps only
// the session cookie), TOTP codes from OATH Toolkit's `oathtool` (an implementation independent of ours), and
// the invitation token as a person would read it from the mail in the outbox.
import { execFileSync } from "node:child_process";
import type { Test } from "tap";
import { build, type TestApp } from "../helpers/build.js";
import { Client, type Reply } from "../helpers/client.js";

/** The identity tests sign in far more often than a person; the per-IP limit of the auth routes is not under test here. */
export const buildForIdentity = (t: Test, env: Record<string, string> = {}): Promise<TestApp> =>
  build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "100000", ...env });

export interface SetCookie {
  name: string;
  value: string;
  attributes: string;
}

export function setCookies(res: Reply): SetCookie[] {
  return [res.headers["set-cookie"] ?? []].flat().map((raw) => {
    const [pair = "", ...rest] = String(raw).split(";");
    const eq = pair.indexOf("=");
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes: rest.join(";") };
  });
}

/** Keeps every cookie it is given (a cleared one is dropped) and the CSRF token of the latest sign-in. */
export class Browser extends Client {
  jar = new Map<string, string>();

  override async request<T = any>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, opts: { body?: unknown; headers?: Record<string, string>; rawBody?: string } = {}): Promise<Reply<T>> {
    this.cookie = this.jar.size ? [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ") : undefined;
    const res = await super.request<T>(method, url, opts);
    for (const c of setCookies(res)) {
      if (c.value === "" || /Max-Age=0\b/i.test(c.attributes)) this.jar.delete(c.name);
      else this.jar.set(c.name, c.value);
    }
    const body = res.json as { status?: string; csrfToken?: string } | undefined;
    if (res.status === 200 && body?.status === "authenticated" && body.csrfToken) this.csrfToken = body.csrfToken;
    return res;
  }

  delete<T = any>(url: string, headers?: Record<string, string>) {
    return this.request<T>("DELETE", url, { headers });
  }

  signIn(email: string, password: string, tenant?: string) {
    return this.post("/v1/auth/login", { email, password, ...(tenant ? { tenant } : {}) });
  }

  /** A copy of this browser's cookies and CSRF token: what a thief who copied them would hold. */
  clone(): Browser {
    const copy = new Browser(this.app);
    copy.jar = new Map(this.jar);
    copy.csrfToken = this.csrfToken;
    return copy;
  }
}

export const browser = (app: TestApp): Browser => new Browser(app.app);

/** The TOTP code for a base32 secret at `at` (default now), from oathtool. */
export function totp(secret: string, at: Date = new Date()): string {
  return execFileSync("oathtool", ["--totp", "-b", "--now", at.toISOString(), secret], { encoding: "utf8" }).trim();
}

/** Waits until at least 3 s remain in the current 30-second step, so a code cannot go stale mid-request. */
export async function awayFromStepEnd(): Promise<void> {
  const into = Date.now() % 30_000;
  if (into > 27_000) await new Promise((r) => setTimeout(r, 30_000 - into + 100));
}

/** The newest mail to `to` in the outbox, read by a platform owner, and the token of its invitation link. */
export async function invitationTokenFor(staff: Client, to: string): Promise<{ token: string; text: string }> {
  const res = await staff.get(`/v1/platform/outbox?to=${encodeURIComponent(to)}&limit=1`);
  if (res.status !== 200 || !res.json.items.length) throw new Error(`no mail to ${to}: ${res.status} ${res.body}`);
  const text = res.json.items[0].text as string;
  const match = /\/invitations\/accept#token=([A-Za-z0-9_-]{43})/.exec(text);
  if (!match?.[1]) throw new Error(`no invitation link in: ${text}`);
  return { token: match[1], text };
}
