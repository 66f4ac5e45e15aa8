import type { Sim } from "../../generated/prisma/client.js";
import type { Db } from "../../platform/db/database.js";
import { NotFoundError } from "../../platform/errors.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";

/**
 * A SIM the caller may see, by ICCID; another tenant's SIM is not found (404), never forbidden. The path's
 * ICCID is only shape-checked (as the SIM API does): one that is not ours, check digit or not, is simply unknown.
 */
export async function findVisibleSim(db: Db, actor: Actor, iccid: string): Promise<Sim> {
  const sim = await db.sim.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("Sim"), { iccid }] } });
  if (!sim) throw new NotFoundError("SIM");
  return sim;
}
