import { Prisma } from "../../generated/prisma/client.js";

/** True when `err` is a unique-constraint violation (Prisma P2002), optionally on a given field. */
export function isUniqueViolation(err: unknown, field?: string): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError) || err.code !== "P2002") return false;
  if (!field) return true;
  const meta = JSON.stringify(err.meta ?? {});
  return meta.includes(field);
}
