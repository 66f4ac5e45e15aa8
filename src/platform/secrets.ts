import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config.js";

export interface Secrets {
  jwtSecret: string;
  /** `kid:base64key,...`, the first encrypts (src/platform/crypto). */
  encryptionKeys: string;
}

/**
 * Configured secrets win. Without them (the embedded default, or development) they are generated once and kept
 * in DATA_DIR/secrets.json, readable by the owner only, so sessions and encrypted data survive restarts
 * without a fixed default secret ever existing. Production with an external database must configure them.
 */
export async function resolveSecrets(config: Config, log: (msg: string) => void): Promise<Secrets> {
  if (config.jwtSecret && config.encryptionKeys) return { jwtSecret: config.jwtSecret, encryptionKeys: config.encryptionKeys };
  if (config.isProduction && !config.database.embedded) {
    throw new Error("JWT_SECRET and ENCRYPTION_KEYS must be set in production.");
  }
  const file = join(config.dataDir, "secrets.json");
  let stored: Partial<Secrets> = {};
  try {
    stored = JSON.parse(await readFile(file, "utf8")) as Partial<Secrets>;
  } catch {
    // first start: generated below
  }
  const secrets: Secrets = {
    jwtSecret: config.jwtSecret ?? stored.jwtSecret ?? randomBytes(48).toString("base64url"),
    encryptionKeys: config.encryptionKeys ?? stored.encryptionKeys ?? `k1:${randomBytes(32).toString("base64")}`,
  };
  if (secrets.jwtSecret !== stored.jwtSecret || secrets.encryptionKeys !== stored.encryptionKeys) {
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    log(`secrets: generated and stored in ${file} (set JWT_SECRET and ENCRYPTION_KEYS to manage them yourself)`);
  }
  return secrets;
}
