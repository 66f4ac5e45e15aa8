import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "prisma/config";

// Offline machines cannot download Prisma's native schema engine. `prisma generate` only checks that the
// binary exists, so point it at a stub that explains what to run instead (ARCHITECTURE.md §5).
const enginesDir = fileURLToPath(new URL("./node_modules/@prisma/engines/", import.meta.url));
const hasNativeEngine = existsSync(enginesDir) && readdirSync(enginesDir).some((f) => f.startsWith("schema-engine-"));
if (!hasNativeEngine && !process.env.PRISMA_SCHEMA_ENGINE_BINARY) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(new URL("./scripts/no-schema-engine.cjs", import.meta.url));
}

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  // No env() here: it throws when the variable is unset, and generate must work without a database.
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
