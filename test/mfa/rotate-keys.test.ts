// Key rotation of TOTP secrets at rest: the service function and `npm run cli -- rotate-keys` as operators run it.
// Webhook secrets and SIM PIN/PUK: test/platform/rotate-keys-secrets.test.ts.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { createMfaService, type MfaUser } from "../../src/modules/mfa/mfa.service.js";
import { rotateKeys } from "../../src/modules/mfa/rotate-keys.js";
import { createKeyring } from "../../src/platform/crypto.js";
import type { PrismaClient } from "../../src/platform/db/database.js";
import { build } from "../helpers/build.js";
import { createTenant, createUser } from "../helpers/factories.js";
import { awayFromStepBoundary, oathCode, oathCodeAt, signInActor } from "./oathtool.js";
import { runCli } from "../helpers/cli.js";

const key = () => `${randomBytes(32).toString("base64")}`;

/** Enrols `count` users under `keys` (through the service, as the sign-in flow does); returns them and their secrets. */
async function enrolUsers(prisma: PrismaClient, keys: string, count: number): Promise<Array<{ user: MfaUser; secret: string }>> {
  const mfa = createMfaService({ prisma, keyring: createKeyring(keys) });
  const tenant = await createTenant(prisma);
  const out: Array<{ user: MfaUser; secret: string }> = [];
  for (let i = 0; i < count; i++) {
    const u = await createUser(prisma, { tenantId: tenant.id, role: "viewer" });
    const user = { id: u.id, email: u.email, tenantId: tenant.id };
    const { secret } = await mfa.beginEnrolment(signInActor(), user);
    await mfa.confirmEnrolment(signInActor(), user, oathCode(secret));
    out.push({ user, secret });
  }
  return out;
}

/** The counts of a kind with nothing stored. */
const none = { reencrypted: 0, skipped: 0, failed: 0, underActiveKey: 0 };

const cli = (env: Record<string, string>, args: string[]) => runCli(args, env);

t.test("rotateKeys moves every secret to the active key; they still verify, even once the old key is gone", async (t) => {
  const { prisma } = await build(t);
  const oldKey = key();
  const newKey = key();
  const enrolled = await enrolUsers(prisma, `old:${oldKey}`, 5);
  const current = await enrolUsers(prisma, `new:${newKey}`, 1);
  t.equal(await prisma.mfaFactor.count({ where: { keyId: "old" } }), 5);
  const before = new Map((await prisma.mfaFactor.findMany()).map((f) => [f.userId, Buffer.from(f.secretEnc).toString("hex")]));

  const both = createKeyring(`new:${newKey},old:${oldKey}`);
  const report = await rotateKeys(prisma, both, { batchSize: 2 });
  t.same(
    report,
    { activeKeyId: "new", reencrypted: 5, skipped: 0, failed: [], underActiveKey: 6, kinds: { totp: { reencrypted: 5, skipped: 0, failed: 0, underActiveKey: 6 }, webhookSecrets: none, simPins: none } },
    "5 in batches of 2; the one already current untouched",
  );
  t.equal(await prisma.mfaFactor.count({ where: { keyId: "old" } }), 0);
  const after = await prisma.mfaFactor.findMany();
  for (const f of after) {
    const moved = enrolled.some((e) => e.user.id === f.userId);
    t.equal(Buffer.from(f.secretEnc).toString("hex") === before.get(f.userId), !moved, moved ? "re-encrypted" : "left as it was");
    t.not(f.confirmedAt, null, "still confirmed");
  }

  // With only the new key configured, every factor still verifies (codes from oathtool).
  await awayFromStepBoundary();
  const onlyNew = createMfaService({ prisma, keyring: createKeyring(`new:${newKey}`) });
  for (const { user, secret } of [...enrolled, ...current]) {
    t.same(await onlyNew.verifySecondFactor(signInActor(), user, oathCodeAt(secret, 1)), { method: "totp" }, `${user.email} verifies`);
  }
  const again = await rotateKeys(prisma, both);
  t.equal(again.reencrypted, 0, "a second run has nothing to do");
});

t.test("a secret under a key no longer configured is reported, not lost", async (t) => {
  const { prisma } = await build(t);
  const lostKey = key();
  const newKey = key();
  const [orphan] = await enrolUsers(prisma, `lost:${lostKey}`, 1);
  const report = await rotateKeys(prisma, createKeyring(`new:${newKey}`));
  t.equal(report.reencrypted, 0);
  t.equal(report.failed.length, 1);
  t.equal(report.failed[0]?.userId, orphan?.user.id);
  t.match(report.failed[0], { kind: "totp", table: "enterprise.mfa_factors", column: "secret_enc", id: orphan?.user.id, keyId: "lost" });
  t.notMatch(JSON.stringify(report), orphan!.secret, "the secret is never in the report");
  t.equal(report.kinds.totp.failed, 1);
  t.match(report.failed[0]?.error, /No encryption key with id "lost"/);
  t.equal((await prisma.mfaFactor.findUniqueOrThrow({ where: { userId: orphan!.user.id } })).keyId, "lost", "row left as it was");
});

t.test("npm run cli -- rotate-keys re-encrypts and reports counts", async (t) => {
  const { prisma, databaseUrl } = await build(t);
  const dataDir = mkdtempSync(join(tmpdir(), "conekt-rotate-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const oldKey = key();
  const newKey = key();
  const enrolled = await enrolUsers(prisma, `k1:${oldKey}`, 3);
  const env = { DATABASE_URL: databaseUrl, DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString("base64url"), ENCRYPTION_KEYS: `k2:${newKey},k1:${oldKey}` };

  const json = await cli(env, ["rotate-keys", "--json"]);
  t.equal(json.code, 0, json.stderr);
  const lines = json.stdout.trim().split("\n");
  t.equal(lines.length, 1, "one JSON line on stdout");
  t.same(JSON.parse(lines[0] ?? "{}"), { activeKeyId: "k2", reencrypted: 3, skipped: 0, failed: [], underActiveKey: 3, kinds: { totp: { reencrypted: 3, skipped: 0, failed: 0, underActiveKey: 3 }, webhookSecrets: none, simPins: none } });
  t.same((await prisma.mfaFactor.findMany({ select: { keyId: true } })).map((f) => f.keyId), ["k2", "k2", "k2"]);

  const text = await cli(env, ["rotate-keys"]);
  t.equal(text.code, 0);
  t.match(text.stdout, /Re-encrypted 0 secret\(s\) under key "k2" \(3 under it now/);
  t.match(text.stdout, /TOTP secrets: +0 re-encrypted, 3 under the key now, 0 left alone, 0 failed/);

  // Dropping the key that encrypts the data before rotating: the CLI says which rows and exits non-zero.
  const stranded = await cli({ ...env, ENCRYPTION_KEYS: `k3:${key()}` }, ["rotate-keys", "--json"]);
  t.equal(stranded.code, 1);
  const report = JSON.parse(stranded.stdout.trim());
  t.equal(report.failed.length, 3);
  t.same(report.failed.map((f: { userId: string }) => f.userId).sort(), enrolled.map((e) => e.user.id).sort());

  const help = await cli(env, ["--help"]);
  t.match(help.stdout, /rotate-keys \[--json\]/, "listed in the usage text");
});
