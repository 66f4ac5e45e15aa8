// `npm run db:diff`: print the SQL of the next migration, i.e. what takes a database built from prisma/migrations
// to the state described by prisma/schema.prisma (ARCHITECTURE.md §5). Works without Prisma's native engine.
//
//   npm run db:diff                          next migration's SQL (nothing on stdout when they agree)
//   npm run db:diff -- --from-empty          the whole schema from an empty database
//   npm run db:diff -- --exit-code           exit 2 when the diff is non-empty (CI: "did you forget a migration?")
//   npm run db:diff -- --schema <file> --migrations <dir>
//
// To write a new migration: mkdir prisma/migrations/<yyyymmddhhmmss>_<name>, redirect the output into its
// migration.sql, then add by hand what Prisma cannot express (partitioning, functions...).

import { parseArgs } from "node:util";

import { DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH, SchemaDiffError, diffMigrationsToSchema } from "./schema-diff.js";

const usage = `Usage: tsx scripts/db-diff.ts [--from-empty] [--exit-code] [--schema <schema.prisma>] [--migrations <dir>]
  --from-empty   diff from an empty database instead of from the migrations folder
  --exit-code    exit 2 when the diff is non-empty (0 when empty, 1 on error)
  --schema       Prisma schema to diff to (default ${DEFAULT_SCHEMA_PATH})
  --migrations   migrations folder to diff from (default ${DEFAULT_MIGRATIONS_DIR})
`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "from-empty": { type: "boolean", default: false },
        "exit-code": { type: "boolean", default: false },
        schema: { type: "string" },
        migrations: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }

  const fromEmpty = values["from-empty"] === true;
  let sql: string;
  try {
    sql = await diffMigrationsToSchema({
      fromEmpty,
      ...(values.schema !== undefined && { schemaPath: values.schema }),
      ...(values.migrations !== undefined && { migrationsDir: values.migrations }),
    });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof SchemaDiffError && error.engineLog.length > 0) {
      process.stderr.write(`schema engine log (last lines):\n${error.engineLog.slice(-20).join("")}\n`);
    }
    return 1;
  }

  if (sql === "") {
    process.stderr.write(
      fromEmpty ? "-- schema.prisma describes an empty database\n" : "-- schema.prisma and prisma/migrations agree\n",
    );
    return 0;
  }
  process.stdout.write(sql);
  return values["exit-code"] === true ? 2 : 0;
}

process.exitCode = await main(process.argv.slice(2));
