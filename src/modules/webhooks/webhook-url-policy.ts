import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { AppError } from "../../platform/errors.js";

/**
 * Where webhooks may go (SSRF defence, OWASP SSRF cheat sheet): http(s) only, no credentials in the URL, and a
 * host whose every address is public unicast. The same checks run when an endpoint is saved and again before
 * each delivery, on the addresses the connection then uses (a name may be re-pointed at 127.0.0.1 later:
 * DNS rebinding). WEBHOOK_ALLOW_PRIVATE_URLS=true lifts the address and scheme checks, for development.
 */
export class WebhookUrlRefused extends AppError {
  constructor(readonly reason: string) {
    super(422, "webhook_url_not_allowed", "Unprocessable request", `The webhook URL is not allowed: ${reason}.`, { reason });
  }
}

/** Names the range an address falls in, as ipaddr.js classifies it, in words an API client understands. */
const RANGE_WORDS: Record<string, string> = {
  unspecified: "an unspecified address (0.0.0.0/8 or ::)",
  broadcast: "the broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address (169.254.0.0/16 incl. cloud metadata, fe80::/10)",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT address (100.64.0.0/10)",
  private: "a private address (RFC 1918)",
  reserved: "a reserved or documentation address",
  uniqueLocal: "a unique-local address (fc00::/7)",
  ipv4Mapped: "an IPv4-mapped address",
  rfc6145: "an IPv4-translated address (RFC 6145)",
  rfc6052: "a NAT64 address (RFC 6052)",
  "6to4": "a 6to4 address",
  teredo: "a Teredo address",
  benchmarking: "a benchmarking address",
  deprecatedSiteLocal: "a site-local address (fec0::/10)",
};

/** Only 2000::/3 is allocated as global unicast; anything else in IPv6 (e.g. ::a.b.c.d, 100::/64) is refused. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3");

/**
 * Why `address` may not receive webhooks, or null when it is a public unicast address. An allow-list: every
 * range ipaddr.js knows as special is refused, IPv4-mapped IPv6 is judged as the IPv4 address it carries.
 */
export function forbiddenAddressReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  // process() turns ::ffff:a.b.c.d (in any spelling) into a.b.c.d, so mapped forms get the IPv4 verdict.
  const ip = ipaddr.process(address);
  const range: string = ip.range();
  if (range !== "unicast") return `${address} is ${RANGE_WORDS[range] ?? `in the special-purpose range "${range}"`}`;
  if (ip.kind() === "ipv6" && !ip.match(GLOBAL_UNICAST_V6)) return `${address} is outside global unicast IPv6 (2000::/3)`;
  return null;
}

/** The URL's own rules, without DNS: scheme, credentials. Returns the parsed URL. */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefused("it is not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new WebhookUrlRefused(`the scheme ${url.protocol.slice(0, -1)} is not http or https`);
  if (url.protocol === "http:" && !allowPrivate) throw new WebhookUrlRefused("it must use https");
  if (url.username || url.password) throw new WebhookUrlRefused("it contains credentials (user:password@)");
  if (!url.hostname) throw new WebhookUrlRefused("it has no host");
  return url;
}

/** The URL's host without IPv6 brackets, as it is resolved and connected to. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, "$1");

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

const DNS_TIMEOUT_MS = 5000;

/** Every address the host resolves to (a literal IP is itself), each checked unless `allowPrivate`. */
export async function resolveAllowedAddresses(host: string, allowPrivate: boolean): Promise<ResolvedAddress[]> {
  const literal = isIP(host);
  const addresses: ResolvedAddress[] = literal ? [{ address: host, family: literal as 4 | 6 }] : await resolveHost(host);
  if (addresses.length === 0) throw new WebhookUrlRefused(`the host ${host} does not resolve`);
  if (allowPrivate) return addresses;
  for (const { address } of addresses) {
    const reason = forbiddenAddressReason(address);
    if (reason) throw new WebhookUrlRefused(literal ? reason : `the host ${host} resolves to ${reason}`);
  }
  return addresses;
}

async function resolveHost(host: string): Promise<ResolvedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WebhookUrlRefused(`resolving the host ${host} took longer than ${DNS_TIMEOUT_MS / 1000} s`)), DNS_TIMEOUT_MS);
  });
  try {
    const found = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
    return found.map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
  } catch (err) {
    if (err instanceof WebhookUrlRefused) throw err;
    throw new WebhookUrlRefused(`the host ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? "lookup failed"})`);
  } finally {
    clearTimeout(timer);
  }
}

/** The whole check made when an endpoint is created or its URL changed. */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  const url = parseWebhookUrl(raw, allowPrivate);
  // In development (allowPrivate) an endpoint may name a host that resolves only later (a container not up yet).
  if (!allowPrivate) await resolveAllowedAddresses(hostOf(url), false);
  return url;
}
