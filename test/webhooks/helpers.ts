import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { Test } from "tap";
import type { Role } from "../../src/generated/prisma/enums.js";
import type { TestApp } from "../helpers/build.js";
import type { Client } from "../helpers/client.js";
import { createTenant, createUser } from "../helpers/factories.js";

export interface Received {
  headers: IncomingHttpHeaders;
  /** The raw body bytes as they arrived (what the signature covers). */
  body: Buffer;
  at: number;
}

/**
 * A webhook receiver on 127.0.0.1: records every request; `answers` are the statuses to reply with in turn
 * (the last one repeats), each with a short text body.
 */
export async function startReceiver(t: Test, answers: number[] = [200]) {
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = answers[Math.min(received.length, answers.length - 1)]!;
      received.push({ headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "thanks" : `receiver says no (${status})`);
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    /** Resolves once `n` requests arrived; rejects after `timeoutMs`. */
    async waitFor(n: number, timeoutMs = 15_000): Promise<Received[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`receiver got ${received.length} of ${n} requests within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100).unref();
        });
      }
      return received;
    },
  };
}

/**
 * An independent Standard Webhooks verifier, written from the specification (not from our signer): the key is
 * the base64 after `whsec_`, the signed content `id.timestamp.body`, the header a space-separated list of
 * `v1,<base64>`; the timestamp must be within five minutes. Returns whether any signature matches.
 */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: Buffer, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body])).digest();
  return signatures.split(" ").some((sig) => {
    const [version, value] = sig.split(",");
    if (version !== "v1" || !value) return false;
    const given = Buffer.from(value, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** A tenant with a signed-in member of `role`. */
export async function signedIn(ctx: TestApp, role: Role = "admin", tenantId?: string): Promise<{ client: Client; tenantId: string }> {
  const tenant = tenantId ?? (await createTenant(ctx.prisma)).id;
  const user = await createUser(ctx.prisma, { tenantId: tenant, role });
  const client = ctx.client();
  const res = await client.login(user.email, user.password);
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return { client, tenantId: tenant };
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
