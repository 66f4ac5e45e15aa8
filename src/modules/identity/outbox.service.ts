import type { MailMessage, Prisma } from "../../generated/prisma/client.js";
import { decodeCursor, page } from "../../http/pagination.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { authorize } from "../access/authorize.js";
import { accessibleBy } from "../access/casl-prisma.js";
import type { Actor } from "../access/principal.js";
import type { OutboxQuery, OutboxView } from "./outbox.schemas.js";

export type OutboxService = ReturnType<typeof createOutboxService>;

/** The record of outgoing mail, read by platform owners and admins (the development outbox when SMTP is off). */
export function createOutboxService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;
  return {
    async list(actor: Actor, query: OutboxQuery): Promise<{ items: OutboxView[]; nextCursor: string | null }> {
      authorize(actor, "read", "MailMessage");
      const before = decodeCursor(query.cursor, ["id"] as const);
      const where: Prisma.MailMessageWhereInput = {
        AND: [
          accessibleBy(actor.ability, "read").ofType("MailMessage"),
          query.to ? { to: query.to.toLowerCase() } : {},
          query.tenantId ? { tenantId: query.tenantId } : {},
          // Newest first: ids are UUIDv7, so id order is creation order.
          before ? { id: { lt: before.id } } : {},
        ],
      };
      const rows = await prisma.mailMessage.findMany({ where, orderBy: { id: "desc" }, take: query.limit + 1 });
      const result = page(rows, query.limit, (m) => ({ id: m.id }));
      return { items: result.items.map(toView), nextCursor: result.nextCursor };
    },
  };
}

function toView(m: MailMessage): OutboxView {
  return {
    id: m.id,
    tenantId: m.tenantId,
    to: m.to,
    subject: m.subject,
    text: m.text,
    transport: m.transport === "smtp" ? "smtp" : "outbox",
    createdAt: m.createdAt.toISOString(),
    sentAt: m.sentAt?.toISOString() ?? null,
    error: m.error,
  };
}
