import type { Prisma } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { AppError, NotFoundError, ValidationError } from "../../platform/errors.js";
import { authorize, requireUser } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor, UserPrincipal } from "../access/principal.js";
import { PLATFORM_ROLE_SCOPES, ROLE_SCOPES, type Scope } from "../access/scopes.js";
import { CREATED_BY, issueApiKey, revokeApiKey, toView, type ApiKeyRow } from "./api-keys.repository.js";
import type { ApiKeyCreateBody, ApiKeyCreated, ApiKeyListQuery, ApiKeyStatus, ApiKeyView } from "./api-keys.schemas.js";

export type ApiKeysService = ReturnType<typeof createApiKeysService>;

/** The widest scopes this user may put on a key. */
export function grantableScopes(user: Pick<UserPrincipal, "tenantKind" | "role">): readonly Scope[] {
  return (user.tenantKind === "platform" ? PLATFORM_ROLE_SCOPES : ROLE_SCOPES)[user.role];
}

function statusWhere(status: ApiKeyStatus, now: Date): Prisma.ApiKeyWhereInput {
  if (status === "revoked") return { revokedAt: { not: null } };
  if (status === "expired") return { revokedAt: null, expiresAt: { lte: now } };
  return { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
}

/**
 * API keys of the caller's tenant, managed by its owners and admins. Only people manage keys: a key cannot
 * create, list or revoke keys (requireUser), so a leaked key cannot mint itself successors.
 */
export function createApiKeysService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  async function findVisible(actor: Actor, id: string): Promise<ApiKeyRow> {
    requireUser(actor);
    authorize(actor, "read", "ApiKey");
    const row = await prisma.apiKey.findFirst({ where: { AND: [accessibleBy(actor.ability, "read").ofType("ApiKey"), { id }] }, include: { createdBy: CREATED_BY } });
    if (!row) throw new NotFoundError("API key");
    return row;
  }

  return {
    async create(actor: Actor, input: ApiKeyCreateBody): Promise<ApiKeyCreated> {
      const user = requireUser(actor);
      authorize(actor, "create", "ApiKey", { tenantId: user.tenantId });
      const grantable = grantableScopes(user);
      const exceeding = input.scopes.filter((s) => !grantable.includes(s));
      if (exceeding.length) {
        throw new AppError(403, "scope_exceeds_role", "Forbidden", `Your role (${user.role}) cannot grant these scopes: ${exceeding.join(", ")}.`, { scopes: exceeding });
      }
      const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt);
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw new ValidationError("/body/expiresAt must be in the future", [{ field: "/body/expiresAt", reason: "must be in the future" }]);
      }
      const { row, key } = await prisma.$transaction((tx) =>
        issueApiKey(tx, actor, { tenantId: user.tenantId, name: input.name.trim(), scopes: input.scopes, expiresAt, createdById: user.userId }),
      );
      return { ...toView(row), key };
    },

    async list(actor: Actor, query: ApiKeyListQuery): Promise<{ items: ApiKeyView[]; nextCursor: string | null }> {
      requireUser(actor);
      authorize(actor, "read", "ApiKey");
      const before = decodeCursor(query.cursor, ["id"] as const);
      const where: Prisma.ApiKeyWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("ApiKey"),
          query.status ? statusWhere(query.status, new Date()) : {},
          // Newest first; ids are UUIDv7, so id order is creation order.
          before ? { id: { lt: before.id } } : {},
        ],
      };
      const rows = await prisma.apiKey.findMany({ where, orderBy: { id: "desc" }, take: query.limit + 1, include: { createdBy: CREATED_BY } });
      const result = page(rows, query.limit, (k) => ({ id: k.id }));
      return { items: result.items.map(toView), nextCursor: result.nextCursor };
    },

    async get(actor: Actor, id: string): Promise<ApiKeyView> {
      return toView(await findVisible(actor, id));
    },

    /** Idempotent: revoking a revoked key changes nothing and records nothing. */
    async revoke(actor: Actor, id: string): Promise<void> {
      const key = await findVisible(actor, id);
      authorize(actor, "delete", "ApiKey", key);
      await prisma.$transaction((tx) => revokeApiKey(tx, actor, key, "revoked_by_user"));
    },
  };
}
