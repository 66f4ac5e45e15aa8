import type { InvoiceView } from "./invoices.schemas.js";

/**
 * How the invoice PDF writes things: amounts, dates, addresses. The amounts come from the view as exact decimal
 * strings and are only regrouped here, never through a float.
 */

/** "1234567.50" -> "1,234,567.50", "-5.00" -> "-5.00": thousands grouped, digits untouched. */
export function groupAmount(amount: string): string {
  const negative = amount.startsWith("-");
  const [whole = "0", fraction] = (negative ? amount.slice(1) : amount).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}${fraction !== undefined ? `.${fraction}` : ""}`;
}

const regions = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });

/** "PL" -> "Poland"; an unknown code prints as given. */
export function countryName(code: string): string {
  try {
    return regions.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** A party's postal address as printed lines: street lines, "postal code city", region, country. */
export function addressLines(party: InvoiceView["supplier"]): string[] {
  // Snapshots are taken from what was on record; an incomplete one prints what it has.
  const a: Partial<InvoiceView["supplier"]["address"]> = party.address ?? {};
  const lines = [a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(" "), a.region, a.country || party.country ? countryName(a.country || party.country) : ""];
  return lines.map((l) => (l ?? "").trim()).filter(Boolean);
}

/** Whole days from one ISO date to another ("2026-12-01" -> "2026-12-31" = 30). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** What the document is called: its title and the word before its number in running text. */
export function documentTitle(view: Pick<InvoiceView, "kind">): string {
  return view.kind === "credit_note" ? "Credit note" : "Invoice";
}

export const DRAFT_MARK = "DRAFT – not a valid invoice";

/**
 * Breaks `text` into lines no wider than `width` by the measure given (the PDF font's), at spaces; a word wider
 * than a whole line is cut between characters. Empty text is one empty line. Each word is measured once (the
 * common case, text that fits, costs one measure of the whole), since measuring is most of a long invoice's cost.
 */
export function wrapText(text: string, width: number, measure: (s: string) => number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length === 0) return [""];
  const single = words.join(" ");
  if (measure(single) <= width) return [single];
  const space = measure(" ");
  const lines: string[] = [];
  let line = "";
  let lineWidth = 0;
  for (const word of words) {
    const w = measure(word);
    if (line && lineWidth + space + w <= width) {
      line += ` ${word}`;
      lineWidth += space + w;
      continue;
    }
    if (line) lines.push(line);
    if (w <= width) {
      line = word;
      lineWidth = w;
      continue;
    }
    let rest = word;
    while (measure(rest) > width && rest.length > 1) {
      let cut = rest.length - 1;
      while (cut > 1 && measure(rest.slice(0, cut)) > width) cut--;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    line = rest;
    lineWidth = measure(rest);
  }
  if (line) lines.push(line);
  return lines;
}
