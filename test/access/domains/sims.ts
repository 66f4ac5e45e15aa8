import type { DomainAccess } from "./types.js";

export const access: DomainAccess = {
  recipes: {},
};
