import type { Db } from "../../platform/db/database.js";

/** A party on an invoice, as snapshotted into it when the draft is made (invoices.supplier / .customer). */
export interface InvoiceParty {
  legalName: string;
  address: { line1: string; line2?: string; postalCode: string; city: string; region?: string; country: string };
  country: string;
  vatId: string | null;
  email: string | null;
  bankDetails?: { iban: string; bic?: string; bankName?: string } | null;
}

export interface EffectiveBillingSettings {
  issuer: InvoiceParty;
  paymentTermsDays: number;
  invoicePrefix: string;
  creditNotePrefix: string;
  autoIssue: boolean;
  runDelayHours: number;
  vatRateOverrides: Record<string, string>;
  /** false until staff saved settings: the issuer is then the platform tenant's own record. */
  configured: boolean;
}

/**
 * The billing settings in force: the saved row, or defaults drawn from the platform tenant (its legal name,
 * address, country and VAT id) until staff save their own (PUT /v1/billing/settings).
 */
export async function loadBillingSettings(db: Db): Promise<EffectiveBillingSettings> {
  const row = await db.billingSettings.findUnique({ where: { id: 1 } });
  if (row) {
    return {
      issuer: {
        legalName: row.issuerLegalName,
        address: row.issuerAddress as unknown as InvoiceParty["address"],
        country: row.issuerCountry,
        vatId: row.issuerVatId,
        email: row.issuerEmail,
        bankDetails: (row.bankDetails ?? null) as InvoiceParty["bankDetails"],
      },
      paymentTermsDays: row.paymentTermsDays,
      invoicePrefix: row.invoicePrefix,
      creditNotePrefix: row.creditNotePrefix,
      autoIssue: row.autoIssue,
      runDelayHours: row.runDelayHours,
      vatRateOverrides: row.vatRateOverrides as Record<string, string>,
      configured: true,
    };
  }
  const platform = await db.tenant.findFirst({ where: { kind: "platform" }, orderBy: { createdAt: "asc" } });
  const address = (platform?.billingAddress ?? {}) as Partial<InvoiceParty["address"]>;
  return {
    issuer: {
      legalName: platform?.legalName ?? "Conekt",
      address: { line1: address.line1 ?? "", postalCode: address.postalCode ?? "", city: address.city ?? "", country: address.country ?? platform?.country ?? "DE", ...(address.line2 ? { line2: address.line2 } : {}) },
      country: platform?.country ?? "DE",
      vatId: platform?.vatId ?? null,
      email: platform?.billingEmail ?? null,
      bankDetails: null,
    },
    paymentTermsDays: 30,
    invoicePrefix: "INV",
    creditNotePrefix: "CN",
    autoIssue: true,
    runDelayHours: 24,
    vatRateOverrides: {},
    configured: false,
  };
}

/** The customer snapshot of a tenant. */
export function customerParty(t: { legalName: string; billingAddress: unknown; country: string; vatId: string | null; billingEmail: string | null }): InvoiceParty {
  const a = (t.billingAddress ?? {}) as InvoiceParty["address"];
  return { legalName: t.legalName, address: a, country: t.country, vatId: t.vatId, email: t.billingEmail };
}

/**
 * What an invoice needs of its issuer (EU VAT Directive, Art. 226): legal name, full address and VAT id. The
 * bootstrap's platform tenant carries placeholders ("-") until staff fill in the billing settings, and an
 * issued invoice can never be corrected in place, so nothing is issued while any of these is missing.
 */
export function missingIssuerDetails(issuer: InvoiceParty): string[] {
  const blank = (v: string | null | undefined) => !v || v.trim() === "" || v.trim() === "-";
  const missing: string[] = [];
  if (blank(issuer.legalName)) missing.push("legalName");
  if (blank(issuer.address?.line1)) missing.push("address.line1");
  if (blank(issuer.address?.postalCode)) missing.push("address.postalCode");
  if (blank(issuer.address?.city)) missing.push("address.city");
  if (blank(issuer.country)) missing.push("country");
  if (blank(issuer.vatId)) missing.push("vatId");
  return missing;
}
