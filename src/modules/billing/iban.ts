/**
 * IBAN (ISO 13616): country code, two check digits, up to 30 letters or digits; valid when the number formed by
 * moving the first four characters to the end, letters as 10..35, is 1 modulo 97. The check catches every
 * single typo and almost every swap of neighbours, which is what an IBAN printed on invoices must survive.
 */
const SHAPE = /^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/;

/** "de89 3704 0044 0532 0130 00" -> "DE89370400440532013000". */
export const normaliseIban = (text: string): string => text.replace(/\s+/g, "").toUpperCase();

export function isValidIban(iban: string): boolean {
  if (!SHAPE.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  // Digit by digit (letters as two digits), keeping the remainder small: no bigint needed.
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= "A" ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

/** SWIFT BIC: bank (4 letters), country (2), location (2), optional branch (3). */
export const BIC = /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;
