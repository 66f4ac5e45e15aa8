import type { Keyring } from "../../platform/crypto.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { JobRunner } from "../../platform/jobs/job-runner.js";
import type { Actor } from "../access/principal.js";
import type { AllocateBody, AllocationResult, ImportResult } from "./inventory.schemas.js";
import { allocateSims } from "./sim-allocation.js";
import { importSims, type ImportInput } from "./sim-import.js";

export type InventoryService = ReturnType<typeof createInventoryService>;

/** Platform inventory: imports (the keyring seals PINs and PUKs) and allocations (webhooks queued after commit). */
export function createInventoryService(deps: { prisma: PrismaClient; keyring: Keyring; jobs: JobRunner }) {
  return {
    import: (actor: Actor, input: ImportInput, atomic: boolean): Promise<ImportResult> => importSims(deps, actor, input, atomic),
    allocate: (actor: Actor, body: AllocateBody): Promise<AllocationResult> => allocateSims(deps, actor, body),
  };
}
