#!/usr/bin/env node
// Stand-in for Prisma's native schema engine where it cannot be downloaded (offline machines).
// `prisma generate` only checks that this file exists; any command that really needs the engine lands here.
process.stderr.write(
  "Prisma's native schema engine is not installed on this machine.\n" +
    "Apply migrations with `npm run db:migrate` and print the next migration's SQL with `npm run db:diff`.\n",
);
process.exit(1);
