import { createHmac } from "node:crypto";
import { SECRET_PREFIX } from "./webhook-secret.js";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256, keyed with the base64-decoded part
 * of the secret after `whsec_`, over `<webhook-id>.<webhook-timestamp>.<body>`, sent as `v1,<base64>`. Several
 * signatures are space-separated (a rotation's overlap): a receiver accepts the message if any one verifies.
 */
export function signatureFor(secret: string, messageId: string, timestamp: number, body: Buffer): string {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error("a webhook secret starts with whsec_");
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
  const mac = createHmac("sha256", key).update(`${messageId}.${timestamp}.`).update(body).digest("base64");
  return `v1,${mac}`;
}

/** The `webhook-signature` header value for these secrets. */
export const signatureHeader = (secrets: string[], messageId: string, timestamp: number, body: Buffer): string =>
  secrets.map((s) => signatureFor(s, messageId, timestamp, body)).join(" ");
