-- CreateEnum
CREATE TYPE "enterprise"."RatePlanStatus" AS ENUM ('active', 'retired');

-- CreateEnum
CREATE TYPE "connectivity"."OperationAction" AS ENUM ('activate', 'suspend', 'resume', 'terminate', 'change_rate_plan', 'set_labels');

-- CreateEnum
CREATE TYPE "connectivity"."OperationStatus" AS ENUM ('queued', 'running', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "connectivity"."OperationItemState" AS ENUM ('pending', 'succeeded', 'failed', 'skipped');

-- CreateEnum
CREATE TYPE "connectivity"."BillingEffect" AS ENUM ('none', 'test', 'billable', 'reduced');

-- CreateEnum
CREATE TYPE "connectivity"."SimEventKind" AS ENUM ('imported', 'allocated', 'state_changed', 'rate_plan_changed', 'labels_changed', 'imei_policy_changed', 'esim_order_changed');

-- CreateEnum
CREATE TYPE "connectivity"."EsimOrderState" AS ENUM ('available', 'allocated', 'linked', 'confirmed', 'released', 'downloaded', 'installed', 'error', 'cancelled');

-- CreateEnum
CREATE TYPE "connectivity"."EsimProfileState" AS ENUM ('enabled', 'disabled', 'deleted');

-- CreateEnum
CREATE TYPE "connectivity"."ImeiMismatchAction" AS ENUM ('alert', 'suspend');

-- CreateEnum
CREATE TYPE "connectivity"."ImeiEventKind" AS ENUM ('first_seen', 'bound', 'changed', 'mismatch', 'repaired');

-- CreateEnum
CREATE TYPE "connectivity"."ImeiEventSource" AS ENUM ('usage', 'network_event', 'api');

-- CreateEnum
CREATE TYPE "connectivity"."NetworkEventKind" AS ENUM ('attach', 'detach', 'location_update');

-- CreateEnum
CREATE TYPE "connectivity"."AlertKind" AS ENUM ('imei_mismatch', 'usage_threshold', 'data_limit');

-- CreateEnum
CREATE TYPE "connectivity"."AlertSeverity" AS ENUM ('info', 'warning', 'critical');

-- CreateEnum
CREATE TYPE "connectivity"."WebhookDeliveryStatus" AS ENUM ('pending', 'succeeded', 'failed');

-- AlterTable
ALTER TABLE "connectivity"."sims" ADD COLUMN     "imei_allow_list" VARCHAR(15)[] DEFAULT ARRAY[]::VARCHAR(15)[],
ADD COLUMN     "imei_on_mismatch" "connectivity"."ImeiMismatchAction" NOT NULL DEFAULT 'alert',
ADD COLUMN     "imei_repair_until" TIMESTAMPTZ(3),
ADD COLUMN     "pending_action" "connectivity"."OperationAction",
ADD COLUMN     "pending_operation_id" UUID,
ADD COLUMN     "pin_encrypted" TEXT,
ADD COLUMN     "puk_encrypted" TEXT,
ADD COLUMN     "status_reason" VARCHAR(64);

-- CreateTable
CREATE TABLE "enterprise"."rate_plans" (
    "id" UUID NOT NULL,
    "code" VARCHAR(40) NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "description" VARCHAR(500),
    "currency" CHAR(3) NOT NULL,
    "status" "enterprise"."RatePlanStatus" NOT NULL DEFAULT 'active',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rate_plans_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connectivity"."operations" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "action" "connectivity"."OperationAction" NOT NULL,
    "status" "connectivity"."OperationStatus" NOT NULL DEFAULT 'queued',
    "dry_run" BOOLEAN NOT NULL DEFAULT false,
    "params" JSONB NOT NULL DEFAULT '{}',
    "selection" JSONB NOT NULL DEFAULT '{}',
    "reason_code" VARCHAR(64) NOT NULL,
    "total" INTEGER NOT NULL DEFAULT 0,
    "succeeded" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "actor_type" VARCHAR(16) NOT NULL,
    "actor_id" VARCHAR(64),
    "request_id" VARCHAR(64),
    "error" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "operations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connectivity"."operation_items" (
    "tenant_id" UUID NOT NULL,
    "operation_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "sim_id" UUID,
    "iccid" VARCHAR(20) NOT NULL,
    "state" "connectivity"."OperationItemState" NOT NULL DEFAULT 'pending',
    "reason" VARCHAR(200),
    "from_status" "connectivity"."SimStatus",
    "to_status" "connectivity"."SimStatus",
    "processed_at" TIMESTAMPTZ(3),

    CONSTRAINT "operation_items_pkey" PRIMARY KEY ("tenant_id","operation_id","seq")
);

-- CreateTable
CREATE TABLE "connectivity"."sim_events" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "sim_id" UUID NOT NULL,
    "kind" "connectivity"."SimEventKind" NOT NULL,
    "from_status" "connectivity"."SimStatus",
    "to_status" "connectivity"."SimStatus",
    "reason_code" VARCHAR(64),
    "billing_effect" "connectivity"."BillingEffect",
    "data" JSONB NOT NULL DEFAULT '{}',
    "actor_type" VARCHAR(16) NOT NULL,
    "actor_id" VARCHAR(64),
    "operation_id" UUID,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sim_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connectivity"."esim_profiles" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "sim_id" UUID NOT NULL,
    "iccid" VARCHAR(20) NOT NULL,
    "eid" CHAR(32),
    "smdp_address" VARCHAR(255) NOT NULL,
    "matching_id" VARCHAR(64),
    "profile_type" VARCHAR(64),
    "order_state" "connectivity"."EsimOrderState" NOT NULL,
    "profile_state" "connectivity"."EsimProfileState",
    "confirmation_code_required" BOOLEAN NOT NULL DEFAULT false,
    "confirmation_code_hash" CHAR(64),
    "error_reason" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "cancelled_at" TIMESTAMPTZ(3),

    CONSTRAINT "esim_profiles_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connectivity"."devices" (
    "tenant_id" UUID NOT NULL,
    "imei" CHAR(15) NOT NULL,
    "tac" CHAR(8) NOT NULL,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_sim_id" UUID,

    CONSTRAINT "devices_pkey" PRIMARY KEY ("tenant_id","imei")
);

-- CreateTable
CREATE TABLE "connectivity"."imei_events" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "sim_id" UUID NOT NULL,
    "kind" "connectivity"."ImeiEventKind" NOT NULL,
    "imei" CHAR(15) NOT NULL,
    "previous_imei" CHAR(15),
    "source" "connectivity"."ImeiEventSource" NOT NULL,
    "action_taken" "connectivity"."ImeiMismatchAction",
    "network" VARCHAR(7),
    "at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "imei_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connectivity"."network_events" (
    "event_id" VARCHAR(128) NOT NULL,
    "tenant_id" UUID NOT NULL,
    "sim_id" UUID NOT NULL,
    "kind" "connectivity"."NetworkEventKind" NOT NULL,
    "imei" CHAR(15),
    "network" VARCHAR(7),
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "network_events_pkey" PRIMARY KEY ("event_id")
);

-- CreateTable
CREATE TABLE "connectivity"."alerts" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "sim_id" UUID,
    "kind" "connectivity"."AlertKind" NOT NULL,
    "severity" "connectivity"."AlertSeverity" NOT NULL,
    "message" VARCHAR(500) NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "dedupe_key" VARCHAR(200),
    "acknowledged_at" TIMESTAMPTZ(3),
    "acknowledged_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alerts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."webhook_endpoints" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "url" VARCHAR(2048) NOT NULL,
    "description" VARCHAR(200),
    "events" VARCHAR(64)[],
    "secret_encrypted" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connectivity"."webhook_deliveries" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "message_id" VARCHAR(64) NOT NULL,
    "event_type" VARCHAR(64) NOT NULL,
    "payload" JSONB NOT NULL,
    "status" "connectivity"."WebhookDeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3),
    "last_attempt_at" TIMESTAMPTZ(3),
    "last_status_code" INTEGER,
    "last_error" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "succeeded_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connectivity"."webhook_attempts" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "delivery_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "status_code" INTEGER,
    "duration_ms" INTEGER NOT NULL,
    "error" VARCHAR(500),
    "response_excerpt" VARCHAR(1000),
    "trigger" VARCHAR(16) NOT NULL,

    CONSTRAINT "webhook_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."idempotency_keys" (
    "tenant_id" UUID NOT NULL,
    "principal_id" VARCHAR(64) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "method" VARCHAR(8) NOT NULL,
    "path" VARCHAR(2048) NOT NULL,
    "request_hash" CHAR(64) NOT NULL,
    "response_status" INTEGER,
    "response_headers" JSONB,
    "response_body" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("tenant_id","principal_id","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "rate_plans_code_key" ON "enterprise"."rate_plans"("code");

-- CreateIndex
CREATE INDEX "operations_tenant_id_created_at_idx" ON "connectivity"."operations"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "operation_items_tenant_id_operation_id_state_idx" ON "connectivity"."operation_items"("tenant_id", "operation_id", "state");

-- CreateIndex
CREATE INDEX "sim_events_tenant_id_sim_id_at_idx" ON "connectivity"."sim_events"("tenant_id", "sim_id", "at");

-- CreateIndex
CREATE INDEX "esim_profiles_tenant_id_sim_id_created_at_idx" ON "connectivity"."esim_profiles"("tenant_id", "sim_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "esim_profiles_smdp_address_matching_id_key" ON "connectivity"."esim_profiles"("smdp_address", "matching_id");

-- CreateIndex
CREATE INDEX "devices_tenant_id_tac_idx" ON "connectivity"."devices"("tenant_id", "tac");

-- CreateIndex
CREATE INDEX "devices_tenant_id_last_seen_at_idx" ON "connectivity"."devices"("tenant_id", "last_seen_at");

-- CreateIndex
CREATE INDEX "imei_events_tenant_id_sim_id_at_idx" ON "connectivity"."imei_events"("tenant_id", "sim_id", "at");

-- CreateIndex
CREATE INDEX "network_events_tenant_id_sim_id_occurred_at_idx" ON "connectivity"."network_events"("tenant_id", "sim_id", "occurred_at");

-- CreateIndex
CREATE INDEX "alerts_tenant_id_created_at_idx" ON "connectivity"."alerts"("tenant_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "alerts_tenant_id_dedupe_key_key" ON "connectivity"."alerts"("tenant_id", "dedupe_key");

-- CreateIndex
CREATE INDEX "webhook_endpoints_tenant_id_created_at_idx" ON "enterprise"."webhook_endpoints"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_tenant_id_endpoint_id_created_at_idx" ON "connectivity"."webhook_deliveries"("tenant_id", "endpoint_id", "created_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "connectivity"."webhook_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_deliveries_endpoint_id_message_id_key" ON "connectivity"."webhook_deliveries"("endpoint_id", "message_id");

-- CreateIndex
CREATE INDEX "webhook_attempts_tenant_id_delivery_id_attempt_idx" ON "connectivity"."webhook_attempts"("tenant_id", "delivery_id", "attempt");

-- CreateIndex
CREATE INDEX "idempotency_keys_expires_at_idx" ON "enterprise"."idempotency_keys"("expires_at");

-- CreateIndex
CREATE INDEX "sims_tenant_id_rate_plan_id_idx" ON "connectivity"."sims"("tenant_id", "rate_plan_id");

-- AddForeignKey
ALTER TABLE "connectivity"."sims" ADD CONSTRAINT "sims_rate_plan_id_fkey" FOREIGN KEY ("rate_plan_id") REFERENCES "enterprise"."rate_plans"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connectivity"."operation_items" ADD CONSTRAINT "operation_items_operation_id_fkey" FOREIGN KEY ("operation_id") REFERENCES "connectivity"."operations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connectivity"."esim_profiles" ADD CONSTRAINT "esim_profiles_sim_id_fkey" FOREIGN KEY ("sim_id") REFERENCES "connectivity"."sims"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enterprise"."webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "enterprise"."tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connectivity"."webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "enterprise"."webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connectivity"."webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "connectivity"."webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;
