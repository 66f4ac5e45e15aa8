import t from "tap";
import { parseUsageBody, splitCsvRow, UsageBodyError, usageFormatOf, type UsageFormat } from "../../src/modules/usage/ingest-parse.js";
import { validateUsageRecord } from "../../src/modules/usage/ingest-validate.js";
import type { ParsedUsage, UsageRejection, ValidUsageRecord } from "../../src/modules/usage/usage-record.js";
import { AppError, PayloadTooLargeError } from "../../src/platform/errors.js";
import { luhnCheckDigit, makeIccid, makeImei, validateIccid, validateImei } from "../../src/platform/identifiers.js";

// Unit tests of the body parser and record validator: no database, no HTTP. What a client relies on: every
// format reads the same records whatever the chunking, bad records are named one by one while good ones are kept,
// and a body that cannot be read as records (or is too big) is refused as a whole.

const NOW = new Date("2026-12-05T12:00:00.000Z");
const ICCID = makeIccid("894900000000000001");
const ICCID2 = makeIccid("894900000000000002");
const IMEI = makeImei("35693803564380");

type Raw = Record<string, unknown>;
const base = (over: Raw = {}): Raw => ({
  sourceId: "cdr-1",
  iccid: ICCID,
  startedAt: "2026-12-05T10:00:00Z",
  endedAt: "2026-12-05T10:05:00.250Z",
  bytesUp: 1000,
  bytesDown: 2000,
  ...over,
});

async function* chunksOf(parts: Array<Buffer | string>): AsyncGenerator<Buffer | string> {
  for (const p of parts) yield p;
}
/** The body in chunks of `size` bytes (1 = every byte alone, splitting every multi-byte character). */
const sized = (buf: Buffer, size: number) => {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return parts;
};
const parse = (body: string | Buffer | Array<Buffer | string>, format: UsageFormat, opts: { maxRecords?: number; maxBytes?: number } = {}) =>
  parseUsageBody(chunksOf(Array.isArray(body) ? body : [body]), format, { now: NOW, ...opts });

const ndjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n") + "\n";
const csvCell = (v: unknown) => {
  const s = v === undefined || v === null ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csv = (header: string[], rows: unknown[][], eol = "\r\n") => [header.join(","), ...rows.map((r) => r.map(csvCell).join(","))].join(eol) + eol;

function records(out: ParsedUsage[]): ValidUsageRecord[] {
  return out.flatMap((p) => (p.ok ? [p.record] : []));
}
function rejections(out: ParsedUsage[]): UsageRejection[] {
  return out.flatMap((p) => (p.ok ? [] : [p.rejection]));
}
/** [index, field, code] of every rejection, for compact assertions. */
const named = (out: ParsedUsage[]) => rejections(out).map((r) => [r.index, r.field, r.code]);

t.test("Content-Type picks the format; parameters are ignored, anything else is none", async (t) => {
  t.equal(usageFormatOf("application/json"), "json");
  t.equal(usageFormatOf("application/json; charset=utf-8"), "json");
  t.equal(usageFormatOf("Application/X-NDJSON"), "ndjson");
  t.equal(usageFormatOf("application/ndjson;charset=UTF-8"), "ndjson");
  t.equal(usageFormatOf("text/csv; header=present"), "csv");
  t.equal(usageFormatOf("text/plain"), null);
  t.equal(usageFormatOf("application/jsonl"), null);
  t.equal(usageFormatOf(""), null);
  t.equal(usageFormatOf(undefined), null);
});

t.test("a JSON array of records is read and normalised", async (t) => {
  const body = JSON.stringify([
    base(),
    {
      sourceId: "cdr-2",
      msisdn: "+49 151 12345678",
      imsi: "262011234567890",
      startedAt: "2026-12-05T11:00:00.123+01:00",
      endedAt: "2026-12-05T10:30:00.5Z",
      bytesUp: "12",
      smsMo: 3,
      smsMt: "4",
      imei: "35693803564380",
      network: "26201",
      radio: "LTE-M",
    },
  ]);
  const out = await parse(body, "json");
  t.equal(out.length, 2);
  t.same(records(out)[0], {
    index: 0,
    sourceId: "cdr-1",
    iccid: ICCID,
    imsi: null,
    msisdn: null,
    startedAt: new Date("2026-12-05T10:00:00Z"),
    endedAt: new Date("2026-12-05T10:05:00.250Z"),
    bytesUp: 1000n,
    bytesDown: 2000n,
    smsMo: 0,
    smsMt: 0,
    imei: null,
    network: null,
    radio: null,
  });
  const r = records(out)[1]!;
  t.equal(r.msisdn, "4915112345678", "MSISDN stored as digits, '+' and spaces dropped");
  t.equal(r.imsi, "262011234567890");
  t.equal(r.iccid, null);
  t.equal(r.startedAt.toISOString(), "2026-12-05T10:00:00.123Z", "offset applied, milliseconds kept");
  t.equal(r.endedAt.toISOString(), "2026-12-05T10:30:00.500Z");
  t.equal(r.bytesUp, 12n, "digit string accepted");
  t.equal(r.bytesDown, 0n, "absent bytes count as 0");
  t.same([r.smsMo, r.smsMt], [3, 4]);
  t.equal(r.imei, IMEI, "14-digit IMEI completed with its Luhn digit");
  t.equal(r.network, "262-01", "network normalised to MCC-MNC");
  t.equal(r.radio, "lte-m", "radio case-insensitive");
  t.same(await parse("[]", "json"), [], "an empty array is zero records");
  t.same(await parse("\ufeff [ ] \n", "json"), [], "byte order mark and whitespace around the array");
});

t.test("JSON, NDJSON and CSV bodies of the same records read the same", async (t) => {
  const recs = [
    base({ sourceId: "a,1", network: "310-410", radio: "5g", imei: IMEI }),
    base({ sourceId: 'quote " inside', iccid: ICCID2, bytesUp: "18446744073709551", smsMo: 7 }),
    base({ sourceId: "line\u00a0ü€😀", msisdn: "4915112345678", iccid: undefined }),
  ];
  const header = ["sourceId", "iccid", "msisdn", "startedAt", "endedAt", "bytesUp", "bytesDown", "smsMo", "imei", "network", "radio"];
  const fromJson = await parse(JSON.stringify(recs), "json");
  const fromNdjson = await parse(ndjson(recs), "ndjson");
  const fromCsv = await parse(csv(header, recs.map((r) => header.map((h) => r[h]))), "csv");
  t.equal(records(fromJson).length, 3);
  t.same(fromNdjson, fromJson);
  t.same(fromCsv, fromJson);
  t.equal(records(fromCsv)[1]!.sourceId, 'quote " inside');
  t.equal(records(fromCsv)[2]!.sourceId, "line\u00a0ü€😀");
});

t.test("chunk boundaries anywhere, even inside a multi-byte character, give the same result", async (t) => {
  const tricky = [
    base({ sourceId: 'ü€😀 "q" \\ ]},[', radio: "4G" }),
    base({ sourceId: "日本語-2", iccid: ICCID2, bytesDown: "9223372036854775807" }),
    base({ sourceId: "bad\n-3", bytesUp: -1 }),
  ];
  const header = ["sourceId", "iccid", "startedAt", "endedAt", "bytesUp", "bytesDown", "radio"];
  const bodies: Array<[UsageFormat, string]> = [
    ["json", ` [ ${JSON.stringify(tricky[0])} ,\n${JSON.stringify(tricky[1])}, {"sourceId":"x",} ,${JSON.stringify(tricky[2])} ] `],
    ["ndjson", `${JSON.stringify(tricky[0])}\r\n\n  \n${JSON.stringify(tricky[1])}\n{broken\n${JSON.stringify(tricky[2])}`],
    ["csv", csv(header, tricky.map((r) => header.map((h) => r[h]))) + 'x,"a"b,,,,,\r\ny,"89\n49",2026-12-05T10:00:00Z,2026-12-05T10:00:00Z,1,2,"4g"\r\n'],
  ];
  for (const [format, text] of bodies) {
    const buf = Buffer.from(text);
    const whole = await parse(buf, format);
    t.equal(records(whole)[0]!.sourceId, 'ü€😀 "q" \\ ]},[', `${format}: multi-byte and structural characters inside a value`);
    t.equal(records(whole)[1]!.bytesDown, 2n ** 63n - 1n);
    const bad = format === "csv" ? [2, 3, 4] : [2, 3];
    t.equal(whole.length, bad.length + 2, `${format}: every record read`);
    t.same(rejections(whole).map((r) => r.index), bad, `${format}: the bad ones are ${bad.join(", ")}`);
    let differing = 0;
    for (let k = 0; k <= buf.length; k++) {
      const split = await parse([buf.subarray(0, k), buf.subarray(k)], format);
      if (JSON.stringify(split, bigints) !== JSON.stringify(whole, bigints)) differing++;
    }
    t.equal(differing, 0, `${format}: split in two at each of ${buf.length + 1} offsets`);
    t.same(await parse(sized(buf, 1), format), whole, `${format}: one byte per chunk`);
    t.same(await parse(sized(buf, 7), format), whole, `${format}: 7 bytes per chunk`);
  }
});
const bigints = (_k: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);

t.test("a mixed batch keeps every good record and names every bad one", async (t) => {
  const body = [
    JSON.stringify(base({ sourceId: "good-0" })),
    '{"sourceId": "broken-1", "iccid": }',
    JSON.stringify(base({ sourceId: "typo-2", bytesDwn: 5 })),
    JSON.stringify(base({ sourceId: "noid-3", iccid: undefined })),
    JSON.stringify(base({ sourceId: "luhn-4", iccid: ICCID.slice(0, -1) + ((Number(ICCID.at(-1)) + 1) % 10) })),
    JSON.stringify(base({ sourceId: "neg-5", bytesDown: -10 })),
    JSON.stringify(base({ sourceId: undefined })),
    JSON.stringify(base({ sourceId: "good-7", iccid: ICCID2 })),
    JSON.stringify(base({ sourceId: "time-8", startedAt: "2026-12-05T10:00:00" })),
    JSON.stringify(base({ sourceId: "radio-9", radio: "6g" })),
  ];
  const out = await parse(`[${body.join(",\n")}]`, "json");
  t.same(
    records(out).map((r) => [r.index, r.sourceId]),
    [
      [0, "good-0"],
      [7, "good-7"],
    ],
  );
  t.same(named(out), [
    [1, null, "invalid_json"],
    [2, "bytesDwn", "unknown_field"],
    [3, "iccid", "missing_field"],
    [4, "iccid", "invalid_value"],
    [5, "bytesDown", "invalid_value"],
    [6, "sourceId", "missing_field"],
    [8, "startedAt", "invalid_value"],
    [9, "radio", "invalid_value"],
  ]);
  const byIndex = new Map(rejections(out).map((r) => [r.index, r]));
  t.equal(byIndex.get(2)!.sourceId, "typo-2", "the rejection names the record by its sourceId");
  t.match(byIndex.get(2)!.reason, /"bytesDwn"/);
  t.notOk("sourceId" in byIndex.get(1)!, "no sourceId for an unreadable element");
  t.notOk("sourceId" in byIndex.get(6)!);
  t.match(byIndex.get(1)!.reason, /element 1 is not valid JSON/);
  t.match(byIndex.get(4)!.reason, /Luhn/);
  t.match(byIndex.get(5)!.reason, /negative/);
  t.match(byIndex.get(8)!.reason, /zone/);
  t.match(byIndex.get(9)!.reason, /2g, 3g, 4g, 5g, nb-iot, lte-m/);
});

t.test("only the first problem of a record is reported, in a fixed order", async (t) => {
  const v = (raw: Raw) => {
    const p = validateUsageRecord(raw, 0, NOW);
    return p.ok ? null : [p.rejection.field, p.rejection.code];
  };
  t.same(v(base({ extra: 1, bytesUp: -1, sourceId: "" })), ["extra", "unknown_field"], "unknown fields first");
  t.same(v(base({ bytesUp: -1, radio: "x", startedAt: "nope" })), ["startedAt", "invalid_value"]);
  t.same(v(base({ bytesUp: -1, radio: "x" })), ["bytesUp", "invalid_value"]);
  t.same(v(base({ radio: null, imei: null, network: null })), null, "null is the same as absent for optional fields");
  t.same(v(base({ startedAt: null })), ["startedAt", "missing_field"]);
});

t.test("sourceId: 1-128 printable characters, a string", async (t) => {
  const v = (sourceId: unknown) => {
    const p = validateUsageRecord(base({ sourceId }), 3, NOW);
    return p.ok ? "ok" : `${p.rejection.code}: ${p.rejection.reason}`;
  };
  t.equal(v("x".repeat(128)), "ok");
  t.equal(v("with space/and:colon"), "ok");
  t.match(v("x".repeat(129)), /invalid_value: .*at most 128/);
  t.match(v(""), /invalid_value: .*empty/);
  t.match(v("   "), /blank/);
  t.match(v("tab\there"), /control characters/);
  t.match(v("nul\u0000"), /control characters/);
  t.match(v("c1\u0085"), /control characters/);
  t.match(v(42), /must be a string/);
  t.same(validateUsageRecord([], 5, NOW), { ok: false, rejection: { index: 5, field: null, code: "not_an_object", reason: "the record must be an object of fields, got an array" } });
});

t.test("times: a zone is required, the session must be plausible", async (t) => {
  const v = (over: Raw) => {
    const p = validateUsageRecord(base(over), 0, NOW);
    return p.ok ? p.record : p.rejection;
  };
  const accepted = (r: ValidUsageRecord | UsageRejection): r is ValidUsageRecord => "startedAt" in r;
  const startedAt = (s: string) => {
    const r = v({ startedAt: s, endedAt: s });
    return accepted(r) ? r.startedAt.toISOString() : r.code;
  };
  t.equal(startedAt("2026-12-05T10:00:00Z"), "2026-12-05T10:00:00.000Z");
  t.equal(startedAt("2026-12-05t10:00:00.1z"), "2026-12-05T10:00:00.100Z");
  t.equal(startedAt("2026-12-05 10:00:00.12345+00:00"), "2026-12-05T10:00:00.123Z", "RFC 3339 space; sub-millisecond digits dropped");
  t.equal(startedAt("2026-12-05T10:00+0130"), "2026-12-05T08:30:00.000Z", "no seconds; offset without colon");
  t.equal(startedAt("2026-12-05T03:00:00-07"), "2026-12-05T10:00:00.000Z", "hour-only offset");
  t.equal(startedAt("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00.000Z", "leap day");
  for (const bad of ["2026-12-05T10:00:00", "2026-12-05", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-05T24:00:00Z", "2026-12-05T10:00:60Z", "2026-12-05T10:00:00.Z", "2026-12-05T10:00:00+25:00", "1733392800", "2026-12-05T10:00:00Z junk"]) {
    t.equal(startedAt(bad), "invalid_value", bad);
  }
  t.match(v({ startedAt: 1733392800000 }), { field: "startedAt", code: "invalid_value" }, "epoch numbers are refused");
  t.match(v({ endedAt: undefined }), { field: "endedAt", code: "missing_field" });

  const inFuture = new Date(NOW.getTime() + 5 * 60_000 + 1).toISOString();
  const nearFuture = new Date(NOW.getTime() + 4 * 60_000).toISOString();
  t.match(v({ startedAt: inFuture, endedAt: inFuture }), { field: "startedAt", code: "invalid_value", reason: /future/ });
  t.ok(accepted(v({ startedAt: nearFuture, endedAt: nearFuture })), "5 minutes of clock skew tolerated");
  t.match(v({ endedAt: inFuture }), { field: "endedAt", code: "invalid_value", reason: /future/ }, "a session cannot end in the future either");
  t.match(v({ startedAt: "1999-12-31T23:59:59.999Z" }), { field: "startedAt", code: "invalid_value", reason: /2000-01-01/ });
  t.ok(accepted(v({ startedAt: "2000-01-01T00:00:00Z", endedAt: "2000-01-01T00:00:00Z" })), "2000-01-01 itself is fine");
  t.match(v({ endedAt: "2026-12-05T09:59:59.999Z" }), { field: "endedAt", code: "invalid_value", reason: /before startedAt/ });
  t.ok(accepted(v({ startedAt: "2026-11-01T00:00:00Z", endedAt: "2026-12-02T00:00:00Z" })), "exactly 31 days");
  t.match(v({ startedAt: "2026-11-01T00:00:00Z", endedAt: "2026-12-02T00:00:00.001Z" }), { field: "endedAt", code: "invalid_value", reason: /31 days/ });
  t.ok(accepted(v({ startedAt: "2026-10-01T00:00:00Z", endedAt: "2026-10-01T00:00:00Z" })), "late records (two months old) are accepted");
});

t.test("byte and SMS counts: non-negative integers; bytes beyond 2^53 as digit strings", async (t) => {
  const v = (over: Raw) => {
    const p = validateUsageRecord(base(over), 0, NOW);
    return p.ok ? p.record : p.rejection;
  };
  const up = (bytesUp: unknown) => {
    const r = v({ bytesUp });
    return "bytesUp" in r ? r.bytesUp : `${r.code}: ${r.reason}`;
  };
  t.equal(up(0), 0n);
  t.equal(up(Number.MAX_SAFE_INTEGER), 9007199254740991n);
  t.equal(up("9007199254740993"), 9007199254740993n, "2^53+1 exact as a string");
  t.equal(up("9223372036854775807"), 9223372036854775807n, "2^63-1");
  t.equal(up("000000000000000000000042"), 42n, "leading zeros");
  t.match(up("9223372036854775808"), /invalid_value: .*2\^63-1/, "2^63");
  t.match(up("18446744073709551615"), /2\^63-1/);
  t.match(up(9007199254740992), /invalid_value: .*send it as a string/, "an unsafe JSON number is refused, not rounded");
  t.match(up(-1), /negative/);
  t.match(up("-1"), /negative/);
  t.match(up(1.5), /whole number/);
  t.match(up("1.5"), /not a non-negative integer/);
  t.match(up("1e6"), /not a non-negative integer/);
  t.match(up(""), /empty/);
  t.match(up(true), /non-negative integer/);

  const sms = (smsMt: unknown) => {
    const r = v({ smsMt });
    return "smsMt" in r ? r.smsMt : `${r.code}: ${r.reason}`;
  };
  t.equal(sms(1_000_000), 1_000_000);
  t.equal(sms("17"), 17, "digit strings (CSV cells) accepted");
  t.equal(sms(undefined), 0);
  t.match(sms(1_000_001), /invalid_value: .*0 to 1000000/);
  t.match(sms(-1), /0 to 1000000/);
  t.match(sms(2.5), /0 to 1000000/);
  t.match(sms("x"), /0 to 1000000/);
});

t.test("identifiers: at least one; each given is checked and normalised", async (t) => {
  const v = (over: Raw) => {
    const p = validateUsageRecord(base(over), 0, NOW);
    return p.ok ? p.record : p.rejection;
  };
  t.match(v({ iccid: undefined }), { field: "iccid", code: "missing_field", reason: /iccid, imsi or msisdn/ });
  t.match(v({ iccid: undefined, imsi: "262011234567890" }), { imsi: "262011234567890", iccid: null });
  t.match(v({ iccid: undefined, msisdn: "+49 (0)151 1234 5678" }), { msisdn: "4915112345678" });
  t.match(v({ iccid: 8.949e19 }), { field: "iccid", code: "invalid_value", reason: /string/ }, "a number would have lost digits");
  t.match(v({ imsi: "001011234567890" }), { field: "imsi", code: "invalid_value", reason: /MCC/ });
  t.match(v({ msisdn: "0151 1234 5678" }), { field: "msisdn", code: "invalid_value", reason: /international/ });
  t.match(v({ network: "262 01" }), { network: "262-01" });
  t.match(v({ network: "310410" }), { network: "310-410" });
  t.match(v({ network: "26" }), { field: "network", code: "invalid_value" });
  t.match(v({ network: 26201 }), { field: "network", code: "invalid_value" });
});

t.test("IMEI and IMEISV normalise to the 15-digit IMEI and must agree", async (t) => {
  const v = (over: Raw) => {
    const p = validateUsageRecord(base(over), 0, NOW);
    return p.ok ? p.record : p.rejection;
  };
  const tac14 = IMEI.slice(0, 14);
  t.match(v({ imei: IMEI }), { imei: IMEI });
  t.match(v({ imei: tac14 }), { imei: IMEI }, "14 digits get the Luhn digit");
  t.match(v({ imei: `${tac14.slice(0, 8)}-${tac14.slice(8)}-${IMEI.at(-1)}` }), { imei: IMEI }, "dashes ignored");
  t.match(v({ imeisv: `${tac14}07` }), { imei: IMEI }, "IMEISV: first 14 digits plus the computed check digit");
  t.match(v({ imei: IMEI, imeisv: `${tac14}42` }), { imei: IMEI }, "both given and agreeing");
  t.match(v({ imei: `${tac14}07` }), { imei: IMEI }, "an IMEISV sent as imei is recognised");
  const wrongLuhn = IMEI.slice(0, 14) + ((Number(IMEI.at(-1)) + 1) % 10);
  t.match(v({ imei: wrongLuhn }), { field: "imei", code: "invalid_value", reason: /Luhn/ });
  t.match(v({ imei: "1234567890123" }), { field: "imei", code: "invalid_value", reason: /14 or 15 digits/ });
  t.match(v({ imei: "35693803564380X" }), { field: "imei", code: "invalid_value", reason: /digits only/ });
  t.match(v({ imei: 356938035643809 }), { field: "imei", code: "invalid_value" });
  t.match(v({ imeisv: IMEI }), { field: "imeisv", code: "invalid_value", reason: /16 digits/ });
  const otherDevice = makeImei("35693803564381");
  t.match(v({ imei: otherDevice, imeisv: `${tac14}07` }), { field: "imeisv", code: "conflicting_fields", reason: /agree/ });
});

t.test("ICCID and IMEI: the validator's fast path accepts exactly what validateIccid and validateImei accept", async (t) => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const mismatches: string[] = [];
  for (let k = 0; k < 20_000; k++) {
    const len = 13 + rand(9);
    let s = rand(2) ? "89" : rand(2) ? "35" : "";
    while (s.length < len) s += String(rand(10));
    if (rand(2)) s = s.slice(0, -1) + luhnCheckDigit(s.slice(0, -1)); // Luhn-valid half the time
    if (rand(10) === 0) s = `${s.slice(0, 5)}${["x", " ", "-", "٣"][rand(4)]}${s.slice(6)}`;
    const iccid = validateUsageRecord(base({ iccid: s }), 0, NOW);
    const wantIccid = validateIccid(s);
    if (iccid.ok !== wantIccid.ok || (iccid.ok && wantIccid.ok && iccid.record.iccid !== wantIccid.value)) mismatches.push(`iccid ${s}`);
    if (s.replace(/[\s-]/g, "").length === 14) continue; // imei also takes 14 digits, which validateImei does not
    const imei = validateUsageRecord(base({ imei: s }), 0, NOW);
    const wantImei = validateImei(s);
    if (imei.ok !== wantImei.ok || (imei.ok && wantImei.ok && imei.record.imei !== wantImei.value)) mismatches.push(`imei ${s}`);
  }
  t.same(mismatches, []);
});

t.test("records beyond the limit refuse the whole request, and reading stops there", async (t) => {
  const many = Array.from({ length: 10_001 }, (_, i) => base({ sourceId: `s-${i}` }));
  const err = await parse(JSON.stringify(many), "json").catch((e: unknown) => e);
  t.ok(err instanceof PayloadTooLargeError && err instanceof AppError, "a typed error the problem handler maps");
  t.match(err, { status: 413, code: "too_many_records", message: /more than 10000 records/ }, "10,001 JSON records");
  t.equal((await parse(JSON.stringify(many.slice(0, 10_000)), "json")).length, 10_000, "10,000 is fine");
  await t.rejects(parse(ndjson(many.slice(0, 3)), "ndjson", { maxRecords: 2 }), { status: 413, code: "too_many_records" });
  t.equal((await parse(`\n${ndjson(many.slice(0, 2))}\n\n`, "ndjson", { maxRecords: 2 })).length, 2, "blank lines do not count");
  const header = ["sourceId", "iccid", "startedAt", "endedAt"];
  await t.rejects(parse(csv(header, many.slice(0, 3).map((r) => header.map((h) => r[h]))), "csv", { maxRecords: 2 }), { code: "too_many_records" }, "the CSV header is not a record");
  t.equal((await parse(csv(header, many.slice(0, 2).map((r) => header.map((h) => r[h]))), "csv", { maxRecords: 2 })).length, 2);

  // An endless body: the parser must give up on its own and close the stream.
  let pulled = 0;
  let closed = false;
  async function* endless() {
    try {
      yield "[";
      for (;;) {
        pulled++;
        yield `${JSON.stringify(base({ sourceId: `e-${pulled}` }))},`;
      }
    } finally {
      closed = true;
    }
  }
  await t.rejects(parseUsageBody(endless(), "json", { now: NOW, maxRecords: 5 }), { code: "too_many_records" });
  t.ok(pulled <= 7, `stopped after ${pulled} chunks`);
  t.ok(closed, "the body stream was closed");
});

t.test("a body beyond maxBytes is refused as soon as the limit is passed", async (t) => {
  const body = JSON.stringify([base(), base({ sourceId: "cdr-2" })]);
  t.equal((await parse(body, "json", { maxBytes: Buffer.byteLength(body) })).length, 2, "exactly the limit is fine");
  await t.rejects(parse(body, "json", { maxBytes: Buffer.byteLength(body) - 1 }), { status: 413, code: "payload_too_large" });
  await t.rejects(parse(Buffer.from("ü".repeat(60)), "csv", { maxBytes: 100 }), { code: "payload_too_large" }, "bytes, not characters, are counted");

  let pulled = 0;
  let closed = false;
  async function* endless() {
    try {
      for (;;) {
        pulled++;
        yield Buffer.alloc(64, 0x20);
      }
    } finally {
      closed = true;
    }
  }
  await t.rejects(parseUsageBody(endless(), "ndjson", { now: NOW, maxBytes: 1000 }), { code: "payload_too_large" });
  t.equal(pulled, 16, "stopped at the chunk that passed 1,000 bytes");
  t.ok(closed, "the body stream was closed");
});

t.test("a body that is not a JSON array of objects is refused as a whole", async (t) => {
  const one = JSON.stringify(base());
  const cases: Array<[string, RegExp]> = [
    ["", /empty/],
    ["   \n", /empty/],
    [one, /not a single object: wrap it in \[ \]/],
    ['"records"', /starts with '"'/],
    [`[${one}`, /not terminated/],
    [`[${one},`, /not terminated/],
    [`[${one}, {"sourceId": "open`, /not terminated: element 1 never ends/],
    [`[${one}, {"a": [1}, ${one}]`, /not terminated/],
    [`[${one},]`, /trailing comma/],
    [`[${one},,${one}]`, /empty element/],
    [`[,${one}]`, /empty element/],
    [`[${one}] x`, /after the JSON array's closing/],
    [`[${one}][]`, /after the JSON array's closing/],
    [`[${one}, 42]`, /Element 1 of the array is a number, not an object/],
    [`[${one}, [${one}]]`, /Element 1 of the array is an array/],
    ["[null]", /Element 0 of the array is null/],
    ['["x"]', /a string/],
  ];
  for (const [body, detail] of cases) {
    await t.rejects(parse(body, "json"), { status: 400, code: "usage_body_invalid", message: detail }, JSON.stringify(body.slice(0, 60)));
  }
  t.ok((await parse("{}", "json").catch((e: unknown) => e)) instanceof UsageBodyError);
  const out = await parse(`[${one}, {"sourceId": "x"}}, ${one}]`, "json");
  t.same(named(out), [[1, null, "invalid_json"]], "a stray '}' only spoils its own element");
  t.equal(records(out).length, 2);
});

t.test("NDJSON: one object per line, blank lines skipped, a bad line rejected alone", async (t) => {
  const lines = [
    "",
    JSON.stringify(base({ sourceId: "n-0" })),
    "   \t",
    "[1,2]",
    "{not json",
    JSON.stringify(base({ sourceId: "n-3" })) + "\r",
    "null",
    JSON.stringify(base({ sourceId: "n-5", smsMo: -2 })),
    JSON.stringify(base({ sourceId: "n-6" })),
  ];
  const out = await parse("\ufeff" + lines.join("\n"), "ndjson");
  t.same(records(out).map((r) => [r.index, r.sourceId]), [
    [0, "n-0"],
    [3, "n-3"],
    [6, "n-6"],
  ], "indexes count non-blank lines; the last line needs no newline");
  t.same(named(out), [
    [1, null, "not_an_object"],
    [2, null, "invalid_json"],
    [4, null, "not_an_object"],
    [5, "smsMo", "invalid_value"],
  ]);
  t.match(rejections(out)[1]!.reason, /line 5 is not valid JSON/, "the reason gives the physical line");
  t.same(await parse("", "ndjson"), [], "an empty body is zero records");
  t.same(await parse("\n\n\r\n", "ndjson"), []);
});

t.test("CSV: RFC 4180 quoting, CRLF or LF, empty cells absent, bad rows rejected alone", async (t) => {
  const header = "sourceId,iccid,startedAt,endedAt,bytesUp,bytesDown,smsMo,radio";
  const rows = [
    `"with, comma",${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z,5,6,1,4g`,
    `"say ""hi""",${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z,,,,`,
    `"multi\r\nline, quoted",${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z,1,1,1,4g`,
    `too,few,cells`,
    `  `,
    `"",${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z,1,1,1,4g`,
    `bad"quote,${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z,1,1,1,4g`,
    `"closed"junk,${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z,1,1,1,4g`,
    `big,${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z,92233720368547758070,1,1,4g`,
    `"last",${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z,"7","8","9","5G"`,
  ];
  for (const eol of ["\r\n", "\n"]) {
    const out = await parse(`\ufeff${header}${eol}${rows.join(eol)}${eol}${eol}`, "csv");
    const good = records(out);
    t.same(good.map((r) => [r.index, r.sourceId]), [
      [0, "with, comma"],
      [1, 'say "hi"'],
      [8, "last"],
    ]);
    t.same([good[0]!.bytesUp, good[0]!.bytesDown, good[0]!.smsMo, good[0]!.radio], [5n, 6n, 1, "4g"]);
    t.same([good[1]!.bytesUp, good[1]!.bytesDown, good[1]!.smsMo, good[1]!.radio], [0n, 0n, 0, null], "empty cells are absent fields");
    t.same([good[2]!.bytesUp, good[2]!.smsMo, good[2]!.radio], [7n, 9, "5g"]);
    t.same(named(out), [
      [2, "sourceId", "invalid_value"],
      [3, null, "wrong_cell_count"],
      [4, "sourceId", "missing_field"],
      [5, null, "invalid_csv"],
      [6, null, "invalid_csv"],
      [7, "bytesUp", "invalid_value"],
    ]);
    t.match(rejections(out)[0]!.reason, /control characters/, "a line break inside quotes is data: the row stays whole");
    t.match(rejections(out)[1]!.reason, /3 cells, the header has 8/);
    t.match(rejections(out)[3]!.reason, /quote inside an unquoted value/);
    t.match(rejections(out)[4]!.reason, /after the closing quote/);
    t.equal(rejections(out)[5]!.sourceId, "big");
  }
  t.same(splitCsvRow('a,"",",",""""'), ["a", "", ",", '"']);
  t.same(splitCsvRow("a,,"), ["a", "", ""]);
});

t.test("CSV header: known field names, each once, the required ones present", async (t) => {
  const row = `x,${ICCID},2026-12-05T10:00:00Z,2026-12-05T10:01:00Z`;
  const cases: Array<[string, RegExp]> = [
    ["", /empty; a header row/],
    ["\r\n\r\n", /empty; a header row/],
    [`sourceId,iccid,startedAt,endedAt,bytes_up\n${row},1\n`, /column 5 names an unknown field "bytes_up"/],
    [`sourceId,iccid,startedAt,endedAt,iccid\n${row},1\n`, /"iccid" twice \(columns 2 and 5\)/],
    [`sourceId,iccid,,endedAt\n${row}\n`, /column 3 is empty/],
    [`sourceId,iccid,endedAt\n`, /lacks required columns: startedAt/],
    [`sourceId,network,startedAt,endedAt\n`, /lacks required columns: one of iccid, imsi or msisdn/],
    [`"sourceId,iccid,startedAt,endedAt\n`, /ends inside a quoted value.*header/],
  ];
  for (const [body, detail] of cases) {
    const code = body.startsWith('"') ? "usage_body_invalid" : "usage_csv_header_invalid";
    await t.rejects(parse(body, "csv"), { status: 400, code, message: detail }, JSON.stringify(body.slice(0, 40)));
  }
  t.same(await parse(" sourceId , iccid,startedAt,endedAt\r\n", "csv"), [], "a header alone is zero records; spaces around names ignored");
  await t.rejects(parse(`sourceId,iccid,startedAt,endedAt\n${row}\n"open,${ICCID}\n`, "csv"), { code: "usage_body_invalid", message: /data row of index 1/ }, "an unterminated quote swallows the rest");
});
