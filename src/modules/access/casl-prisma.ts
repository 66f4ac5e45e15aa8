// CASL over the generated Prisma 7 client (the `prisma-client` generator does not populate @prisma/client):
// the documented wrapper around @casl/prisma/runtime.
import type { Ability } from "@casl/ability";
import { accessibleBy, createPrismaAbility, type Model, type PrismaQueryOf, type Subjects } from "@casl/prisma/runtime";
import type { Alert, ApiKey, AuditEvent, BillingContact, BillingRun, BillingSettings, Device, Invoice, Payment, EsimProfile, Invitation, MailMessage, Membership, NetworkEvent, Operation, Prisma, RatePlan, Sim, Tenant, UsageDaily, UsageLimit, UsageRecord, UsageWatermark, User, WebhookEndpoint } from "../../generated/prisma/client.js";

export { accessibleBy, createPrismaAbility };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PrismaQuery<T extends Model<Record<string, any>, string> = Model<Record<string, any>, string>> = PrismaQueryOf<Prisma.TypeMap, T>;

export type AppSubjects =
  | Subjects<{
      Tenant: Tenant;
      User: User;
      Membership: Membership;
      AuditEvent: AuditEvent;
      Sim: Sim;
      ApiKey: ApiKey;
      Invitation: Invitation;
      MailMessage: MailMessage;
      RatePlan: RatePlan;
      Operation: Operation;
      EsimProfile: EsimProfile;
      Device: Device;
      Alert: Alert;
      NetworkEvent: NetworkEvent;
      WebhookEndpoint: WebhookEndpoint;
      /** create = ingest usage records; read = raw records (hourly series of one SIM). */
      UsageRecord: UsageRecord;
      /** read = the usage API's totals (rollups). */
      UsageDaily: UsageDaily;
      /** read/update = a tenant's data-limit policy (thresholds, pooled limit). */
      UsageLimit: UsageLimit;
      /** create = a feed declares usage complete through a time. */
      UsageWatermark: UsageWatermark;
      /** read = invoices and credit notes (customers never see drafts); create = credit notes; update = issue, void. */
      Invoice: Invoice;
      /** read = payment history; create = record payments (manual or CSV import). */
      Payment: Payment;
      /** The tenant's billing details (profile) and billing contacts. */
      BillingContact: BillingContact;
      /** create/read = billing runs (platform staff). */
      BillingRun: BillingRun;
      /** read/update = the issuer's details and billing policy (platform staff). */
      BillingSettings: BillingSettings;
    }>
  | "all";

/**
 * `allocate`: platform staff hand inventory SIMs to a customer. `import` creates inventory.
 * Lifecycle changes (activate, suspend...) are `create` on Operation: every change is an operation.
 */
export type Action = "manage" | "create" | "read" | "update" | "close" | "delete" | "import" | "allocate";

export type AppAbility = Ability<[Action, AppSubjects], PrismaQuery>;
