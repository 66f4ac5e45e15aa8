import { randomUUID } from "node:crypto";
import type { PrismaClient } from "../../platform/db/database.js";
import { ConflictError, ForbiddenError, UnauthenticatedError } from "../../platform/errors.js";
import { burnPasswordCheck, verifyPassword } from "../../platform/passwords.js";
import { requireUser } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import type { LoginBody, SessionView } from "./identity.schemas.js";

export type IdentityService = ReturnType<typeof createIdentityService>;

export interface IssuedSession {
  userId: string;
  tenantId: string;
  sessionId: string;
  view: SessionView;
}

const BAD_CREDENTIALS = "The email or password is wrong.";

/** Password sign-in and the caller's own view. Sessions themselves are tokens minted by the routes. */
export function createIdentityService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;

  return {
    async login(actor: Actor, input: LoginBody): Promise<IssuedSession> {
      const email = input.email.trim().toLowerCase();
      const user = await prisma.user.findUnique({
        where: { email },
        include: { memberships: { include: { tenant: true }, orderBy: { createdAt: "asc" } } },
      });
      if (!user) {
        // Same work and the same answer as a wrong password: whether an account exists stays secret.
        await burnPasswordCheck(input.password);
        throw new UnauthenticatedError(BAD_CREDENTIALS, "invalid_credentials");
      }
      const passwordOk = await verifyPassword(input.password, user.passwordHash);
      const auditTenant = user.memberships[0]?.tenantId;
      if (!passwordOk || user.status !== "active") {
        if (auditTenant) {
          await appendAudit(prisma, actor, { tenantId: auditTenant, action: "auth.login_failed", targetType: "user", targetId: user.id, data: { reason: passwordOk ? "user_disabled" : "bad_password" } });
        }
        throw new UnauthenticatedError(BAD_CREDENTIALS, "invalid_credentials");
      }

      const live = user.memberships.filter((m) => m.tenant.status !== "closed");
      const membership = input.tenant ? live.find((m) => m.tenant.slug === input.tenant) : live.length === 1 ? live[0] : undefined;
      if (!membership) {
        if (input.tenant || live.length === 0) throw new ForbiddenError("This account has no access to that tenant.", "no_tenant_access");
        throw new ConflictError("This account belongs to several tenants; say which with `tenant`.", "tenant_required", {
          tenants: live.map((m) => m.tenant.slug),
        });
      }
      const sessionId = randomUUID();
      await prisma.$transaction(async (tx) => {
        await tx.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
        await appendAudit(tx, actor, { tenantId: membership.tenantId, action: "auth.login_succeeded", targetType: "user", targetId: user.id, data: { sessionId } });
      });
      return {
        userId: user.id,
        tenantId: membership.tenantId,
        sessionId,
        view: {
          user: { id: user.id, email: user.email, name: user.name },
          tenant: { id: membership.tenant.id, slug: membership.tenant.slug, legalName: membership.tenant.legalName, kind: membership.tenant.kind },
          role: membership.role,
        },
      };
    },

    async logout(actor: Actor): Promise<void> {
      const p = requireUser(actor);
      await appendAudit(prisma, actor, { tenantId: p.tenantId, action: "auth.logout", targetType: "user", targetId: p.userId, data: { sessionId: p.sessionId } });
    },

    async me(actor: Actor): Promise<SessionView> {
      const p = requireUser(actor);
      const m = await prisma.membership.findUniqueOrThrow({
        where: { tenantId_userId: { tenantId: p.tenantId, userId: p.userId } },
        include: { user: true, tenant: true },
      });
      return {
        user: { id: m.user.id, email: m.user.email, name: m.user.name },
        tenant: { id: m.tenant.id, slug: m.tenant.slug, legalName: m.tenant.legalName, kind: m.tenant.kind },
        role: m.role,
      };
    },
  };
}
