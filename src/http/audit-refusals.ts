import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Actor } from "../modules/access/principal.js";
import { appendAudit, type AuditInput, type SystemActor } from "../modules/audit/audit.writer.js";
import type { PrismaClient } from "../platform/db/database.js";
import { AppError } from "../platform/errors.js";
import { SESSION_COOKIE, type SessionClaims } from "./authentication.js";

/**
 * Every refusal on a protected route (401, 403) leaves an `authz.denied` event in the caller's tenant chain.
 * An `onError` hook runs before the error handler replies, so the event is committed before the caller sees
 * the refusal. It writes with the app's own client, never a service's transaction: that transaction is being
 * rolled back by the very error refused here. The hook never throws, so the original error is always answered.
 */
export const auditRefusalsPlugin = fp(
  async (app: FastifyInstance, opts: { prisma: PrismaClient }) => {
    app.addHook("onError", async (request, _reply, error) => {
      try {
        if (!(error instanceof AppError) || (error.status !== 401 && error.status !== 403)) return;
        // Public routes (sign-in) record their own authentication events.
        if (request.routeOptions.config.public) return;
        const caller = callerOf(app, request, error.status);
        // A 401 without a known principal (no credentials, an expired or forged token) names no tenant whose
        // chain could hold it: nothing is written. Failed sign-ins are audited by the identity module.
        if (!caller) return;
        const schema = request.routeOptions.schema as { operationId?: string } | undefined;
        const input: AuditInput = {
          tenantId: caller.tenantId,
          action: "authz.denied",
          ...(schema?.operationId && { targetType: "operation", targetId: schema.operationId.slice(0, 64) }),
          data: { method: request.method, route: request.routeOptions.url ?? request.url.split("?")[0], status: error.status, code: error.code },
          ...(caller.subjectUserId && { subjectUserId: caller.subjectUserId }),
        };
        await appendAudit(opts.prisma, caller.actor, input);
      } catch (err) {
        request.log.error({ err }, "could not audit a refusal");
      }
    });
  },
  { name: "audit-refusals", dependencies: ["authentication", "@fastify/jwt", "@fastify/cookie"] },
);

interface Caller {
  tenantId: string;
  actor: Actor | SystemActor;
  subjectUserId?: string;
}

function callerOf(app: FastifyInstance, request: FastifyRequest, status: number): Caller | undefined {
  // `actor` is null when authentication itself refused (the decorator's initial value).
  const actor = request.actor as Actor | null;
  if (actor?.principal) return { tenantId: actor.principal.tenantId, actor };
  if (status !== 403) return undefined;
  // Refused while the credentials were resolved (a session cookie without its CSRF header): the session
  // token is genuine, so its signed claims name the user and tenant even though no principal was built.
  const token = request.cookies[SESSION_COOKIE];
  if (!token) return undefined;
  try {
    const claims = app.jwt.verify<SessionClaims>(token);
    if (claims.typ !== "session") return undefined;
    const audit: SystemActor = { name: "session", ip: request.ip, userAgent: request.headers["user-agent"]?.slice(0, 512) ?? null, requestId: String(request.id) };
    return { tenantId: claims.tid, actor: audit, subjectUserId: claims.sub };
  } catch {
    return undefined;
  }
}
