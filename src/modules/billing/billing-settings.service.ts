import { Prisma } from "../../generated/prisma/client.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { ValidationError, type FieldError } from "../../platform/errors.js";
import { authorize } from "../access/authorize.js";
import { principalId, type Actor } from "../access/principal.js";
import { appendAudit } from "../audit/audit.writer.js";
import { normaliseVatId } from "../billing-profile/billing-profile.service.js";
import { loadBillingSettings, type EffectiveBillingSettings } from "./billing-settings.js";
import type { BillingSettingsBody, BillingSettingsView } from "./billing-settings.schemas.js";
import { BIC, isValidIban, normaliseIban } from "./iban.js";
import { isEuCountry } from "./vat.js";

export type BillingSettingsService = ReturnType<typeof createBillingSettingsService>;

/** The saved row as the service writes it (and the audit compares). */
interface SettingsData {
  issuerLegalName: string;
  issuerAddress: BillingSettingsBody["issuer"]["address"];
  issuerCountry: string;
  issuerVatId: string | null;
  issuerEmail: string | null;
  bankDetails: { iban: string; bic: string | null; bankName: string | null } | null;
  paymentTermsDays: number;
  invoicePrefix: string;
  creditNotePrefix: string;
  autoIssue: boolean;
  runDelayHours: number;
  vatRateOverrides: Record<string, string>;
}

/** What the body means, checked beyond its schema (checksums, EU membership); every problem listed at once. */
function settingsFrom(body: BillingSettingsBody): SettingsData {
  const errors: FieldError[] = [];
  const vatId = body.issuer.vatId ? normaliseVatId(body.issuer.vatId) : null;
  if (body.issuer.vatId && !vatId) errors.push({ field: "/body/issuer/vatId", reason: "must be a two-letter country prefix and 2-13 letters or digits" });
  let bankDetails: SettingsData["bankDetails"] = null;
  if (body.bankDetails) {
    const iban = normaliseIban(body.bankDetails.iban);
    if (!isValidIban(iban)) errors.push({ field: "/body/bankDetails/iban", reason: "is not a valid IBAN (ISO 13616 check digits)" });
    const bic = body.bankDetails.bic ? body.bankDetails.bic.toUpperCase() : null;
    if (bic !== null && !BIC.test(bic)) errors.push({ field: "/body/bankDetails/bic", reason: "must be a SWIFT BIC of 8 or 11 characters" });
    bankDetails = { iban, bic, bankName: body.bankDetails.bankName?.trim() || null };
  }
  const overrides = body.vatRateOverrides ?? {};
  for (const [country, rate] of Object.entries(overrides)) {
    if (!isEuCountry(country)) errors.push({ field: `/body/vatRateOverrides/${country}`, reason: "is not an EU member state (VAT overrides apply to EU countries only)" });
    else if (Number(rate) > 50) errors.push({ field: `/body/vatRateOverrides/${country}`, reason: "must be at most 50.00" });
  }
  const invoicePrefix = body.invoicePrefix ?? "INV";
  const creditNotePrefix = body.creditNotePrefix ?? "CN";
  // Numbers are unique across both series: one prefix for both would make an invoice and a credit note collide.
  if (invoicePrefix === creditNotePrefix) errors.push({ field: "/body/creditNotePrefix", reason: "must differ from invoicePrefix" });
  if (errors.length) throw new ValidationError(errors.map((e) => `${e.field} ${e.reason}`).join("; "), errors);
  return {
    issuerLegalName: body.issuer.legalName.trim(),
    issuerAddress: body.issuer.address,
    issuerCountry: body.issuer.country,
    issuerVatId: vatId,
    issuerEmail: body.issuer.email?.trim().toLowerCase() || null,
    bankDetails,
    paymentTermsDays: body.paymentTermsDays ?? 30,
    invoicePrefix,
    creditNotePrefix,
    autoIssue: body.autoIssue ?? true,
    runDelayHours: body.runDelayHours ?? 24,
    vatRateOverrides: Object.fromEntries(Object.entries(overrides).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** JSON with object keys sorted (jsonb reorders keys), for telling what a change changed. */
function canonical(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function toView(s: EffectiveBillingSettings, meta: { updatedAt: Date; updatedBy: string | null } | null): BillingSettingsView {
  const bank = s.issuer.bankDetails ?? null;
  return {
    configured: s.configured,
    issuer: { legalName: s.issuer.legalName, address: s.issuer.address, country: s.issuer.country, vatId: s.issuer.vatId, email: s.issuer.email },
    bankDetails: bank ? { iban: bank.iban, bic: bank.bic ?? null, bankName: bank.bankName ?? null } : null,
    paymentTermsDays: s.paymentTermsDays,
    invoicePrefix: s.invoicePrefix,
    creditNotePrefix: s.creditNotePrefix,
    autoIssue: s.autoIssue,
    runDelayHours: s.runDelayHours,
    vatRateOverrides: s.vatRateOverrides,
    updatedAt: meta?.updatedAt.toISOString() ?? null,
    updatedBy: meta?.updatedBy ?? null,
  };
}

/**
 * The issuer's details and billing policy (platform owners, admins and billing staff). Invoices snapshot the
 * issuer when drafted, so a change shows on invoices made afterwards only; prefixes start new number series.
 */
export function createBillingSettingsService(deps: { prisma: PrismaClient }) {
  const { prisma } = deps;
  const meta = () => prisma.billingSettings.findUnique({ where: { id: 1 }, select: { updatedAt: true, updatedBy: true } });

  return {
    async get(actor: Actor): Promise<BillingSettingsView> {
      authorize(actor, "read", "BillingSettings");
      return toView(await loadBillingSettings(prisma), await meta());
    },

    async put(actor: Actor, body: BillingSettingsBody): Promise<BillingSettingsView> {
      const principal = authorize(actor, "update", "BillingSettings");
      const data = settingsFrom(body);
      const by = principalId(principal);
      await prisma.$transaction(async (tx) => {
        // Locked (or its absence claimed by the upsert's key), so `before` is what this change replaced.
        const [before] = await tx.$queryRaw<Array<Record<string, unknown>>>`
          SELECT issuer_legal_name AS "issuerLegalName", issuer_address AS "issuerAddress", issuer_country AS "issuerCountry",
                 issuer_vat_id AS "issuerVatId", issuer_email AS "issuerEmail", bank_details AS "bankDetails",
                 payment_terms_days AS "paymentTermsDays", invoice_prefix AS "invoicePrefix", credit_note_prefix AS "creditNotePrefix",
                 auto_issue AS "autoIssue", run_delay_hours AS "runDelayHours", vat_rate_overrides AS "vatRateOverrides"
            FROM enterprise.billing_settings WHERE id = 1 FOR UPDATE`;
        const row = { ...data, bankDetails: data.bankDetails ?? Prisma.DbNull, updatedBy: by };
        await tx.billingSettings.upsert({ where: { id: 1 }, create: { id: 1, ...row }, update: row });
        const changed = (Object.keys(data) as Array<keyof SettingsData>).filter((k) => canonical(before?.[k]) !== canonical(data[k]));
        await appendAudit(tx, actor, {
          tenantId: principal.tenantId,
          action: "billing_settings.updated",
          targetType: "billing_settings",
          targetId: "1",
          data: { first: !before, changed, ...(changed.includes("invoicePrefix") && { invoicePrefix: data.invoicePrefix }), ...(changed.includes("creditNotePrefix") && { creditNotePrefix: data.creditNotePrefix }) },
        });
      });
      return toView(await loadBillingSettings(prisma), await meta());
    },
  };
}
