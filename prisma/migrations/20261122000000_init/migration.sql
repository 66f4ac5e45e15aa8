-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "connectivity";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "enterprise";

-- CreateEnum
CREATE TYPE "enterprise"."TenantKind" AS ENUM ('platform', 'customer');

-- CreateEnum
CREATE TYPE "enterprise"."TenantStatus" AS ENUM ('active', 'suspended', 'closed');

-- CreateEnum
CREATE TYPE "enterprise"."UserStatus" AS ENUM ('active', 'disabled');

-- CreateEnum
CREATE TYPE "enterprise"."Role" AS ENUM ('owner', 'admin', 'operator', 'billing', 'viewer');

-- CreateEnum
CREATE TYPE "connectivity"."SimStatus" AS ENUM ('inventory', 'ready', 'active', 'suspended', 'terminated');

-- CreateEnum
CREATE TYPE "connectivity"."SimFormFactor" AS ENUM ('ff2', 'ff3', 'ff4', 'mff2', 'esim');

-- CreateEnum
CREATE TYPE "connectivity"."ImeiLockMode" AS ENUM ('none', 'lock', 'lock_first_seen', 'allow_list');

-- CreateTable
CREATE TABLE "enterprise"."tenants" (
    "id" UUID NOT NULL,
    "kind" "enterprise"."TenantKind" NOT NULL,
    "slug" VARCHAR(63) NOT NULL,
    "legal_name" VARCHAR(200) NOT NULL,
    "country" CHAR(2) NOT NULL,
    "vat_id" VARCHAR(32),
    "billing_address" JSONB NOT NULL,
    "billing_email" VARCHAR(254),
    "status" "enterprise"."TenantStatus" NOT NULL DEFAULT 'active',
    "settings" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "closed_at" TIMESTAMPTZ(3),

    CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."users" (
    "id" UUID NOT NULL,
    "email" VARCHAR(254) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "password_hash" VARCHAR(255) NOT NULL,
    "status" "enterprise"."UserStatus" NOT NULL DEFAULT 'active',
    "password_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_login_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."memberships" (
    "tenant_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "role" "enterprise"."Role" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "memberships_pkey" PRIMARY KEY ("tenant_id","user_id")
);

-- CreateTable
CREATE TABLE "enterprise"."audit_events" (
    "tenant_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_type" VARCHAR(16) NOT NULL,
    "actor_id" VARCHAR(64),
    "action" VARCHAR(64) NOT NULL,
    "target_type" VARCHAR(32),
    "target_id" VARCHAR(64),
    "ip" VARCHAR(45),
    "user_agent" VARCHAR(512),
    "request_id" VARCHAR(64),
    "data" JSONB NOT NULL DEFAULT '{}',
    "prev_hash" CHAR(64) NOT NULL,
    "hash" CHAR(64) NOT NULL,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("tenant_id","seq")
);

-- CreateTable
CREATE TABLE "enterprise"."audit_chain_heads" (
    "tenant_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" CHAR(64) NOT NULL,

    CONSTRAINT "audit_chain_heads_pkey" PRIMARY KEY ("tenant_id")
);

-- CreateTable
CREATE TABLE "connectivity"."sims" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "iccid" VARCHAR(20) NOT NULL,
    "imsi" VARCHAR(15) NOT NULL,
    "msisdn" VARCHAR(15),
    "eid" CHAR(32),
    "form_factor" "connectivity"."SimFormFactor" NOT NULL,
    "status" "connectivity"."SimStatus" NOT NULL DEFAULT 'inventory',
    "status_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "rate_plan_id" UUID,
    "custom_name" VARCHAR(100),
    "labels" VARCHAR(64)[] DEFAULT ARRAY[]::VARCHAR(64)[],
    "imei_lock_mode" "connectivity"."ImeiLockMode" NOT NULL DEFAULT 'none',
    "bound_imei" CHAR(15),
    "last_seen_imei" CHAR(15),
    "last_seen_at" TIMESTAMPTZ(3),
    "last_network" VARCHAR(7),
    "data_limit_bytes" BIGINT,
    "activated_at" TIMESTAMPTZ(3),
    "terminated_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sims_pkey" PRIMARY KEY ("id")
);

-- CreateTable
-- Hand-edited: Prisma generates a plain table; usage_records is PARTITION BY RANGE (started_at), one partition a
-- month plus a default one (created at the end of this file). The primary key contains the partition column.
CREATE TABLE "connectivity"."usage_records" (
    "tenant_id" UUID NOT NULL,
    "source_id" VARCHAR(128) NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3) NOT NULL,
    "sim_id" UUID NOT NULL,
    "bytes_up" BIGINT NOT NULL DEFAULT 0,
    "bytes_down" BIGINT NOT NULL DEFAULT 0,
    "sms_mo" INTEGER NOT NULL DEFAULT 0,
    "sms_mt" INTEGER NOT NULL DEFAULT 0,
    "imei" CHAR(15),
    "network" VARCHAR(7),
    "radio" VARCHAR(8),
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_records_pkey" PRIMARY KEY ("tenant_id","source_id","started_at")
) PARTITION BY RANGE ("started_at");

-- CreateTable
CREATE TABLE "connectivity"."usage_daily" (
    "tenant_id" UUID NOT NULL,
    "sim_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "bytes_up" BIGINT NOT NULL DEFAULT 0,
    "bytes_down" BIGINT NOT NULL DEFAULT 0,
    "sms_mo" INTEGER NOT NULL DEFAULT 0,
    "sms_mt" INTEGER NOT NULL DEFAULT 0,
    "records" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_daily_pkey" PRIMARY KEY ("tenant_id","sim_id","day")
);

-- CreateIndex
CREATE UNIQUE INDEX "tenants_slug_key" ON "enterprise"."tenants"("slug");

-- CreateIndex
CREATE INDEX "tenants_kind_status_idx" ON "enterprise"."tenants"("kind", "status");

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "enterprise"."users"("email");

-- CreateIndex
CREATE INDEX "memberships_user_id_idx" ON "enterprise"."memberships"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "audit_events_id_key" ON "enterprise"."audit_events"("id");

-- CreateIndex
CREATE INDEX "audit_events_tenant_id_at_idx" ON "enterprise"."audit_events"("tenant_id", "at");

-- CreateIndex
CREATE UNIQUE INDEX "sims_iccid_key" ON "connectivity"."sims"("iccid");

-- CreateIndex
CREATE UNIQUE INDEX "sims_imsi_key" ON "connectivity"."sims"("imsi");

-- CreateIndex
CREATE UNIQUE INDEX "sims_msisdn_key" ON "connectivity"."sims"("msisdn");

-- CreateIndex
CREATE INDEX "sims_tenant_id_status_iccid_idx" ON "connectivity"."sims"("tenant_id", "status", "iccid");

-- CreateIndex
CREATE INDEX "sims_tenant_id_iccid_idx" ON "connectivity"."sims"("tenant_id", "iccid");

-- CreateIndex
CREATE INDEX "sims_labels_idx" ON "connectivity"."sims" USING GIN ("labels");

-- CreateIndex
CREATE INDEX "usage_records_tenant_id_sim_id_started_at_idx" ON "connectivity"."usage_records"("tenant_id", "sim_id", "started_at");

-- CreateIndex
CREATE INDEX "usage_daily_tenant_id_day_idx" ON "connectivity"."usage_daily"("tenant_id", "day");

-- AddForeignKey
ALTER TABLE "enterprise"."memberships" ADD CONSTRAINT "memberships_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "enterprise"."tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enterprise"."memberships" ADD CONSTRAINT "memberships_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "enterprise"."users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enterprise"."audit_events" ADD CONSTRAINT "audit_events_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "enterprise"."tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enterprise"."audit_chain_heads" ADD CONSTRAINT "audit_chain_heads_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "enterprise"."tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connectivity"."sims" ADD CONSTRAINT "sims_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "enterprise"."tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- ═══════════════════════════════════════════════════════════════════════════════════════════════════════════
-- Hand-written below: what schema.prisma cannot express. Prisma's generated SQL above already starts with
-- CREATE SCHEMA IF NOT EXISTS for both schemas. Keep this portable between PostgreSQL 15 and PGlite (PG 18).
-- Prisma's schema engine ignores partition children and functions when it introspects, so
-- `npm run db:diff` stays empty with all of this in place (test/db/schema-diff.test.ts checks it).
-- ═══════════════════════════════════════════════════════════════════════════════════════════════════════════

-- Partitioning: the default partition catches rows no monthly partition covers (late data, far-future clocks),
-- so ingestion never fails for want of a partition; ensure_usage_partition_for moves such rows into their
-- month's partition when it creates it.
CREATE TABLE "connectivity"."usage_records_default" PARTITION OF "connectivity"."usage_records" DEFAULT;

-- Creates the monthly partition connectivity.usage_records_yYYYYmMM covering [first day of ts's month, first
-- day of the next month) in UTC, whatever the session TimeZone. Returns true when it created the partition,
-- false when it already existed. Rows already in the default partition for that month are moved into the new
-- partition before it is attached (PostgreSQL refuses to add a partition while the default one holds rows in
-- its range), all in the caller's transaction.
-- The partition is created as a plain table and then ATTACHed: ATTACH PARTITION takes only SHARE UPDATE
-- EXCLUSIVE on usage_records (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE and stall ingestion);
-- the default partition is locked ACCESS EXCLUSIVE meanwhile (ATTACH needs that anyway), so no row for the
-- month can slip into it between the move and the attach.
CREATE OR REPLACE FUNCTION "connectivity"."ensure_usage_partition_for"(ts timestamptz)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
  month_start timestamp;  -- UTC wall-clock time of the month's first instant
  part_name   text;
  lower_lit   text;
  upper_lit   text;
  cols        text;
  parent_oid  oid;
  has_default boolean;
  existing    regclass;
BEGIN
  IF ts IS NULL THEN
    RAISE EXCEPTION 'connectivity.ensure_usage_partition_for: ts must not be null';
  END IF;
  month_start := date_trunc('month', ts AT TIME ZONE 'UTC');
  part_name := 'usage_records_y' || to_char(month_start, 'YYYY') || 'm' || to_char(month_start, 'MM');
  -- Literals with an explicit +00 offset: their meaning does not depend on the session TimeZone.
  lower_lit := to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00';
  upper_lit := to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
  parent_oid := 'connectivity.usage_records'::regclass;

  FOR pass IN 1..2 LOOP
    -- to_regclass and pg_partition_root read the current catalog, not the transaction's snapshot, so a
    -- partition committed by a concurrent caller is seen even under REPEATABLE READ.
    existing := to_regclass(format('connectivity.%I', part_name));
    IF existing IS NOT NULL THEN
      IF pg_catalog.pg_partition_root(existing) IS DISTINCT FROM parent_oid THEN
        RAISE EXCEPTION 'connectivity.% exists but is not a partition of connectivity.usage_records', part_name;
      END IF;
      RETURN false;
    END IF;
    EXIT WHEN pass = 2;
    -- Serialise partition maintenance (self-conflicting, but compatible with reads and writes), then look again:
    -- another session may have created the partition while we waited.
    LOCK TABLE connectivity.usage_records IN SHARE UPDATE EXCLUSIVE MODE;
  END LOOP;

  has_default := to_regclass('connectivity.usage_records_default') IS NOT NULL;
  IF has_default THEN
    LOCK TABLE connectivity.usage_records_default IN ACCESS EXCLUSIVE MODE;
  END IF;

  EXECUTE format('CREATE TABLE connectivity.%I (LIKE connectivity.usage_records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part_name);
  -- A CHECK constraint matching the bounds lets ATTACH skip scanning the new table; dropped once attached.
  EXECUTE format('ALTER TABLE connectivity.%I ADD CONSTRAINT %I CHECK (started_at IS NOT NULL AND started_at >= %L::timestamptz AND started_at < %L::timestamptz)',
                 part_name, part_name || '_bounds', lower_lit, upper_lit);

  IF has_default THEN
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = parent_oid AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('WITH moved AS (DELETE FROM connectivity.usage_records_default WHERE started_at >= %L::timestamptz AND started_at < %L::timestamptz RETURNING %s) '
                   'INSERT INTO connectivity.%I (%s) SELECT %s FROM moved',
                   lower_lit, upper_lit, cols, part_name, cols, cols);
  END IF;

  EXECUTE format('ALTER TABLE connectivity.usage_records ATTACH PARTITION connectivity.%I FOR VALUES FROM (%L) TO (%L)',
                 part_name, lower_lit, upper_lit);
  EXECUTE format('ALTER TABLE connectivity.%I DROP CONSTRAINT %I', part_name, part_name || '_bounds');
  RETURN true;
END
$fn$;

-- Ensures the monthly partitions from the current UTC month through months_ahead months ahead; returns how many
-- it created. Run it on a schedule (and after restoring a backup) so inserts rarely reach the default partition.
CREATE OR REPLACE FUNCTION "connectivity"."ensure_usage_partitions"(months_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
  this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
  created    integer := 0;
BEGIN
  IF months_ahead IS NULL OR months_ahead < 0 THEN
    RAISE EXCEPTION 'connectivity.ensure_usage_partitions: months_ahead must be >= 0, got %', months_ahead;
  END IF;
  FOR i IN 0..months_ahead LOOP
    -- timestamp AT TIME ZONE 'UTC' reads the wall-clock value as UTC and yields the timestamptz instant.
    IF connectivity.ensure_usage_partition_for((this_month + make_interval(months => i)) AT TIME ZONE 'UTC') THEN
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$fn$;

SELECT connectivity.ensure_usage_partitions(3);
