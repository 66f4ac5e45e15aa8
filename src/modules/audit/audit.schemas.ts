import { Type, type Static } from "typebox";
import { PageQuery } from "../../http/pagination.js";

/** An exact action (`tenant.closed`) or every action under a prefix (`auth.*`). */
const ActionFilter = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*(\\.\\*)?$",
  description: "An exact action (`tenant.closed`) or a prefix ending in `.*` (`auth.*` matches `auth.login_failed`, not `authz.denied`).",
});

/** Ids as recorded: UUIDs, ICCIDs, system actor names such as `cli:demo`. */
const RecordedId = Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9._:@-]+$" });

/** The filters the list, the CSV export and (tenantId only) verification share. */
export const AuditFilters = {
  tenantId: Type.Optional(
    Type.String({ format: "uuid", description: "Platform staff (owner/admin, or a platform key with `audit:read`): whose log to read. Default: the caller's own tenant. A customer naming another tenant gets 404." }),
  ),
  action: Type.Optional(ActionFilter),
  actorId: Type.Optional(RecordedId),
  targetType: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: "^[a-z][a-z0-9_]*$" })),
  targetId: Type.Optional(RecordedId),
  from: Type.Optional(Type.String({ format: "date-time", description: "Events at or after this instant (ISO 8601)." })),
  to: Type.Optional(Type.String({ format: "date-time", description: "Events before this instant (ISO 8601)." })),
};

export const AuditListQuery = Type.Object({ ...PageQuery, ...AuditFilters }, { additionalProperties: false });
export type AuditListQuery = Static<typeof AuditListQuery>;

export const AuditExportQuery = Type.Object(AuditFilters, { additionalProperties: false });
export type AuditExportQuery = Static<typeof AuditExportQuery>;

export const AuditVerifyQuery = Type.Object({ tenantId: AuditFilters.tenantId }, { additionalProperties: false });
export type AuditVerifyQuery = Static<typeof AuditVerifyQuery>;

/** The filters a service call receives: the list's without paging. */
export type AuditFilter = Omit<AuditListQuery, "limit" | "cursor">;

const NullableString = () => Type.Union([Type.String(), Type.Null()]);

/** One event as clients see it: the chain's hashes stay inside (verification reports on them). */
export const AuditEventView = Type.Object({
  id: Type.String({ format: "uuid" }),
  seq: Type.Integer({ minimum: 1, description: "Position in the tenant's chain, from 1, without gaps." }),
  tenantId: Type.String({ format: "uuid" }),
  at: Type.String({ format: "date-time" }),
  actorType: Type.Union([Type.Literal("user"), Type.Literal("api_key"), Type.Literal("system")]),
  actorId: NullableString(),
  action: Type.String(),
  targetType: NullableString(),
  targetId: NullableString(),
  ip: NullableString(),
  userAgent: NullableString(),
  requestId: NullableString(),
  data: Type.Record(Type.String(), Type.Unknown()),
});
export type AuditEventView = Static<typeof AuditEventView>;

export const AuditEventPage = Type.Object({ items: Type.Array(AuditEventView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

const BrokenReason = Type.Union([Type.Literal("hash_mismatch"), Type.Literal("missing"), Type.Literal("prev_hash_mismatch"), Type.Literal("head_mismatch")]);
export type BrokenReason = Static<typeof BrokenReason>;

export const AuditVerification = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer({ minimum: 0, description: "Events whose link was verified intact (up to the first broken one)." }),
  tenantId: Type.String({ format: "uuid" }),
  firstBroken: Type.Optional(
    Type.Object({
      seq: Type.Integer({ minimum: 1 }),
      id: Type.Optional(Type.String({ format: "uuid" })),
      reason: BrokenReason,
    }),
  ),
});
export type AuditVerification = Static<typeof AuditVerification>;
