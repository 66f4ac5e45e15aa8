import { createCipheriv, randomBytes } from "node:crypto";
import t from "tap";
import { createKeyring, randomToken, sha256Hex } from "../../src/platform/crypto.js";

const key = () => randomBytes(32).toString("base64");

t.test("encrypts with the first key and round-trips, with a fresh IV each time", async (t) => {
  const ring = createKeyring(`k2:${key()},k1:${key()}`);
  t.equal(ring.activeKeyId, "k2");
  t.same(ring.keyIds, ["k2", "k1"]);
  const a = ring.encrypt("JBSWY3DPEHPK3PXP", "user-1");
  const b = ring.encrypt("JBSWY3DPEHPK3PXP", "user-1");
  t.equal(a.keyId, "k2");
  t.equal(a.data.length, 12 + 16 + 16, "IV, one block of ciphertext, tag");
  t.not(a.data.toString("hex"), b.data.toString("hex"), "same plaintext, different ciphertexts");
  t.notOk(a.data.includes(Buffer.from("JBSWY3DPEHPK3PXP")), "no plaintext inside");
  t.equal(ring.decrypt(a.keyId, a.data, "user-1").toString(), "JBSWY3DPEHPK3PXP");
  t.same(ring.decrypt("k2", ring.encrypt(Buffer.from([0, 1, 2, 255])).data), Buffer.from([0, 1, 2, 255]), "binary, no AAD");
});

t.test("data encrypted under an older key still decrypts while that key is listed", async (t) => {
  const k1 = key();
  const old = createKeyring(`k1:${k1}`).encrypt("secret", "u");
  const rotated = createKeyring(`k2:${key()},k1:${k1}`);
  t.equal(rotated.decrypt(old.keyId, old.data, "u").toString(), "secret");
  t.equal(rotated.encrypt("x").keyId, "k2", "new data goes under the new key");
});

t.test("tampering, a wrong AAD or a wrong key throws", async (t) => {
  const ring = createKeyring(`k1:${key()}`);
  const { data } = ring.encrypt("secret", "user-1");
  for (const index of [0, 12, data.length - 1]) {
    const bad = Buffer.from(data);
    bad[index] = (bad[index] ?? 0) ^ 1;
    t.throws(() => ring.decrypt("k1", bad, "user-1"), /altered/, `flipped byte ${index}`);
  }
  t.throws(() => ring.decrypt("k1", data, "user-2"), /altered/, "bound to its row: another AAD fails");
  t.throws(() => ring.decrypt("k1", data), /altered/, "missing AAD fails");
  t.throws(() => ring.decrypt("k1", data.subarray(0, 20), "user-1"), /too short/);
  const other = createKeyring(`k1:${key()}`);
  t.throws(() => other.decrypt("k1", data, "user-1"), /altered|not the one/, "same id, different key");
});

t.test("an unknown key id is a clear error naming the configured ones", async (t) => {
  const ring = createKeyring(`a:${key()},b:${key()}`);
  const { data } = ring.encrypt("x");
  t.throws(() => ring.decrypt("gone", data), /No encryption key with id "gone".*"a", "b"/);
});

t.test("the format is interoperable: IV ‖ ciphertext ‖ tag, AES-256-GCM", async (t) => {
  const raw = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", raw, iv);
  cipher.setAAD(Buffer.from("row"));
  const data = Buffer.concat([iv, cipher.update("made elsewhere"), cipher.final(), cipher.getAuthTag()]);
  t.equal(createKeyring(`x:${raw.toString("base64")}`).decrypt("x", data, "row").toString(), "made elsewhere");
});

t.test("bad keyrings are refused without echoing key material", async (t) => {
  const good = key();
  t.throws(() => createKeyring(""), /entry 1/);
  t.throws(() => createKeyring(good), /entry 1 needs the form kid:base64key/, "no key id");
  t.throws(() => createKeyring(`k1:${good},k1:${key()}`), /"k1" twice/);
  t.throws(() => createKeyring(`k1:${randomBytes(16).toString("base64")}`), /must be 32 bytes/);
  t.throws(() => createKeyring(`k1:${good.slice(0, 40)}!!!!`), /must be 32 bytes/, "stray characters");
  t.throws(() => createKeyring(`way-too-long-key-id:${good}`), /entry 1/);
  try {
    createKeyring(`k1:${good},k2:${good.slice(0, 30)}`);
    t.fail("should throw");
  } catch (err) {
    t.notMatch((err as Error).message, good.slice(0, 30), "the message holds no key material");
  }
  t.equal(createKeyring(`k1:${good.replace(/=+$/, "")}`).activeKeyId, "k1", "unpadded base64 is accepted");
});

t.test("sha256Hex and randomToken", async (t) => {
  t.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  t.equal(sha256Hex(Buffer.from("abc")), sha256Hex("abc"));
  const token = randomToken(32);
  t.match(token, /^[A-Za-z0-9_-]{43}$/);
  t.not(randomToken(), randomToken());
  t.equal(Buffer.from(randomToken(16), "base64url").length, 16);
});
