import { randomUUID } from "node:crypto";
import type { Db, PrismaClient } from "../../platform/db/database.js";
import { principalId, type Actor } from "../access/principal.js";
import { GENESIS_HASH, linkHash, type ChainedFields } from "./audit.chain.js";

export interface AuditInput {
  /** The tenant whose chain records it: the tenant that owns the target. */
  tenantId: string;
  action: string;
  targetType?: string;
  targetId?: string;
  data?: Record<string, unknown>;
  /**
   * Who acted, when the request carries no principal yet: sign-in steps (password, MFA code, refresh) act
   * for the account being signed in to.
   */
  subjectUserId?: string;
}

/**
 * Appends one event to the tenant's hash chain. Call it inside the transaction of the state change it records,
 * with that transaction's client, so the change and its audit event commit or fail together.
 * The chain head row is locked (upsert + FOR UPDATE), which serialises concurrent appends per tenant.
 * Given the root client instead (an event with no state change: a failed sign-in, a refusal), it opens a
 * transaction of its own: outside one, the head's row lock would end with its SELECT and two concurrent appends
 * could read the same head (the second then fails on the (tenant_id, seq) key).
 */
export async function appendAudit(db: Db | PrismaClient, actor: Actor | SystemActor, input: AuditInput): Promise<void> {
  if (isRootClient(db)) return db.$transaction((tx) => appendInTransaction(tx, actor, input));
  return appendInTransaction(db, actor, input);
}

/** An interactive transaction's client has no `$connect` (Prisma's ITXClientDenyList). */
const isRootClient = (db: Db | PrismaClient): db is PrismaClient => "$connect" in db;

async function appendInTransaction(db: Db, actor: Actor | SystemActor, input: AuditInput): Promise<void> {
  await db.$executeRaw`INSERT INTO enterprise.audit_chain_heads (tenant_id, seq, hash) VALUES (${input.tenantId}::uuid, 0, ${GENESIS_HASH}) ON CONFLICT (tenant_id) DO NOTHING`;
  const [head] = await db.$queryRaw<Array<{ seq: bigint; hash: string }>>`SELECT seq, hash FROM enterprise.audit_chain_heads WHERE tenant_id = ${input.tenantId}::uuid FOR UPDATE`;
  if (!head) throw new Error("audit chain head vanished inside its transaction");
  const principal = "principal" in actor ? actor.principal : null;
  const event: ChainedFields = {
    tenantId: input.tenantId,
    seq: head.seq + 1n,
    id: randomUUID(),
    // Millisecond precision, as stored (timestamptz(3)), so the hash can be recomputed from the row.
    at: new Date(),
    actorType: principal ? principal.kind : input.subjectUserId ? "user" : "system",
    actorId: principal ? principalId(principal) : (input.subjectUserId ?? ("name" in actor ? actor.name : null)),
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    ip: actor.ip ?? null,
    userAgent: actor.userAgent ?? null,
    requestId: actor.requestId ?? null,
    // Hashed as stored: a JSON round trip turns a Date into its string, drops undefined members and fails
    // loudly on a bigint, exactly as writing the jsonb column does, so verification recomputes the same hash.
    data: JSON.parse(JSON.stringify(input.data ?? {})) as unknown,
  };
  const hash = linkHash(head.hash, event);
  await db.auditEvent.create({ data: { ...event, data: event.data as object, prevHash: head.hash, hash } });
  await db.auditChainHead.update({ where: { tenantId: input.tenantId }, data: { seq: event.seq, hash } });
}

/** The actor of work nobody requested: CLI commands, jobs. */
export interface SystemActor {
  name: string;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export const systemActor = (name: string): SystemActor => ({ name, ip: null, userAgent: null, requestId: null });
