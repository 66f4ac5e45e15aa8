import t from "tap";
import { addressLines, countryName, daysBetween, groupAmount, wrapText } from "../../src/modules/invoices/invoice-pdf-text.js";

/** How the PDF writes amounts, addresses and wrapped text: digits are regrouped, never recomputed. */

t.test("amounts are grouped by thousands without touching a digit", async (t) => {
  t.equal(groupAmount("0.00"), "0.00");
  t.equal(groupAmount("999.99"), "999.99");
  t.equal(groupAmount("1234567.50"), "1,234,567.50");
  t.equal(groupAmount("-1234.05"), "-1,234.05");
  t.equal(groupAmount("1200"), "1,200", "a currency without minor units (JPY)");
  t.equal(groupAmount("12345678901234567.891"), "12,345,678,901,234,567.891", "beyond 2^53 and three places (KWD)");
});

t.test("addresses: street, postal code and city, region, the country's English name", async (t) => {
  t.same(addressLines({ legalName: "X", address: { line1: "ul. Piotrkowska 104", line2: "lok. 5", postalCode: "90-926", city: "Łódź", region: "łódzkie", country: "PL" }, country: "PL", vatId: null, email: null }), ["ul. Piotrkowska 104", "lok. 5", "90-926 Łódź", "łódzkie", "Poland"]);
  t.same(addressLines({ legalName: "X", address: { line1: "", postalCode: "", city: "", country: "" }, country: "DE", vatId: null, email: null }), ["Germany"], "an incomplete snapshot prints what it has");
  t.equal(countryName("hu"), "Hungary");
  t.equal(countryName("XK"), "Kosovo");
  t.equal(daysBetween("2026-12-01", "2026-12-31"), 30);
});

t.test("wrapping: at spaces within the width, a word longer than a line cut between characters", async (t) => {
  const measure = (s: string) => s.length; // one unit per character
  t.same(wrapText("short text", 20, measure), ["short text"]);
  t.same(wrapText("one two three four", 9, measure), ["one two", "three", "four"]);
  t.same(wrapText("abcdefghijkl xy", 5, measure), ["abcde", "fghij", "kl xy"]);
  t.same(wrapText("   ", 5, measure), [""], "blank text is one empty line");
});
