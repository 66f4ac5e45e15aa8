import t from "tap";
import { RETRY_DELAYS_MS, MAX_AUTOMATIC_ATTEMPTS, nextAttemptAt } from "../../src/modules/webhooks/webhook-schedule.js";
import { activeSecrets, newSecret, openSecrets, rotated, sealSecrets } from "../../src/modules/webhooks/webhook-secret.js";
import { signatureFor, signatureHeader } from "../../src/modules/webhooks/webhook-signature.js";
import { checkWebhookUrl, forbiddenAddressReason, WebhookUrlRefused } from "../../src/modules/webhooks/webhook-url-policy.js";
import { createKeyring } from "../../src/platform/crypto.js";
import { verifyStandardWebhook } from "./helpers.js";

t.test("addresses that may not receive webhooks are refused, naming the range", async (t) => {
  const refused: Array<[string, RegExp]> = [
    ["127.0.0.1", /loopback/],
    ["127.255.0.9", /loopback/],
    ["10.1.2.3", /private/],
    ["172.16.0.1", /private/],
    ["172.31.255.254", /private/],
    ["192.168.1.1", /private/],
    ["169.254.169.254", /link-local.*metadata/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["100.127.255.254", /carrier-grade NAT/],
    ["0.0.0.0", /unspecified/],
    ["0.1.2.3", /unspecified/],
    ["224.0.0.1", /multicast/],
    ["239.255.255.250", /multicast/],
    ["255.255.255.255", /broadcast/],
    ["192.0.2.1", /reserved/],
    ["240.0.0.1", /reserved/],
    ["::1", /loopback/],
    ["::", /unspecified/],
    ["fe80::1", /link-local/],
    ["fe80::1%eth0", /link-local/],
    ["fc00::1", /unique-local/],
    ["fd12:3456::1", /unique-local/],
    ["ff02::1", /multicast/],
    // IPv4-mapped IPv6 in its spellings: judged as the IPv4 address it carries.
    ["::ffff:127.0.0.1", /127\.0\.0\.1|loopback/],
    ["::ffff:7f00:1", /loopback/],
    ["::ffff:10.0.0.1", /private/],
    ["::ffff:169.254.169.254", /link-local/],
    ["0:0:0:0:0:ffff:c0a8:0101", /private/],
    // IPv4-compatible (deprecated), NAT64, 6to4 and documentation prefixes: not global unicast.
    ["::127.0.0.1", /./],
    ["64:ff9b::a00:1", /NAT64/],
    ["2002:7f00:1::1", /6to4/],
    ["2001:db8::1", /./],
    ["not-an-ip", /not an IP/],
  ];
  for (const [address, why] of refused) {
    const reason = forbiddenAddressReason(address);
    t.ok(reason, `${address} refused`);
    t.match(reason ?? "", why, `${address}: ${reason}`);
  }
  for (const address of ["93.184.215.14", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "2a00:1450:4001:80b::200e"]) {
    t.equal(forbiddenAddressReason(address), null, `${address} is public`);
  }
});

t.test("URLs: scheme, credentials, literal and resolved hosts", async (t) => {
  const refusals: Array<[string, RegExp]> = [
    ["https://127.0.0.1/hook", /loopback/],
    ["https://2130706433/hook", /loopback/], // decimal IPv4, normalised by the URL parser
    ["https://0x7f.0.0.1/hook", /loopback/],
    ["https://10.0.0.5/hook", /private/],
    ["https://169.254.169.254/latest/meta-data/", /link-local/],
    ["https://[::1]/hook", /loopback/],
    ["https://[::ffff:127.0.0.1]/hook", /loopback/],
    ["https://localhost/hook", /localhost resolves to .*loopback/],
    ["http://93.184.215.14/hook", /must use https/],
    ["ftp://93.184.215.14/hook", /scheme ftp/],
    ["file:///etc/passwd", /scheme file/],
    ["gopher://93.184.215.14/", /scheme gopher/],
    ["https://user:pw@93.184.215.14/hook", /credentials/],
    ["https://token@93.184.215.14/hook", /credentials/],
    ["not a url", /absolute URL/],
    ["https://does-not-exist.invalid/hook", /does not resolve/],
  ];
  for (const [url, why] of refusals) {
    const err = await checkWebhookUrl(url, false).then(() => null, (e: unknown) => e);
    t.ok(err instanceof WebhookUrlRefused, `${url} refused`);
    t.match((err as WebhookUrlRefused).reason, why, `${url}: ${(err as WebhookUrlRefused).reason}`);
    t.equal((err as WebhookUrlRefused).code, "webhook_url_not_allowed");
  }
  t.equal((await checkWebhookUrl("https://93.184.215.14:8443/hook?x=1", false)).hostname, "93.184.215.14", "a public literal passes");
  // Development: private and http allowed, other schemes and credentials still not.
  t.ok(await checkWebhookUrl("http://127.0.0.1:9/hook", true));
  t.ok(await checkWebhookUrl("http://localhost:9/hook", true));
  await t.rejects(checkWebhookUrl("ftp://127.0.0.1/", true), WebhookUrlRefused);
  await t.rejects(checkWebhookUrl("http://a:b@127.0.0.1/", true), WebhookUrlRefused);
});

t.test("signatures follow Standard Webhooks", async (t) => {
  // The specification's published example (standard-webhooks/spec, "Verifying webhook authenticity").
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const body = Buffer.from('{"test": 2432232314}');
  t.equal(signatureFor(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

  const s = newSecret();
  t.match(s, /^whsec_[A-Za-z0-9+/]{43}=$/, "whsec_ + base64 of 32 bytes");
  t.equal(Buffer.from(s.slice(6), "base64").length, 32);
  const now = Math.floor(Date.now() / 1000);
  const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(now), "webhook-signature": signatureHeader([s], "msg_1", now, body) };
  t.ok(verifyStandardWebhook(s, headers, body), "the independent verifier accepts it");
  t.notOk(verifyStandardWebhook(s, headers, Buffer.from('{"test": 2432232315}')), "a tampered body is rejected");
  t.notOk(verifyStandardWebhook(newSecret(), headers, body), "another secret is rejected");
  t.notOk(verifyStandardWebhook(s, { ...headers, "webhook-timestamp": String(now - 301) }, body), "a stale timestamp is rejected");
});

t.test("secrets are sealed per endpoint; a rotation keeps the previous one for 24 hours", async (t) => {
  const keyring = createKeyring(`k1:${Buffer.alloc(32, 7).toString("base64")}`);
  const secret = newSecret();
  const sealed = sealSecrets(keyring, "endpoint-a", { current: secret });
  t.notOk(sealed.includes(secret.slice(6)), "the column does not hold the secret");
  t.match(sealed, /^k1:/, "the key id is kept with the ciphertext");
  t.equal(openSecrets(keyring, "endpoint-a", sealed).current, secret);
  t.throws(() => openSecrets(keyring, "endpoint-b", sealed), "copied onto another endpoint it does not decrypt");

  const now = new Date();
  const next = rotated({ current: secret }, now);
  t.not(next.current, secret);
  t.same(activeSecrets(next, now), [next.current, secret], "both sign during the overlap");
  t.same(activeSecrets(next, new Date(now.getTime() + 24 * 3600_000 + 1)), [next.current], "only the new one afterwards");
});

t.test("the retry schedule: about 27.5 hours over eight attempts, with a little jitter", async (t) => {
  t.equal(MAX_AUTOMATIC_ATTEMPTS, 8);
  t.equal(RETRY_DELAYS_MS.reduce((a, b) => a + b, 0), (5 + 5 * 60 + 30 * 60 + 2 * 3600 + 5 * 3600 + 20 * 3600) * 1000);
  const now = new Date(0);
  t.equal(nextAttemptAt(1, now, () => 0.5)?.getTime(), 5_000, "5 s after the first failure");
  t.equal(nextAttemptAt(1, now, () => 0)?.getTime(), 4_500, "-10% at most");
  t.equal(nextAttemptAt(1, now, () => 1)?.getTime(), 5_500, "+10% at most");
  t.equal(nextAttemptAt(2, now, () => 0.5)?.getTime(), 300_000, "5 min after the second");
  t.equal(nextAttemptAt(7, now, () => 0.5)?.getTime(), 36_000_000, "10 h after the seventh");
  t.equal(nextAttemptAt(8, now), null, "none after the eighth");
});
