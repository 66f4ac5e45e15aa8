import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import type { Actor } from "../access/principal.js";
import type { AllocateBody, AllocationResult, ImportResult } from "./inventory.schemas.js";
import type { SimDirectoryVersion } from "../usage/sim-directory.js";
import { allocateSims } from "./sim-allocation.js";
import { importSims, type ImportInput } from "./sim-import.js";

export type InventoryService = ReturnType<typeof createInventoryService>;

/** Platform inventory: imports (the keyring seals PINs and PUKs) and allocations (webhooks queued after commit). */
export function createInventoryService(deps: { prisma: PrismaClient; keyring: Keyring; jobs: JobRunner; simDirectoryVersion: SimDirectoryVersion }) {
  return {
    import: (actor: Actor, input: ImportInput, atomic: boolean): Promise<ImportResult> => importSims(deps, actor, input, atomic),
    allocate: async (actor: Actor, body: AllocateBody): Promise<AllocationResult> => {
      const result = await allocateSims(deps, actor, body);
      // After the commit: SIMs changed tenant, so usage ingestion must resolve their identifiers afresh.
      if (result.allocated) await deps.simDirectoryVersion.bump();
      return result;
    },
  };
}
