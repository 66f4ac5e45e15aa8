// Validation and normalisation of telecom identifiers. Pure functions, no dependencies.
//
// Every validator returns an IdResult: `{ ok: true, value }` with the normalised form, or
// `{ ok: false, reason }` with a short sentence an API layer can show next to the field name.

export type IdResult<T = string> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): IdResult<T> => ({ ok: true, value });
const fail = <T = string>(reason: string): IdResult<T> => ({ ok: false, reason });

const DIGITS = /^\d+$/;

// ───────────────────────────── Luhn (ISO/IEC 7812-1) ─────────────────────────────

/** The Luhn check digit to append to `digits` (a non-empty string of decimal digits). */
export function luhnCheckDigit(digits: string): number {
  if (!DIGITS.test(digits)) throw new TypeError("luhnCheckDigit expects a non-empty string of digits");
  let sum = 0;
  // The rightmost payload digit is doubled (it becomes the second from the right once the check digit is appended).
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when the last digit of `digits` is the Luhn check digit of the ones before it. */
export function isLuhnValid(digits: string): boolean {
  if (digits.length < 2 || !DIGITS.test(digits)) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}

// ───────────────────────────── MCC (ITU-T E.212) ─────────────────────────────

/** Shared MCC 901 ("international mobile, shared code"), used by many IoT/global SIM issuers (e.g. 901-28, 901-40). */
const SHARED_INTERNATIONAL_MCC = "901";

function mccProblem(mcc: string): string | null {
  if (mcc === SHARED_INTERNATIONAL_MCC) return null;
  const n = Number(mcc);
  if (n < 200 || n > 799) return `MCC ${mcc} is not a geographic MCC (200-799) or the shared international MCC 901`;
  return null;
}

/** MCCs whose MNCs are always 3 digits (North America: US 310-316, Canada 302, Mexico 334). */
function mncLengthOf(mcc: string): 2 | 3 | null {
  const n = Number(mcc);
  if ((n >= 310 && n <= 316) || n === 302 || n === 334) return 3;
  if (mcc === SHARED_INTERNATIONAL_MCC) return 2;
  return null;
}

// ───────────────────────────── ICCID (ITU-T E.118) ─────────────────────────────

/** ICCID: 19 or 20 digits, "89" prefix, last digit a Luhn check digit. Surrounding whitespace is ignored. */
export function validateIccid(input: string): IdResult {
  const s = input.trim();
  if (s === "") return fail("ICCID is empty");
  if (/^\d{18,19}[fF]$/.test(s)) {
    return fail("ICCID ends in an 'F' filler nibble from a hex/BCD dump; remove the trailing F");
  }
  if (!DIGITS.test(s)) return fail("ICCID must contain digits only");
  if (s.length !== 19 && s.length !== 20) return fail(`ICCID must be 19 or 20 digits long, got ${s.length}`);
  if (!s.startsWith("89")) return fail('ICCID must start with "89" (telecommunication industry identifier)');
  if (!isLuhnValid(s)) return fail("ICCID check digit (Luhn) is wrong");
  return ok(s);
}

// ───────────────────────────── IMSI (ITU-T E.212) ─────────────────────────────

/** IMSI: 14 or 15 digits, MCC 200-799 or the shared international MCC 901. */
export function validateImsi(input: string): IdResult {
  const s = input.trim();
  if (s === "") return fail("IMSI is empty");
  if (!DIGITS.test(s)) return fail("IMSI must contain digits only");
  if (s.length < 14 || s.length > 15) return fail(`IMSI must be 14 or 15 digits long, got ${s.length}`);
  const problem = mccProblem(s.slice(0, 3));
  if (problem) return fail(`IMSI has an invalid country code: ${problem}`);
  return ok(s);
}

export interface ImsiParts {
  imsi: string;
  mcc: string;
  /** null when the MNC length cannot be known without an operator table. */
  mnc: string | null;
  /** null when the MNC length cannot be known without an operator table. */
  msin: string | null;
  /** Everything after the MCC (MNC + MSIN). */
  rest: string;
}

/**
 * Validates and splits an IMSI. The MNC is 2 or 3 digits and only an operator table can tell which; pass
 * `mncLength` when you know it. Without it, MCCs whose MNCs are always 3 digits (302, 310-316, 334) and the
 * shared MCC 901 (2 digits) are split, any other IMSI gets `mnc: null, msin: null` and the MNC+MSIN in `rest`.
 */
export function parseImsi(input: string, mncLength?: 2 | 3): IdResult<ImsiParts> {
  const v = validateImsi(input);
  if (!v.ok) return v;
  const imsi = v.value;
  const mcc = imsi.slice(0, 3);
  const rest = imsi.slice(3);
  const len = mncLength ?? mncLengthOf(mcc);
  if (len === null) return ok({ imsi, mcc, mnc: null, msin: null, rest });
  return ok({ imsi, mcc, mnc: rest.slice(0, len), msin: rest.slice(len), rest });
}

// ───────────────────────────── MSISDN (ITU-T E.164) ─────────────────────────────

/**
 * MSISDN in international format: "+4915112345678", "004915112345678" or "4915112345678"; spaces, dashes and
 * parentheses are ignored, as is a "(0)" trunk prefix after the country code ("+49 (0)151 ..."). Normalised to
 * digits only without "+": 8 to 15 digits, the first (country code) not 0.
 */
export function validateMsisdn(input: string): IdResult {
  let s = input.trim();
  if (s === "") return fail("MSISDN is empty");
  const international = s.startsWith("+") || s.startsWith("00");
  if (international) s = s.replace(/\(\s*0\s*\)/g, "");
  s = s.replace(/[\s\-()]/g, "");
  if (s.startsWith("+")) s = s.slice(1);
  else if (s.startsWith("00")) s = s.slice(2);
  if (!DIGITS.test(s)) return fail('MSISDN may only contain digits, a leading "+", spaces, dashes and parentheses');
  if (s.startsWith("0")) return fail("MSISDN must be in international format (country code first, not a leading 0)");
  if (s.length < 8 || s.length > 15) return fail(`MSISDN must be 8 to 15 digits long, got ${s.length}`);
  return ok(s);
}

// ───────────────────────────── EID (GSMA SGP.29) ─────────────────────────────

/** `digits` mod 97, computed in chunks so it works on any length without BigInt. */
function mod97(digits: string): number {
  let r = 0;
  for (let i = 0; i < digits.length; i += 7) r = Number(String(r) + digits.slice(i, i + 7)) % 97;
  return r;
}

/** The two ISO/IEC 7064 MOD 97-10 check digits that complete a 30-digit EID prefix. */
export function eidCheckDigits(first30: string): string {
  if (!/^\d{30}$/.test(first30)) throw new TypeError("eidCheckDigits expects exactly 30 digits");
  return String(98 - mod97(first30 + "00")).padStart(2, "0");
}

/** EID: 32 digits, "89" prefix, the whole number mod 97 equal to 1. Surrounding whitespace is ignored. */
export function validateEid(input: string): IdResult {
  const s = input.trim();
  if (s === "") return fail("EID is empty");
  if (!DIGITS.test(s)) return fail("EID must contain digits only");
  if (s.length !== 32) return fail(`EID must be 32 digits long, got ${s.length}`);
  if (!s.startsWith("89")) return fail('EID must start with "89"');
  if (mod97(s) !== 1) return fail("EID check digits (ISO/IEC 7064 MOD 97-10) are wrong");
  return ok(s);
}

// ───────────────────────────── IMEI (3GPP TS 23.003) ─────────────────────────────

/**
 * IMEI: 15 digits with a Luhn check digit; a 16-digit IMEISV (14 digits + 2-digit software version) is
 * normalised to its IMEI (first 14 digits + computed check digit). Spaces and dashes are ignored.
 */
export function validateImei(input: string): IdResult {
  const s = input.trim().replace(/[\s-]/g, "");
  if (s === "") return fail("IMEI is empty");
  if (!DIGITS.test(s)) return fail("IMEI must contain digits only");
  if (s.length === 16) return ok(s.slice(0, 14) + luhnCheckDigit(s.slice(0, 14)));
  if (s.length !== 15) return fail(`IMEI must be 15 digits (or a 16-digit IMEISV), got ${s.length}`);
  if (!isLuhnValid(s)) return fail("IMEI check digit (Luhn) is wrong");
  return ok(s);
}

/** The Type Allocation Code (first 8 digits) of an IMEI, IMEISV or 14-digit IMEI without check digit. */
export function tacOf(imei: string): string {
  const s = imei.trim().replace(/[\s-]/g, "");
  if (!/^\d{14,16}$/.test(s)) throw new TypeError("tacOf expects an IMEI (14-16 digits)");
  return s.slice(0, 8);
}

// ───────────────────────────── Network code (MCC-MNC) ─────────────────────────────

/** "262-01", "26201", "262 01", "310-410", "310410" → "MCC-MNC" ("262-01", "310-410"). */
export function validateNetworkCode(input: string): IdResult {
  const s = input.trim();
  const m = /^(\d{3})[-\s/]?(\d{2,3})$/.exec(s);
  if (!m) return fail('network code must be an MCC (3 digits) and an MNC (2-3 digits), e.g. "262-01"');
  const [, mcc = "", mnc = ""] = m;
  const problem = mccProblem(mcc);
  if (problem) return fail(`network code has an invalid country code: ${problem}`);
  return ok(`${mcc}-${mnc}`);
}

// ───────────────────────────── Generators ─────────────────────────────

/** Completes an 18- or 19-digit ICCID prefix ("89...") with its Luhn check digit. */
export function makeIccid(prefix18or19: string): string {
  if (!/^89\d{16,17}$/.test(prefix18or19)) throw new TypeError('makeIccid expects 18 or 19 digits starting with "89"');
  return prefix18or19 + luhnCheckDigit(prefix18or19);
}

/** Completes a 30-digit EID prefix ("89...") with its MOD 97-10 check digits. */
export function makeEid(first30: string): string {
  if (!/^89\d{28}$/.test(first30)) throw new TypeError('makeEid expects 30 digits starting with "89"');
  return first30 + eidCheckDigits(first30);
}

/** Completes a 14-digit IMEI (TAC + serial) with its Luhn check digit. */
export function makeImei(first14: string): string {
  if (!/^\d{14}$/.test(first14)) throw new TypeError("makeImei expects exactly 14 digits");
  return first14 + luhnCheckDigit(first14);
}
