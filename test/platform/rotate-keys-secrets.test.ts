// rotate-keys beyond TOTP: webhook signing secrets (current and previous) and SIM PIN/PUK, each re-encrypted under the
// active key, a value changed meanwhile left alone, and one under an unknown key reported, never its value.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { sealSecret } from "../../src/modules/mfa/factor-secret.js";
import { rotateKeys, type RotationReport } from "../../src/modules/mfa/rotate-keys.js";
import { openSimSecret, sealSimSecret } from "../../src/modules/sims/sim-secrets.js";
import { newSecret, openSecrets, rotated, sealSecrets, type SigningSecrets } from "../../src/modules/webhooks/webhook-secret.js";
import { uuidV7 } from "../../src/modules/webhooks/webhooks.repository.js";
import { createKeyring, type Keyring } from "../../src/platform/crypto.js";
import type { Db, PrismaClient } from "../../src/platform/db/database.js";
import { build } from "../helpers/build.js";
import { runCli } from "../helpers/cli.js";
import { createSim, createTenant, createUser } from "../helpers/factories.js";

const key = () => randomBytes(32).toString("base64");
const keyIdOf = (sealed: string | null) => sealed?.slice(0, sealed.indexOf(":"));

async function seedEndpoint(prisma: PrismaClient, keyring: Keyring, tenantId: string, secrets: SigningSecrets = { current: newSecret() }) {
  const id = uuidV7();
  await prisma.webhookEndpoint.create({ data: { id, tenantId, url: "https://hooks.example.com/in", events: ["sim.activated"], description: null, secretEncrypted: sealSecrets(keyring, id, secrets) } });
  return { id, secrets };
}

/** A SIM with PIN and/or PUK sealed under `keyring` (null: none stored). */
async function seedSim(prisma: PrismaClient, keyring: Keyring, tenantId: string, pin: string | null, puk: string | null) {
  const sim = await createSim(prisma, { tenantId, status: "inventory" });
  await prisma.sim.update({
    where: { id: sim.id },
    data: { pinEncrypted: pin === null ? null : sealSimSecret(keyring, "pin", sim.iccid, pin), pukEncrypted: puk === null ? null : sealSimSecret(keyring, "puk", sim.iccid, puk) },
  });
  return { id: sim.id, iccid: sim.iccid, pin, puk };
}

const digits = (n: number) => Array.from(randomBytes(n), (b) => b % 10).join("");

/**
 * Runs `rotate` while `change` holds an uncommitted write on a row: rotation reads the old value, its UPDATE waits
 * on the row lock, and the change commits before that UPDATE is re-checked. A real concurrent writer, no test hook.
 */
async function rotateDuring(prisma: PrismaClient, change: (tx: Db) => Promise<unknown>, rotate: () => Promise<RotationReport>): Promise<RotationReport> {
  let running: Promise<RotationReport> | undefined;
  await prisma.$transaction(
    async (tx) => {
      await change(tx);
      running = rotate();
      running.catch(() => undefined);
      for (let i = 0; ; i++) {
        const [waiting] = await prisma.$queryRaw<Array<{ n: number }>>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        if ((waiting?.n ?? 0) > 0) break;
        if (i > 1000) throw new Error("rotation never waited on the row being changed");
        await sleep(10);
      }
    },
    { timeout: 60_000 },
  );
  return running!;
}

t.test("webhook secrets and SIM PIN/PUK move to the active key in batches, and still open to the same values", async (t) => {
  const { prisma } = await build(t);
  const oldKey = key();
  const newKey = key();
  const old = createKeyring(`old:${oldKey}`);
  const current = createKeyring(`new:${newKey}`);
  const tenant = await createTenant(prisma);
  const user = await createUser(prisma, { tenantId: tenant.id, role: "viewer" });
  await prisma.mfaFactor.create({ data: { userId: user.id, ...sealSecret(old, user.id, "JBSWY3DPEHPK3PXP"), confirmedAt: new Date() } });

  // A just-rotated endpoint keeps its previous secret (and its overlap) through the re-encryption.
  const first = await seedEndpoint(prisma, old, tenant.id);
  const endpoints = [first, await seedEndpoint(prisma, old, tenant.id, rotated(first.secrets)), await seedEndpoint(prisma, old, tenant.id), await seedEndpoint(prisma, current, tenant.id)];
  const sims = [
    await seedSim(prisma, old, tenant.id, digits(4), digits(8)),
    await seedSim(prisma, old, tenant.id, digits(4), digits(8)),
    await seedSim(prisma, old, tenant.id, digits(4), null),
    await seedSim(prisma, old, tenant.id, null, digits(8)),
    await seedSim(prisma, old, tenant.id, null, null),
    await seedSim(prisma, old, tenant.id, digits(4), digits(8)),
    await seedSim(prisma, current, tenant.id, digits(4), digits(8)),
  ];
  const simBefore = new Map((await prisma.sim.findMany()).map((s) => [s.id, s]));
  const endpointBefore = new Map((await prisma.webhookEndpoint.findMany()).map((e) => [e.id, e]));

  const keyring = createKeyring(`new:${newKey},old:${oldKey}`);
  const report = await rotateKeys(prisma, keyring, { batchSize: 2 });
  t.same(report, {
    activeKeyId: "new",
    reencrypted: 1 + 3 + 8,
    skipped: 0,
    failed: [],
    underActiveKey: 1 + 4 + 10,
    kinds: {
      totp: { reencrypted: 1, skipped: 0, failed: 0, underActiveKey: 1 },
      webhookSecrets: { reencrypted: 3, skipped: 0, failed: 0, underActiveKey: 4 },
      simPins: { reencrypted: 8, skipped: 0, failed: 0, underActiveKey: 10 },
    },
  });

  // Only the new key configured: every value opens, and to what was sealed.
  for (const e of endpoints) {
    const row = await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: e.id } });
    t.equal(keyIdOf(row.secretEncrypted), "new");
    t.same(openSecrets(current, e.id, row.secretEncrypted), e.secrets, "same secrets document, previous and its overlap included");
    t.same(row.updatedAt, endpointBefore.get(e.id)?.updatedAt, "updated_at untouched: the endpoint did not change");
  }
  t.equal((await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoints[3]!.id } })).secretEncrypted, endpointBefore.get(endpoints[3]!.id)?.secretEncrypted, "already current: not rewritten");
  for (const s of sims) {
    const row = await prisma.sim.findUniqueOrThrow({ where: { id: s.id } });
    t.equal(keyIdOf(row.pinEncrypted), s.pin === null ? undefined : "new");
    t.equal(keyIdOf(row.pukEncrypted), s.puk === null ? undefined : "new");
    t.equal(row.pinEncrypted === null ? null : openSimSecret(current, "pin", s.iccid, row.pinEncrypted), s.pin);
    t.equal(row.pukEncrypted === null ? null : openSimSecret(current, "puk", s.iccid, row.pukEncrypted), s.puk);
    t.same(row.updatedAt, simBefore.get(s.id)?.updatedAt, "updated_at untouched: the SIM did not change");
  }
  t.equal((await prisma.sim.findUniqueOrThrow({ where: { id: sims[6]!.id } })).pinEncrypted, simBefore.get(sims[6]!.id)?.pinEncrypted, "already current: not rewritten");

  const again = await rotateKeys(prisma, keyring);
  t.equal(again.reencrypted, 0, "a second run has nothing to do");
  t.equal(again.underActiveKey, 15);
});

t.test("a value changed while it is being rotated is left as the other writer put it", async (t) => {
  const { prisma } = await build(t);
  const oldKey = key();
  const newKey = key();
  const old = createKeyring(`old:${oldKey}`);
  const keyring = createKeyring(`new:${newKey},old:${oldKey}`);
  const tenant = await createTenant(prisma);

  await t.test("a SIM whose PIN is replaced meanwhile: skipped, the rest of its batch written", async (t) => {
    const sims = [await seedSim(prisma, old, tenant.id, digits(4), digits(8)), await seedSim(prisma, old, tenant.id, digits(4), digits(8)), await seedSim(prisma, old, tenant.id, digits(4), digits(8))];
    const target = sims[1]!;
    const replaced = sealSimSecret(old, "pin", target.iccid, "4321");
    const report = await rotateDuring(
      prisma,
      (tx) => tx.$executeRaw`UPDATE connectivity.sims SET pin_encrypted = ${replaced} WHERE id = ${target.id}::uuid`,
      () => rotateKeys(prisma, keyring, { batchSize: 3 }),
    );
    t.same(report.kinds.simPins, { reencrypted: 4, skipped: 2, failed: 0, underActiveKey: 4 }, "its PIN and PUK both skipped (one guarded UPDATE per SIM)");
    const row = await prisma.sim.findUniqueOrThrow({ where: { id: target.id } });
    t.equal(row.pinEncrypted, replaced, "the concurrent write stands");
    t.equal(openSimSecret(keyring, "pin", target.iccid, row.pinEncrypted!), "4321");
    for (const s of [sims[0]!, sims[2]!]) t.equal(keyIdOf((await prisma.sim.findUniqueOrThrow({ where: { id: s.id } })).pinEncrypted), "new");
    const again = await rotateKeys(prisma, keyring);
    t.same(again.kinds.simPins, { reencrypted: 2, skipped: 0, failed: 0, underActiveKey: 6 }, "the next run picks it up");
  });

  await t.test("an endpoint whose secret is rotated meanwhile: skipped, the new secret kept", async (t) => {
    const endpoint = await seedEndpoint(prisma, old, tenant.id);
    const next = rotated(endpoint.secrets);
    const report = await rotateDuring(
      prisma,
      (tx) => tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { secretEncrypted: sealSecrets(old, endpoint.id, next) } }),
      () => rotateKeys(prisma, keyring),
    );
    t.same(report.kinds.webhookSecrets, { reencrypted: 0, skipped: 1, failed: 0, underActiveKey: 0 });
    const row = await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    t.same(openSecrets(keyring, endpoint.id, row.secretEncrypted), next, "the rotation by the API stands");
    t.equal((await rotateKeys(prisma, keyring)).kinds.webhookSecrets.reencrypted, 1, "the next run picks it up");
  });
});

t.test("values under an unknown key, or damaged, are reported by kind and row, never by value, and left as they are", async (t) => {
  const { prisma } = await build(t);
  const lost = createKeyring(`lost:${key()}`);
  const oldKey = key();
  const old = createKeyring(`old:${oldKey}`);
  const keyring = createKeyring(`new:${key()},old:${oldKey}`);
  const tenant = await createTenant(prisma);
  const endpoint = await seedEndpoint(prisma, lost, tenant.id);
  // PIN under the lost key, PUK under a configured one: the PUK still moves.
  const sim = await seedSim(prisma, lost, tenant.id, digits(4), null);
  await prisma.sim.update({ where: { id: sim.id }, data: { pukEncrypted: sealSimSecret(old, "puk", sim.iccid, "12345678") } });
  // Copied from another SIM: the ICCID is the associated data, so it does not open here.
  const other = await seedSim(prisma, old, tenant.id, digits(4), null);
  const copied = (await prisma.sim.findUniqueOrThrow({ where: { id: sim.id } })).pukEncrypted;
  await prisma.sim.update({ where: { id: other.id }, data: { pukEncrypted: copied } });
  const before = await prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });

  const report = await rotateKeys(prisma, keyring);
  const byRow = (id: string, column: string) => report.failed.find((f) => f.id === id && f.column === column);
  t.match(byRow(endpoint.id, "secret_encrypted"), { kind: "webhookSecrets", table: "enterprise.webhook_endpoints", keyId: "lost", error: /No encryption key with id "lost"/ });
  t.match(byRow(sim.id, "pin_encrypted"), { kind: "simPins", table: "connectivity.sims", keyId: "lost", error: /No encryption key with id "lost"/ });
  t.match(byRow(other.id, "puk_encrypted"), { kind: "simPins", table: "connectivity.sims", keyId: "old", error: /Decryption under key "old" failed/ });
  t.equal(report.failed.length, 3);
  t.same(report.kinds.webhookSecrets, { reencrypted: 0, skipped: 0, failed: 1, underActiveKey: 0 });
  t.same(report.kinds.simPins, { reencrypted: 2, skipped: 0, failed: 2, underActiveKey: 2 }, "the other SIM's PIN and this SIM's PUK moved");
  const json = JSON.stringify(report);
  for (const secret of [endpoint.secrets.current, sim.pin!, "12345678"]) t.notOk(json.includes(secret), "no secret in the report");

  const after = await prisma.sim.findUniqueOrThrow({ where: { id: sim.id } });
  t.equal(after.pinEncrypted, before.pinEncrypted, "the PIN left as it was");
  t.equal(openSimSecret(keyring, "puk", sim.iccid, after.pukEncrypted!), "12345678");
  t.equal((await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).secretEncrypted.startsWith("lost:"), true);
});

t.test("npm run cli -- rotate-keys counts each kind and names the rows it could not decrypt", async (t) => {
  const { prisma, databaseUrl } = await build(t);
  const dataDir = mkdtempSync(join(tmpdir(), "conekt-rotate-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const oldKey = key();
  const old = createKeyring(`k1:${oldKey}`);
  const tenant = await createTenant(prisma);
  const endpoint = await seedEndpoint(prisma, old, tenant.id);
  await seedSim(prisma, old, tenant.id, digits(4), digits(8));
  const orphan = await seedSim(prisma, createKeyring(`gone:${key()}`), tenant.id, digits(8), null);
  const env = { DATABASE_URL: databaseUrl, DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString("base64url"), ENCRYPTION_KEYS: `k2:${key()},k1:${oldKey}` };

  const text = await runCli(["rotate-keys"], env);
  t.equal(text.code, 1, "exit 1: a value could not be decrypted");
  t.match(text.stdout, /Re-encrypted 3 secret\(s\) under key "k2" \(3 under it now; 0 changed meanwhile and were left alone; 1 could not be decrypted\)/);
  t.match(text.stdout, /TOTP secrets: +0 re-encrypted, 0 under the key now, 0 left alone, 0 failed/);
  t.match(text.stdout, /webhook signing secrets: +1 re-encrypted, 1 under the key now, 0 left alone, 0 failed/);
  t.match(text.stdout, /SIM PIN\/PUK values: +2 re-encrypted, 2 under the key now, 0 left alone, 1 failed/);
  t.match(text.stdout, new RegExp(`FAILED connectivity\\.sims\\.pin_encrypted ${orphan.id} \\(key "gone"\\)`));
  t.notOk(text.stdout.includes(orphan.pin!), "no PIN printed");

  const json = await runCli(["rotate-keys", "--json"], env);
  t.equal(json.code, 1);
  const report = JSON.parse(json.stdout.trim()) as RotationReport;
  t.same(report.kinds.webhookSecrets, { reencrypted: 0, skipped: 0, failed: 0, underActiveKey: 1 });
  t.match(report.failed, [{ kind: "simPins", table: "connectivity.sims", column: "pin_encrypted", id: orphan.id, keyId: "gone" }]);
  t.equal(keyIdOf((await prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).secretEncrypted), "k2");
});
