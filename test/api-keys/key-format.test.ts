import t from "tap";
import { checksumOf, generateApiKey, hashApiKey, isWellFormedApiKey } from "../../src/modules/api-keys/key-format.js";

const FORMAT = /^ck_live_[A-Za-z0-9]{30,}_[A-Za-z0-9]{6}$/;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** CRC-32 (IEEE), bit by bit: an implementation independent of node:zlib to check the checksum against. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, "utf8")) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const base62 = (n: number) => {
  let s = "";
  for (let r = n; r > 0; r = Math.floor(r / 62)) s = ALPHABET[r % 62] + s;
  return s.padStart(6, "0");
};

t.test("generated keys have the scanner-friendly format and a valid CRC32 checksum", async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const { key, prefix, secretHash } = generateApiKey();
    t.match(key, FORMAT);
    const body = key.slice(0, key.lastIndexOf("_"));
    t.equal(key.slice(key.lastIndexOf("_") + 1), base62(crc32(body)), "checksum = base62(CRC32(preceding part))");
    t.ok(isWellFormedApiKey(key));
    t.equal(prefix, key.slice(0, 16));
    t.match(secretHash, /^[0-9a-f]{64}$/);
    t.equal(secretHash, hashApiKey(key));
    seen.add(key);
  }
  t.equal(seen.size, 200, "no repeats");
});

t.test("the checksum turns away typos and look-alikes", async (t) => {
  const { key } = generateApiKey();
  const at = 12;
  const typo = key.slice(0, at) + (key[at] === "a" ? "b" : "a") + key.slice(at + 1);
  t.notOk(isWellFormedApiKey(typo), "one changed character");
  const swapped = key.slice(0, 10) + key[11] + key[10] + key.slice(12);
  if (key[10] !== key[11]) t.notOk(isWellFormedApiKey(swapped), "two swapped characters");
  t.notOk(isWellFormedApiKey(`${key.slice(0, -6)}000000`), "a made-up checksum");
  t.notOk(isWellFormedApiKey(key.replace("ck_live_", "ck_test_")), "another prefix");
  t.notOk(isWellFormedApiKey(`ck_live_short_${checksumOf("ck_live_short")}`), "too short");
  t.notOk(isWellFormedApiKey(`${key} `), "trailing space");
  t.notOk(isWellFormedApiKey(""), "empty");
});

t.test("random characters are spread over the whole base62 alphabet", async (t) => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    for (const c of generateApiKey().key.slice(8, -7)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  t.equal(counts.size, 62, "every character occurs");
  // 64,000 draws over 62 characters: ~1,030 each. A modulo bias (bytes 248-255 folded onto 0-7) would put
  // the first 8 characters ~13% above the rest; rejection sampling keeps them level.
  const first8 = [...ALPHABET.slice(0, 8)].reduce((a, c) => a + (counts.get(c) ?? 0), 0) / 8;
  const rest = [...ALPHABET.slice(8)].reduce((a, c) => a + (counts.get(c) ?? 0), 0) / 54;
  t.ok(Math.abs(first8 / rest - 1) < 0.06, `no modulo bias (ratio ${(first8 / rest).toFixed(3)})`);
});
