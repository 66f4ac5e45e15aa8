import { parseArgs } from "node:util";
import { loadConfig } from "./config.js";
import { openDatabase } from "./platform/db/database.js";
import { seedDemo } from "./modules/demo/demo.js";
import { bootstrapPlatformAdmin } from "./modules/users/bootstrap.js";
import { rotateKeys, type RotationReport, type SecretKind } from "./modules/mfa/rotate-keys.js";
import { createKeyring } from "./platform/crypto.js";
import { resolveSecrets } from "./platform/secrets.js";
import { verifyTenants } from "./modules/audit/audit.verify.js";
import { AppError } from "./platform/errors.js";

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  migrate                          Apply pending database migrations (prisma/migrations).
  bootstrap --email <e> [--name <n>] [--json]
                                   Create the first platform administrator and print a one-time password.
  demo [--tenant <slug>] [--json]  Seed a demo customer (default slug "demo"): a user per role, 1,000 SIMs,
                                   30 days of usage. Idempotent per slug; prints fresh passwords each run.
  rotate-keys [--json]             Re-encrypt every secret at rest (TOTP secrets, webhook signing secrets, SIM
                                   PIN/PUK) under the first key of ENCRYPTION_KEYS and print the counts per kind;
                                   safe while the service runs. Exit 1 if any could not be decrypted.
  audit verify [--tenant <slug|id>] [--json]
                                   Recompute the audit hash chain of one tenant (default: every tenant) and name
                                   the first broken link. Exit 0 when intact, 3 when any chain is broken.

The database is DATABASE_URL, or the embedded one in DATA_DIR (stop the server first: it holds the lock).`;

const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { email: { type: "string" }, name: { type: "string" }, tenant: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (!command || values.help) {
    console.log(USAGE);
    return command || values.help ? 0 : 1;
  }
  const config = loadConfig();
  // Progress goes to stderr, so `--json` output on stdout stays machine-readable.
  const log = (msg: string) => console.error(msg);

  if (command === "migrate") {
    const db = await openDatabase({ url: config.database.url, poolMax: 1, dataDir: config.dataDir, migrateOnStart: true, log });
    await db.close();
    return 0;
  }

  if (command === "bootstrap") {
    if (!values.email || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email)) {
      console.error("bootstrap needs --email <address>");
      return 1;
    }
    const db = await openDatabase({ url: config.database.url, poolMax: 2, dataDir: config.dataDir, migrateOnStart: config.database.migrateOnStart, log });
    try {
      const admin = await bootstrapPlatformAdmin(db.prisma, values.email, values.name);
      if (values.json) console.log(JSON.stringify(admin));
      else console.log(`Platform administrator created.\n  email:    ${admin.email}\n  password: ${admin.password}\nThis password is shown once; change it after signing in.`);
      return 0;
    } finally {
      await db.close();
    }
  }

  if (command === "demo") {
    const slug = values.tenant ?? "demo";
    if (!SLUG.test(slug)) {
      console.error("--tenant must be a slug: 3-63 lower-case letters, digits and inner dashes");
      return 1;
    }
    const db = await openDatabase({ url: config.database.url, poolMax: 4, dataDir: config.dataDir, migrateOnStart: config.database.migrateOnStart, log });
    try {
      const started = Date.now();
      const demo = await seedDemo(db.prisma, slug);
      if (values.json) {
        console.log(JSON.stringify({ tenantId: demo.tenantId, slug: demo.slug, users: demo.users, apiKey: demo.apiKey, sims: demo.sims, esims: demo.esims, usageRecords: demo.usageRecords }));
      } else {
        console.log(`Demo tenant "${slug}" (${demo.tenantId}) ${demo.created ? "created" : "already existed"} in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
        console.log(`  ${demo.sims} SIMs (${demo.esims} eSIM-capable), ${demo.usageRecords} usage records`);
        console.log("  Users (passwords shown once):");
        for (const u of demo.users) console.log(`    ${u.role.padEnd(8)} ${u.email.padEnd(36)} ${u.password}`);
        console.log(`  API key (admin scopes, shown once; the previous demo key is revoked): ${demo.apiKey}`);
      }
      return 0;
    } finally {
      await db.close();
    }
  }

  // -- commands: rotate-keys --
  if (command === "rotate-keys") {
    const keyring = createKeyring((await resolveSecrets(config, log)).encryptionKeys);
    const db = await openDatabase({ url: config.database.url, poolMax: 2, dataDir: config.dataDir, migrateOnStart: config.database.migrateOnStart, log });
    try {
      const report = await rotateKeys(db.prisma, keyring, { log });
      if (values.json) console.log(JSON.stringify(report));
      else printRotation(report);
      return report.failed.length ? 1 : 0;
    } finally {
      await db.close();
    }
  }
  // -- commands: audit verify --
  if (command === "audit" && positionals[1] === "verify") {
    const db = await openDatabase({ url: config.database.url, poolMax: 2, dataDir: config.dataDir, migrateOnStart: config.database.migrateOnStart, log });
    try {
      const results = await verifyTenants(db.prisma, values.tenant);
      const ok = results.every((r) => r.ok);
      // With --tenant, --json prints exactly what GET /v1/audit-events/verify answers.
      if (values.json && values.tenant !== undefined) {
        const { slug: _slug, ...result } = results[0]!;
        console.log(JSON.stringify(result));
      } else if (values.json) console.log(JSON.stringify({ ok, tenants: results }));
      else {
        for (const r of results) {
          const b = r.firstBroken;
          console.log(b
            ? `BROKEN ${r.slug} (${r.tenantId}): ${b.reason} at seq ${b.seq}${b.id ? ` (event ${b.id})` : ""}; ${r.checked} event(s) verified before it`
            : `ok     ${r.slug} (${r.tenantId}): ${r.checked} event(s) verified`);
        }
      }
      return ok ? 0 : 3;
    } finally {
      await db.close();
    }
  }

  console.error(`Unknown command "${command}".\n\n${USAGE}`);
  return 1;
}

const KIND_LABELS: Record<SecretKind, string> = { totp: "TOTP secrets", webhookSecrets: "webhook signing secrets", simPins: "SIM PIN/PUK values" };
/** Failures listed in the human output; `--json` lists them all. */
const LISTED_FAILURES = 50;

function printRotation(report: RotationReport): void {
  console.log(`Re-encrypted ${report.reencrypted} secret(s) under key "${report.activeKeyId}" (${report.underActiveKey} under it now; ${report.skipped} changed meanwhile and were left alone; ${report.failed.length} could not be decrypted).`);
  for (const [kind, k] of Object.entries(report.kinds) as Array<[SecretKind, RotationReport["kinds"][SecretKind]]>) {
    console.log(`  ${`${KIND_LABELS[kind]}:`.padEnd(25)} ${k.reencrypted} re-encrypted, ${k.underActiveKey} under the key now, ${k.skipped} left alone, ${k.failed} failed`);
  }
  for (const f of report.failed.slice(0, LISTED_FAILURES)) console.log(`  FAILED ${f.table}.${f.column} ${f.id} (key "${f.keyId}"): ${f.error}`);
  if (report.failed.length > LISTED_FAILURES) console.log(`  ... and ${report.failed.length - LISTED_FAILURES} more (--json lists them all)`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof AppError ? `${err.code}: ${err.message}` : err);
    process.exit(err instanceof AppError ? 2 : 1);
  },
);
