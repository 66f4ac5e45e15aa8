import type { App } from "../../http/route-types.js";
import { AllocateBody, AllocationResult, ImportCsvBody, ImportJsonBody, ImportQuery, ImportResult } from "./inventory.schemas.js";
import type { InventoryService } from "./inventory.service.js";

/**
 * 100,000 rows of JSON with every field filled (an eSIM's EID included) are about 20 MB; the service-wide limit
 * is far smaller, so this one route reads more.
 */
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024;

export async function inventoryRoutes(app: App, opts: { inventory: InventoryService }) {
  const { inventory } = opts;
  const tags = ["inventory"];

  // CSV is read as text here only (this plugin's scope): nowhere else does the API take text/csv bodies.
  if (app.hasContentTypeParser("text/csv")) app.removeContentTypeParser("text/csv");
  app.addContentTypeParser("text/csv", { parseAs: "string", bodyLimit: IMPORT_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post(
    "/v1/inventory/sims/import",
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        operationId: "importSims",
        tags,
        summary: "Import SIMs into the platform's inventory (CSV or JSON)",
        querystring: ImportQuery,
        body: { content: { "application/json": { schema: ImportJsonBody }, "text/csv": { schema: ImportCsvBody } } },
        response: { 200: ImportResult },
      },
    },
    async (request) => {
      const body = request.body as ImportJsonBody | string;
      const { atomic } = request.query as { atomic: boolean };
      const input = typeof body === "string" ? { format: "csv" as const, text: body } : { format: "json" as const, body };
      return inventory.import(request.actor, input, atomic);
    },
  );

  app.post(
    "/v1/inventory/sims/allocate",
    { schema: { operationId: "allocateSims", tags, summary: "Allocate inventory SIMs to a customer tenant", body: AllocateBody, response: { 200: AllocationResult } } },
    async (request) => inventory.allocate(request.actor, request.body),
  );
}
