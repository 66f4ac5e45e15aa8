import type { TestApp } from "../../helpers/build.js";
import type { Recipe, Request } from "../recipes.js";

/**
 * What one domain adds to the access suites: a recipe per operation (route-matrix.test.ts) and, for routes that
 * take an id, attacks with tenant A's objects (isolation.test.ts).
 */
export interface DomainAccess {
  recipes: Record<string, Recipe>;
  /**
   * Creates tenant A's objects of this domain and returns one request per id-taking operation aimed at them,
   * the ids that must never appear in tenant B's answers, and the list URLs to check for leaks.
   */
  attacks?(ctx: TestApp, tenantAId: string): Promise<{ attacks: Record<string, Request>; ids: string[]; lists: string[] }>;
}
