-- CreateEnum
CREATE TYPE "enterprise"."DataAllowance" AS ENUM ('per_sim', 'pooled');

-- CreateEnum
CREATE TYPE "enterprise"."InvoiceKind" AS ENUM ('invoice', 'credit_note');

-- CreateEnum
CREATE TYPE "enterprise"."InvoiceStatus" AS ENUM ('draft', 'issued', 'paid', 'void');

-- CreateEnum
CREATE TYPE "enterprise"."VatTreatment" AS ENUM ('standard', 'reverse_charge', 'outside_scope');

-- CreateEnum
CREATE TYPE "enterprise"."BillingRunStatus" AS ENUM ('queued', 'running', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "enterprise"."PaymentMethod" AS ENUM ('bank_transfer', 'card', 'direct_debit', 'other');

-- CreateTable
CREATE TABLE "enterprise"."rate_plan_versions" (
    "id" UUID NOT NULL,
    "rate_plan_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "effective_from" DATE NOT NULL,
    "monthly_fee" DECIMAL(18,6) NOT NULL,
    "suspended_fee" DECIMAL(18,6) NOT NULL DEFAULT 0,
    "prorate" BOOLEAN NOT NULL DEFAULT false,
    "included_bytes" BIGINT NOT NULL DEFAULT 0,
    "data_allowance" "enterprise"."DataAllowance" NOT NULL DEFAULT 'per_sim',
    "overage_per_mb" DECIMAL(18,6) NOT NULL DEFAULT 0,
    "sms_mo_price" DECIMAL(18,6) NOT NULL DEFAULT 0,
    "sms_mt_price" DECIMAL(18,6) NOT NULL DEFAULT 0,
    "activation_fee" DECIMAL(18,6) NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" VARCHAR(64),

    CONSTRAINT "rate_plan_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connectivity"."sim_rate_plan_assignments" (
    "sim_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "rate_plan_id" UUID NOT NULL,
    "effective_from" DATE NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "actor_type" VARCHAR(16) NOT NULL,
    "actor_id" VARCHAR(64),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sim_rate_plan_assignments_pkey" PRIMARY KEY ("sim_id","effective_from")
);

-- CreateTable
CREATE TABLE "enterprise"."billing_settings" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "issuer_legal_name" VARCHAR(200) NOT NULL,
    "issuer_address" JSONB NOT NULL,
    "issuer_country" CHAR(2) NOT NULL,
    "issuer_vat_id" VARCHAR(32),
    "issuer_email" VARCHAR(254),
    "bank_details" JSONB,
    "payment_terms_days" INTEGER NOT NULL DEFAULT 30,
    "invoice_prefix" VARCHAR(10) NOT NULL DEFAULT 'INV',
    "credit_note_prefix" VARCHAR(10) NOT NULL DEFAULT 'CN',
    "auto_issue" BOOLEAN NOT NULL DEFAULT true,
    "run_delay_hours" INTEGER NOT NULL DEFAULT 24,
    "vat_rate_overrides" JSONB NOT NULL DEFAULT '{}',
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_by" VARCHAR(64),

    CONSTRAINT "billing_settings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."invoice_series" (
    "code" VARCHAR(20) NOT NULL,
    "next_number" INTEGER NOT NULL DEFAULT 1,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "invoice_series_pkey" PRIMARY KEY ("code")
);

-- CreateTable
CREATE TABLE "enterprise"."invoices" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "kind" "enterprise"."InvoiceKind" NOT NULL DEFAULT 'invoice',
    "status" "enterprise"."InvoiceStatus" NOT NULL DEFAULT 'draft',
    "series" VARCHAR(20),
    "number" VARCHAR(32),
    "period_start" DATE NOT NULL,
    "period_end" DATE NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "issue_date" DATE,
    "due_date" DATE,
    "supplier" JSONB NOT NULL,
    "customer" JSONB NOT NULL,
    "vat_treatment" "enterprise"."VatTreatment" NOT NULL,
    "vat_note" VARCHAR(500),
    "vat_breakdown" JSONB NOT NULL DEFAULT '[]',
    "net_minor" BIGINT NOT NULL DEFAULT 0,
    "vat_minor" BIGINT NOT NULL DEFAULT 0,
    "total_minor" BIGINT NOT NULL DEFAULT 0,
    "paid_minor" BIGINT NOT NULL DEFAULT 0,
    "credited_invoice_id" UUID,
    "reason" VARCHAR(500),
    "billing_run_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "issued_at" TIMESTAMPTZ(3),
    "paid_at" TIMESTAMPTZ(3),
    "voided_at" TIMESTAMPTZ(3),
    "void_reason" VARCHAR(500),

    CONSTRAINT "invoices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."invoice_lines" (
    "id" UUID NOT NULL,
    "invoice_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "kind" VARCHAR(24) NOT NULL,
    "description" VARCHAR(300) NOT NULL,
    "rate_plan_id" UUID,
    "rate_plan_version" INTEGER,
    "quantity" DECIMAL(24,6) NOT NULL,
    "unit" VARCHAR(16) NOT NULL,
    "unit_price" DECIMAL(18,6) NOT NULL,
    "net_minor" BIGINT NOT NULL,
    "vat_rate" DECIMAL(5,2) NOT NULL,
    "adjusts_period" DATE,

    CONSTRAINT "invoice_lines_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."invoice_sim_charges" (
    "invoice_id" UUID NOT NULL,
    "sim_id" UUID NOT NULL,
    "iccid" VARCHAR(20) NOT NULL,
    "rate_plan_id" UUID NOT NULL,
    "usage_period" DATE NOT NULL,
    "billable_days" INTEGER NOT NULL DEFAULT 0,
    "suspended_days" INTEGER NOT NULL DEFAULT 0,
    "activated" BOOLEAN NOT NULL DEFAULT false,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "included_bytes" BIGINT NOT NULL DEFAULT 0,
    "overage_bytes" BIGINT NOT NULL DEFAULT 0,
    "sms_mo" INTEGER NOT NULL DEFAULT 0,
    "sms_mt" INTEGER NOT NULL DEFAULT 0,
    "fee_amount" DECIMAL(24,6) NOT NULL DEFAULT 0,
    "activation_amount" DECIMAL(24,6) NOT NULL DEFAULT 0,
    "overage_amount" DECIMAL(24,6) NOT NULL DEFAULT 0,
    "sms_amount" DECIMAL(24,6) NOT NULL DEFAULT 0,

    CONSTRAINT "invoice_sim_charges_pkey" PRIMARY KEY ("invoice_id","sim_id","rate_plan_id","usage_period")
);

-- CreateTable
CREATE TABLE "enterprise"."invoice_documents" (
    "invoice_id" UUID NOT NULL,
    "pdf" BYTEA NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "rendered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "invoice_documents_pkey" PRIMARY KEY ("invoice_id")
);

-- CreateTable
CREATE TABLE "enterprise"."payments" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "invoice_id" UUID NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "received_on" DATE NOT NULL,
    "method" "enterprise"."PaymentMethod" NOT NULL,
    "reference" VARCHAR(100) NOT NULL,
    "source" VARCHAR(16) NOT NULL,
    "import_id" UUID,
    "note" VARCHAR(500),
    "actor_type" VARCHAR(16) NOT NULL,
    "actor_id" VARCHAR(64),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."billing_contacts" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "email" VARCHAR(254) NOT NULL,
    "phone" VARCHAR(32),
    "receives_invoices" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "billing_contacts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."billing_runs" (
    "id" UUID NOT NULL,
    "period_start" DATE NOT NULL,
    "tenant_id" UUID,
    "status" "enterprise"."BillingRunStatus" NOT NULL DEFAULT 'queued',
    "trigger" VARCHAR(16) NOT NULL,
    "tenants_total" INTEGER NOT NULL DEFAULT 0,
    "tenants_done" INTEGER NOT NULL DEFAULT 0,
    "invoices_created" INTEGER NOT NULL DEFAULT 0,
    "tenants_skipped" INTEGER NOT NULL DEFAULT 0,
    "tenants_failed" INTEGER NOT NULL DEFAULT 0,
    "error" VARCHAR(500),
    "actor_type" VARCHAR(16) NOT NULL,
    "actor_id" VARCHAR(64),
    "request_id" VARCHAR(64),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "billing_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enterprise"."billing_run_tenants" (
    "run_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "state" VARCHAR(16) NOT NULL DEFAULT 'pending',
    "invoice_ids" UUID[] DEFAULT ARRAY[]::UUID[],
    "error" VARCHAR(500),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "billing_run_tenants_pkey" PRIMARY KEY ("run_id","tenant_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "rate_plan_versions_rate_plan_id_version_key" ON "enterprise"."rate_plan_versions"("rate_plan_id", "version");

-- CreateIndex
CREATE UNIQUE INDEX "rate_plan_versions_rate_plan_id_effective_from_key" ON "enterprise"."rate_plan_versions"("rate_plan_id", "effective_from");

-- CreateIndex
CREATE INDEX "sim_rate_plan_assignments_tenant_id_effective_from_idx" ON "connectivity"."sim_rate_plan_assignments"("tenant_id", "effective_from");

-- CreateIndex
CREATE UNIQUE INDEX "invoices_number_key" ON "enterprise"."invoices"("number");

-- CreateIndex
CREATE INDEX "invoices_tenant_id_created_at_idx" ON "enterprise"."invoices"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "invoices_tenant_id_period_start_idx" ON "enterprise"."invoices"("tenant_id", "period_start");

-- CreateIndex
CREATE INDEX "invoices_status_due_date_idx" ON "enterprise"."invoices"("status", "due_date");

-- CreateIndex
CREATE INDEX "invoices_credited_invoice_id_idx" ON "enterprise"."invoices"("credited_invoice_id");

-- CreateIndex
CREATE UNIQUE INDEX "invoice_lines_invoice_id_position_key" ON "enterprise"."invoice_lines"("invoice_id", "position");

-- CreateIndex
CREATE INDEX "invoice_sim_charges_sim_id_usage_period_idx" ON "enterprise"."invoice_sim_charges"("sim_id", "usage_period");

-- CreateIndex
CREATE INDEX "payments_tenant_id_received_on_idx" ON "enterprise"."payments"("tenant_id", "received_on");

-- CreateIndex
CREATE INDEX "payments_invoice_id_idx" ON "enterprise"."payments"("invoice_id");

-- CreateIndex
CREATE UNIQUE INDEX "payments_tenant_id_reference_key" ON "enterprise"."payments"("tenant_id", "reference");

-- CreateIndex
CREATE UNIQUE INDEX "billing_contacts_tenant_id_email_key" ON "enterprise"."billing_contacts"("tenant_id", "email");

-- CreateIndex
CREATE INDEX "billing_runs_period_start_created_at_idx" ON "enterprise"."billing_runs"("period_start", "created_at");

-- AddForeignKey
ALTER TABLE "enterprise"."rate_plan_versions" ADD CONSTRAINT "rate_plan_versions_rate_plan_id_fkey" FOREIGN KEY ("rate_plan_id") REFERENCES "enterprise"."rate_plans"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enterprise"."invoices" ADD CONSTRAINT "invoices_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "enterprise"."tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enterprise"."invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_fkey" FOREIGN KEY ("invoice_id") REFERENCES "enterprise"."invoices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enterprise"."payments" ADD CONSTRAINT "payments_invoice_id_fkey" FOREIGN KEY ("invoice_id") REFERENCES "enterprise"."invoices"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Hand-written: exactly one live invoice per tenant, period and currency. A re-run or a concurrent run that
-- reaches the insert second fails here even if its own check raced (a voided invoice frees the period).
CREATE UNIQUE INDEX "invoices_one_per_period_idx" ON "enterprise"."invoices" ("tenant_id", "period_start", "currency")
  WHERE "kind" = 'invoice' AND "status" <> 'void';

-- Hand-written: one scheduled run per period (the hourly scheduler may fire on several instances).
CREATE UNIQUE INDEX "billing_runs_scheduled_period_idx" ON "enterprise"."billing_runs" ("period_start") WHERE "trigger" = 'schedule';

-- Hand-written: issued invoices are immutable. Once out of draft only the status (issued -> paid | void,
-- paid -> issued when a payment is reversed), the paid amount and the void details may change; nothing is
-- deleted. SQLSTATE 55000 (object_not_in_prerequisite_state) lets the services answer 409.
CREATE FUNCTION "enterprise"."invoices_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN
      RAISE EXCEPTION 'invoice % is %: only drafts can be deleted', OLD.id, OLD.status USING ERRCODE = '55000';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status = 'draft' THEN RETURN NEW; END IF;
  IF NEW.status = 'draft' OR (OLD.status = 'void' AND NEW.status <> 'void') THEN
    RAISE EXCEPTION 'invoice % cannot go from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = '55000';
  END IF;
  IF (NEW.tenant_id, NEW.kind, NEW.series, NEW.number, NEW.period_start, NEW.period_end, NEW.currency, NEW.issue_date,
      NEW.due_date, NEW.supplier, NEW.customer, NEW.vat_treatment, NEW.vat_note, NEW.vat_breakdown, NEW.net_minor,
      NEW.vat_minor, NEW.total_minor, NEW.credited_invoice_id, NEW.reason, NEW.billing_run_id, NEW.issued_at, NEW.created_at)
     IS DISTINCT FROM
     (OLD.tenant_id, OLD.kind, OLD.series, OLD.number, OLD.period_start, OLD.period_end, OLD.currency, OLD.issue_date,
      OLD.due_date, OLD.supplier, OLD.customer, OLD.vat_treatment, OLD.vat_note, OLD.vat_breakdown, OLD.net_minor,
      OLD.vat_minor, OLD.total_minor, OLD.credited_invoice_id, OLD.reason, OLD.billing_run_id, OLD.issued_at, OLD.created_at) THEN
    RAISE EXCEPTION 'invoice % is %: its content is immutable', OLD.id, OLD.status USING ERRCODE = '55000';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER "invoices_immutable" BEFORE UPDATE OR DELETE ON "enterprise"."invoices"
  FOR EACH ROW EXECUTE FUNCTION "enterprise"."invoices_immutable"();

-- Lines and per-SIM charges belong to their invoice's content: written only while it is a draft. Statement-level
-- triggers with transition tables check a whole bulk insert (a thousand SIMs' charges) with one join.
CREATE FUNCTION "enterprise"."invoice_children_guard_new"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_rows n JOIN "enterprise"."invoices" i ON i.id = n.invoice_id WHERE i.status <> 'draft') THEN
    RAISE EXCEPTION '%: the invoice is no longer a draft', TG_TABLE_NAME USING ERRCODE = '55000';
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION "enterprise"."invoice_children_guard_old"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM old_rows o JOIN "enterprise"."invoices" i ON i.id = o.invoice_id WHERE i.status <> 'draft') THEN
    RAISE EXCEPTION '%: the invoice is no longer a draft', TG_TABLE_NAME USING ERRCODE = '55000';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER "invoice_lines_insert_guard" AFTER INSERT ON "enterprise"."invoice_lines"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "enterprise"."invoice_children_guard_new"();
CREATE TRIGGER "invoice_lines_update_guard" AFTER UPDATE ON "enterprise"."invoice_lines"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "enterprise"."invoice_children_guard_old"();
CREATE TRIGGER "invoice_lines_delete_guard" AFTER DELETE ON "enterprise"."invoice_lines"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "enterprise"."invoice_children_guard_old"();
CREATE TRIGGER "invoice_sim_charges_insert_guard" AFTER INSERT ON "enterprise"."invoice_sim_charges"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "enterprise"."invoice_children_guard_new"();
CREATE TRIGGER "invoice_sim_charges_update_guard" AFTER UPDATE ON "enterprise"."invoice_sim_charges"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "enterprise"."invoice_children_guard_old"();
CREATE TRIGGER "invoice_sim_charges_delete_guard" AFTER DELETE ON "enterprise"."invoice_sim_charges"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "enterprise"."invoice_children_guard_old"();

-- A rendered PDF is the issued document: never rewritten or removed.
CREATE FUNCTION "enterprise"."invoice_documents_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'invoice document % is immutable', OLD.invoice_id USING ERRCODE = '55000';
END $$;
CREATE TRIGGER "invoice_documents_immutable" BEFORE UPDATE OR DELETE ON "enterprise"."invoice_documents"
  FOR EACH ROW EXECUTE FUNCTION "enterprise"."invoice_documents_immutable"();

-- Hand-written backfill: SIMs allocated before plan history existed are on their plan since their allocation.
INSERT INTO "connectivity"."sim_rate_plan_assignments" ("sim_id", "tenant_id", "rate_plan_id", "effective_from", "kind", "actor_type")
SELECT s.id, s.tenant_id, s.rate_plan_id,
       (COALESCE((SELECT min(e.at) FROM "connectivity"."sim_events" e WHERE e.sim_id = s.id AND e.kind = 'allocated'), s.created_at) AT TIME ZONE 'UTC')::date,
       'allocation', 'system'
FROM "connectivity"."sims" s
WHERE s.rate_plan_id IS NOT NULL;
