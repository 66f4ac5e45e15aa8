import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository root (the folder with package.json), found from this file whether it runs from src/ with tsx
 * or compiled into dist/: files that ship beside the code (migrations, openapi.yaml) are read from there.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("package.json not found above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot();
export const MIGRATIONS_DIR = join(PROJECT_ROOT, "prisma", "migrations");
export const OPENAPI_FILE = join(PROJECT_ROOT, "openapi.yaml");
