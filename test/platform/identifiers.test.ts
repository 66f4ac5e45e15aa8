import t from "tap";
import {
  eidCheckDigits,
  isLuhnValid,
  luhnCheckDigit,
  makeEid,
  makeIccid,
  makeImei,
  parseImsi,
  tacOf,
  validateEid,
  validateIccid,
  validateImei,
  validateImsi,
  validateMsisdn,
  validateNetworkCode,
  type IdResult,
} from "../../src/platform/identifiers.js";

/** The rejection reason, or a marker that cannot match any expected reason when the input was accepted. */
function reasonOf(r: IdResult<unknown>): string {
  return r.ok ? `<accepted as ${JSON.stringify(r.value)}>` : r.reason;
}

t.test("Luhn", async (t) => {
  // The classic Luhn example (ISO/IEC 7812-1, Wikipedia): 7992739871 → check digit 3.
  t.equal(luhnCheckDigit("7992739871"), 3);
  t.equal(isLuhnValid("79927398713"), true);
  t.equal(isLuhnValid("79927398710"), false);
  t.equal(luhnCheckDigit("49015420323751"), 8);
  t.equal(luhnCheckDigit("0"), 0);
  t.equal(luhnCheckDigit("1"), 8);
  t.equal(isLuhnValid("7"), false, "too short to carry a check digit");
  t.equal(isLuhnValid("7992739871a"), false, "letters");
  t.throws(() => luhnCheckDigit(""), TypeError);
  t.throws(() => luhnCheckDigit("12a"), TypeError);
});

t.test("ICCID", async (t) => {
  // 20 digits, Luhn verified by computation.
  t.same(validateIccid("89014103211118510720"), { ok: true, value: "89014103211118510720" });
  t.same(validateIccid("  8988303000000000002\n"), { ok: true, value: "8988303000000000002" }, "19 digits, trimmed");
  t.equal(makeIccid("8901410321111851072"), "89014103211118510720");
  t.equal(makeIccid("898830300000000000"), "8988303000000000002");
  // Hand-computed: doubled digits 1,4,8 → 2+8+7, plain 9,9 → 35, check digit 5.
  t.same(validateIccid(makeIccid("8949000000000000001")), { ok: true, value: "89490000000000000015" });

  t.match(reasonOf(validateIccid("89014103211118510721")), /check digit/, "bad check digit");
  t.match(reasonOf(validateIccid("8901410321111851072F")), /'F' filler/, "trailing F filler");
  t.match(reasonOf(validateIccid("898830300000000000f")), /'F' filler/, "trailing f filler (19 + F)");
  t.match(reasonOf(validateIccid("89014103211118A10720")), /digits only/, "letters");
  t.match(reasonOf(validateIccid("8901 4103 2111 1851 0720")), /digits only/, "inner spaces");
  t.match(reasonOf(validateIccid("890141032111185107")), /19 or 20 digits.*18/, "18 digits");
  t.match(reasonOf(validateIccid("890141032111185107205")), /19 or 20 digits.*21/, "21 digits");
  t.match(reasonOf(validateIccid("99014103211118510728")), /"89"/, "wrong prefix (Luhn-valid)");
  t.equal(isLuhnValid("99014103211118510728"), true, "the wrong-prefix vector is Luhn-valid");
  t.match(reasonOf(validateIccid("   ")), /empty/, "blank");
  t.throws(() => makeIccid("8901410321111851"), TypeError, "prefix too short");
  t.throws(() => makeIccid("990141032111185107"), TypeError, "prefix not 89");
});

t.test("IMSI", async (t) => {
  t.same(validateImsi("262011234567890"), { ok: true, value: "262011234567890" });
  t.same(validateImsi(" 90128123456789 "), { ok: true, value: "90128123456789" }, "14 digits, shared MCC 901");
  t.match(reasonOf(validateImsi("26201123456789A")), /digits only/, "letters");
  t.match(reasonOf(validateImsi("2620112345678")), /14 or 15 digits.*13/, "13 digits");
  t.match(reasonOf(validateImsi("2620112345678901")), /14 or 15 digits.*16/, "16 digits");
  t.match(reasonOf(validateImsi("001011234567890")), /MCC 001/, "test MCC 001");
  t.match(reasonOf(validateImsi("199011234567890")), /MCC 199/, "MCC below 200");
  t.match(reasonOf(validateImsi("800011234567890")), /MCC 800/, "MCC above 799");

  t.same(parseImsi("310410123456789"), {
    ok: true,
    value: { imsi: "310410123456789", mcc: "310", mnc: "410", msin: "123456789", rest: "410123456789" },
  });
  t.same(parseImsi("901281234567890"), {
    ok: true,
    value: { imsi: "901281234567890", mcc: "901", mnc: "28", msin: "1234567890", rest: "281234567890" },
  });
  t.same(parseImsi("262011234567890"), {
    ok: true,
    value: { imsi: "262011234567890", mcc: "262", mnc: null, msin: null, rest: "011234567890" },
  }, "ambiguous MNC length: mcc and the rest");
  t.same(parseImsi("262011234567890", 2), {
    ok: true,
    value: { imsi: "262011234567890", mcc: "262", mnc: "01", msin: "1234567890", rest: "011234567890" },
  });
  t.match(reasonOf(parseImsi("26201")), /14 or 15 digits/, "parseImsi of a short IMSI");
});

t.test("MSISDN", async (t) => {
  const want = { ok: true, value: "4915112345678" };
  t.same(validateMsisdn("+4915112345678"), want, "+ form");
  t.same(validateMsisdn("004915112345678"), want, "00 form");
  t.same(validateMsisdn("4915112345678"), want, "bare form");
  t.same(validateMsisdn(" +49 (151) 1234-5678 "), want, "spaces, dashes, parentheses");
  t.same(validateMsisdn("+49 (0)151 12345678"), want, "(0) trunk prefix dropped");
  t.same(validateMsisdn("+882 39 123 456 7890"), { ok: true, value: "882391234567890" }, "15 digits");
  t.match(reasonOf(validateMsisdn("0151 12345678")), /international format/, "national format");
  t.match(reasonOf(validateMsisdn("+49 151 1234567x")), /only contain digits/, "letters");
  t.match(reasonOf(validateMsisdn("+4915112345678901")), /8 to 15 digits.*16/, "too long");
  t.match(reasonOf(validateMsisdn("+4930123")), /8 to 15 digits.*7/, "too short");
  t.match(reasonOf(validateMsisdn("+")), /international format|only contain digits|8 to 15/, "just a plus");
  t.match(reasonOf(validateMsisdn("")), /empty/, "empty");
});

t.test("EID", async (t) => {
  // The example EID of GSMA SGP.29.
  const sgp29 = "89049032123451234512345678901235";
  t.same(validateEid(sgp29), { ok: true, value: sgp29 });
  t.equal(eidCheckDigits(sgp29.slice(0, 30)), "35");
  t.equal(makeEid(sgp29.slice(0, 30)), sgp29);
  t.equal(BigInt(makeEid("890490320000000000000000000001")) % 97n, 1n, "generated EID mod 97 = 1");
  // Check digits are always two digits, zero-padded: find a prefix whose check value is < 10 and test it.
  let small = "";
  for (let i = 0; small === "" && i < 1000; i++) {
    const p = "89" + String(i).padStart(28, "0");
    if (eidCheckDigits(p).startsWith("0")) small = p;
  }
  t.not(small, "", "found a prefix with a check value below 10");
  t.match(eidCheckDigits(small), /^0[2-9]$/);
  t.equal(validateEid(makeEid(small)).ok, true);

  t.match(reasonOf(validateEid("89049032123451234512345678901234")), /check digits/, "bad check digits");
  t.match(reasonOf(validateEid("89049032123451234512345678901253")), /check digits/, "swapped check digits");
  t.match(reasonOf(validateEid("8904903212345123451234567890123")), /32 digits.*31/, "31 digits");
  t.match(reasonOf(validateEid("8904903212345123451234567890123A")), /digits only/, "letters");
  // 32 digits, mod 97 = 1, but not "89".
  const notEum = "79049032123451234512345678901" + "0";
  const bad = notEum + String(98 - Number(BigInt(notEum + "00") % 97n)).padStart(2, "0");
  t.equal(BigInt(bad) % 97n, 1n);
  t.match(reasonOf(validateEid(bad.slice(0, 32))), /"89"/, "wrong prefix");
  t.throws(() => eidCheckDigits("8904903212345"), TypeError);
});

t.test("IMEI", async (t) => {
  t.same(validateImei("490154203237518"), { ok: true, value: "490154203237518" }, "classic Luhn example");
  // Wikipedia's IMEI example 35-209900-176148-1 and its IMEISV 35-209900-176148-23 (checked by computation).
  t.same(validateImei("35-209900-176148-1"), { ok: true, value: "352099001761481" }, "dashes");
  t.same(validateImei("3520990017614823"), { ok: true, value: "352099001761481" }, "IMEISV → IMEI");
  t.same(validateImei("4901542032375199"), { ok: true, value: "490154203237518" }, "IMEISV recomputes the check digit");
  t.equal(makeImei("49015420323751"), "490154203237518");
  t.equal(tacOf("490154203237518"), "49015420");
  t.equal(tacOf("3520990017614823"), "35209900");
  t.throws(() => tacOf("4901542"), TypeError);

  t.match(reasonOf(validateImei("490154203237519")), /check digit/, "bad check digit");
  t.match(reasonOf(validateImei("49015420323751")), /15 digits.*14/, "14 digits");
  t.match(reasonOf(validateImei("4901542032375188X")), /digits only/, "letters");
  t.match(reasonOf(validateImei("49015420323751888")), /15 digits.*17/, "17 digits");
  t.throws(() => makeImei("4901542032375"), TypeError);
});

t.test("MCC-MNC network code", async (t) => {
  t.same(validateNetworkCode("262-01"), { ok: true, value: "262-01" });
  t.same(validateNetworkCode("26201"), { ok: true, value: "262-01" });
  t.same(validateNetworkCode("262 01"), { ok: true, value: "262-01" });
  t.same(validateNetworkCode("310-410"), { ok: true, value: "310-410" });
  t.same(validateNetworkCode("310410"), { ok: true, value: "310-410" });
  t.same(validateNetworkCode(" 901-28 "), { ok: true, value: "901-28" });
  t.match(reasonOf(validateNetworkCode("2620")), /MCC \(3 digits\)/, "too short");
  t.match(reasonOf(validateNetworkCode("262-0001")), /MCC \(3 digits\)/, "MNC too long");
  t.match(reasonOf(validateNetworkCode("26A-01")), /MCC \(3 digits\)/, "letters");
  t.match(reasonOf(validateNetworkCode("001-01")), /MCC 001/, "test MCC");
});
