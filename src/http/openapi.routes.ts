import { readFile } from "node:fs/promises";
import { OPENAPI_FILE } from "../platform/paths.js";
import type { App } from "./route-types.js";


/** The public contract, served as written (openapi.yaml at the repository root). */
export async function openapiRoutes(app: App) {
  const spec = await readFile(OPENAPI_FILE, "utf8");
  app.get(
    "/openapi.yaml",
    { config: { public: true }, schema: { operationId: "getOpenApi", tags: ["operations"], summary: "This API's OpenAPI 3.1 description", hide: true } as never },
    async (_request, reply) => reply.type("application/yaml; charset=utf-8").send(spec),
  );
}
