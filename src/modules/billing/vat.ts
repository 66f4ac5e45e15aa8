/**
 * EU VAT for electronic communications services (Council Directive 2006/112/EC):
 * - customer in another EU member state with a VAT id (a business): reverse charge (Art. 196), 0 % on the
 *   invoice and the statement below; the customer accounts for the VAT;
 * - any other EU customer (same country as the issuer, or a consumer/unregistered business abroad): VAT at the
 *   standard rate of the customer's country (Art. 58: telecoms are supplied where the customer is);
 * - customer outside the EU: outside the scope of EU VAT (Art. 59), 0 %.
 * The built-in standard rates can be overridden per country in the billing settings (rates change by law).
 */
export type VatTreatment = "standard" | "reverse_charge" | "outside_scope";

/** Standard VAT rates in percent, as of 2026. Greece's VAT ids use the prefix EL. */
export const EU_STANDARD_VAT_RATES: Readonly<Record<string, string>> = {
  AT: "20.00", BE: "21.00", BG: "20.00", CY: "19.00", CZ: "21.00", DE: "19.00", DK: "25.00", EE: "24.00",
  ES: "21.00", FI: "25.50", FR: "20.00", GR: "24.00", HR: "25.00", HU: "27.00", IE: "23.00", IT: "22.00",
  LT: "21.00", LU: "17.00", LV: "21.00", MT: "18.00", NL: "21.00", PL: "23.00", PT: "23.00", RO: "21.00",
  SE: "25.00", SI: "22.00", SK: "23.00",
};

export const isEuCountry = (country: string): boolean => country in EU_STANDARD_VAT_RATES;

export const REVERSE_CHARGE_NOTE =
  "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).";
export const OUTSIDE_SCOPE_NOTE = "Not subject to EU VAT: services supplied outside the EU (Article 59, Council Directive 2006/112/EC).";

export interface VatDecision {
  treatment: VatTreatment;
  /** Percent with two places, e.g. "19.00"; "0.00" for reverse charge and outside scope. */
  rate: string;
  /** The statement the invoice must carry, if any. */
  note: string | null;
}

export interface VatParty {
  country: string;
  vatId: string | null;
}

export function decideVat(issuer: VatParty, customer: VatParty, overrides: Readonly<Record<string, string>> = {}): VatDecision {
  const country = customer.country.toUpperCase();
  if (!isEuCountry(country)) return { treatment: "outside_scope", rate: "0.00", note: OUTSIDE_SCOPE_NOTE };
  if (customer.vatId && country !== issuer.country.toUpperCase()) return { treatment: "reverse_charge", rate: "0.00", note: REVERSE_CHARGE_NOTE };
  const rate = overrides[country] ?? EU_STANDARD_VAT_RATES[country]!;
  return { treatment: "standard", rate: Number(rate).toFixed(2), note: null };
}
