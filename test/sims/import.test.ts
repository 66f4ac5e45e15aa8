import t from "tap";
import { createKeyring } from "../../src/platform/crypto.js";
import { openSimSecret } from "../../src/modules/sims/sim-secrets.js";
import { build } from "../helpers/build.js";
import { responseLog } from "../helpers/client.js";
import { createSim, createTenant } from "../helpers/factories.js";
import { csv, numbers, postCsv, signedIn } from "./helpers.js";

t.test("a CSV file imports into the platform's inventory, PIN and PUK sealed, one audit event", async (t) => {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const staff = await signedIn(ctx, platform.id, "operator");
  const a = numbers(1, 1);
  const b = numbers(1, 2);
  const e = numbers(1, 3);
  const file = csv([
    [a.iccid, a.imsi, `+${a.msisdn}`, "", "ff4", "1234", "12345678"],
    [b.iccid, b.imsi, "", "", "MFF2", "", ""],
    [e.iccid, e.imsi, e.msisdn, e.eid, "esim", "98765432", "87654321"],
  ]);
  const logStart = responseLog.length;
  const res = await postCsv(staff, file);
  t.equal(res.status, 200, res.body);
  t.same(res.json, { received: 3, imported: 3, rejected: 0, errors: [], errorsTruncated: false });

  const sims = await ctx.prisma.sim.findMany({ where: { tenantId: platform.id }, orderBy: { iccid: "asc" } });
  t.same(sims.map((s) => [s.iccid, s.imsi, s.msisdn, s.eid, s.formFactor, s.status]), [
    [a.iccid, a.imsi, a.msisdn, null, "ff4", "inventory"],
    [b.iccid, b.imsi, null, null, "mff2", "inventory"],
    [e.iccid, e.imsi, e.msisdn, e.eid, "esim", "inventory"],
  ], "normalised: MSISDN without +, form factor lower case, blanks as null");
  const keyring = createKeyring(ctx.runtime.secrets.encryptionKeys);
  const first = sims[0]!;
  t.notOk(first.pinEncrypted!.includes("1234"), "the PIN is not stored in clear");
  t.equal(openSimSecret(keyring, "pin", first.iccid, first.pinEncrypted!), "1234");
  t.equal(openSimSecret(keyring, "puk", first.iccid, first.pukEncrypted!), "12345678");
  t.throws(() => openSimSecret(keyring, "pin", sims[2]!.iccid, first.pinEncrypted!), "a sealed PIN does not open on another SIM");
  t.equal(sims[1]!.pinEncrypted, null);
  t.notOk(responseLog.slice(logStart).join("\n").includes("12345678"), "no PUK in any answer");

  const events = await ctx.prisma.simEvent.findMany({ where: { tenantId: platform.id } });
  t.equal(events.length, 3);
  t.ok(events.every((ev) => ev.kind === "imported" && ev.toStatus === "inventory" && ev.actorType === "user"), "an imported history row per SIM");
  const audit = await ctx.prisma.auditEvent.findMany({ where: { tenantId: platform.id, action: "sims.imported" } });
  t.equal(audit.length, 1, "one audit event per import");
  t.match(audit[0]!.data, { format: "csv", received: 3, imported: 3, rejected: 0, atomic: false });
  t.equal((events[0]!.data as { importId: string }).importId, audit[0]!.targetId, "history and audit name the same import");

  // Read back through the API: never a PIN or PUK.
  const view = await staff.get(`/v1/sims/${first.iccid}`);
  t.equal(view.status, 200);
  t.notOk("pin" in view.json || "puk" in view.json || view.body.includes(first.pinEncrypted!));
});

t.test("bad values are refused per row, naming the line, the field and the reason", async (t) => {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const staff = await signedIn(ctx, platform.id, "admin");
  const good = numbers(2, 1);
  const n = (i: number) => numbers(2, i);
  const badIccid = n(2).iccid.slice(0, -1) + ((Number(n(2).iccid.slice(-1)) + 1) % 10);
  const file = csv([
    [good.iccid, good.imsi, good.msisdn, "", "ff4", "", ""], // line 2: fine
    [badIccid, n(2).imsi, "", "", "ff4", "", ""], // line 3: Luhn
    [n(3).iccid, "12345", "", "", "ff4", "", ""], // line 4: IMSI too short
    [n(4).iccid, n(4).imsi, "0151 1234567", "", "ff4", "", ""], // line 5: national MSISDN
    [n(5).iccid, n(5).imsi, "", "", "esim", "", ""], // line 6: eSIM without EID
    [n(6).iccid, n(6).imsi, "", n(6).eid.slice(0, -1) + "0", "esim", "", ""], // line 7: EID check digits
    [n(7).iccid, n(7).imsi, "", "", "ff9", "12", "123"], // line 8: form factor, PIN, PUK
    ["", "", "", "", "", "", ""], // blank cells only: skipped, not a row
    [n(8).iccid, n(8).imsi, "", "", "ff2"], // line 10: too few fields
    [n(9).iccid, n(9).imsi, "", n(9).eid, "ff3", "", ""], // line 11: an EID on a plastic eUICC is fine
  ]);
  const res = await postCsv(staff, file);
  t.equal(res.status, 200, res.body);
  t.equal(res.json.received, 9);
  t.equal(res.json.imported, 2);
  t.equal(res.json.rejected, 7);
  const errs = res.json.errors.map((e: { line: number; field: string; code: string }) => `${e.line} ${e.field} ${e.code}`);
  t.same(errs, ["3 iccid invalid", "4 imsi invalid", "5 msisdn invalid", "6 eid required", "7 eid invalid", "8 formFactor invalid", "8 pin invalid", "8 puk invalid", "10 row malformed"]);
  const reasons = Object.fromEntries(res.json.errors.map((e: { line: number; field: string; reason: string }) => [`${e.line} ${e.field}`, e.reason]));
  t.match(reasons["3 iccid"], /Luhn/);
  t.match(reasons["4 imsi"], /14 or 15 digits/);
  t.match(reasons["5 msisdn"], /international format/);
  t.match(reasons["6 eid"], /required for formFactor esim/);
  t.match(reasons["7 eid"], /MOD 97-10/);
  t.match(reasons["8 pin"], /4 to 8 digits/);
  t.match(reasons["10 row"], /5 fields, the header 7/);
  t.same((await ctx.prisma.sim.findMany({ orderBy: { iccid: "asc" } })).map((s) => s.iccid), [good.iccid, n(9).iccid].sort());
});

t.test("duplicates inside the file and against existing SIMs are rejected rows", async (t) => {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const customer = await createTenant(ctx.prisma);
  const existing = await createSim(ctx.prisma, { tenantId: customer.id });
  const staff = await signedIn(ctx, platform.id, "owner");
  const n = (i: number) => numbers(3, i);
  const res = await staff.post("/v1/inventory/sims/import", {
    sims: [
      { iccid: n(1).iccid, imsi: n(1).imsi, msisdn: n(1).msisdn, formFactor: "ff4" }, // 1: kept
      { iccid: n(1).iccid, imsi: n(2).imsi, formFactor: "ff4" }, // 2: ICCID of row 1
      { iccid: n(3).iccid, imsi: n(1).imsi, msisdn: n(1).msisdn, formFactor: "ff4" }, // 3: IMSI and MSISDN of row 1
      { iccid: existing.iccid, imsi: n(4).imsi, formFactor: "ff4" }, // 4: an existing SIM's ICCID (another tenant's)
      { iccid: n(5).iccid, imsi: existing.imsi, msisdn: existing.msisdn, formFactor: "ff4" }, // 5: existing IMSI and MSISDN
      { iccid: n(6).iccid, imsi: n(6).imsi, formFactor: "ff4", pin: null }, // 6: kept
    ],
  });
  t.equal(res.status, 200, res.body);
  t.match(res.json, { received: 6, imported: 2, rejected: 4 });
  t.same(
    res.json.errors.map((e: { line: number; field: string; code: string; reason: string }) => [e.line, e.field, e.code]),
    [
      [2, "iccid", "duplicate"],
      [3, "imsi", "duplicate"],
      [3, "msisdn", "duplicate"],
      [4, "iccid", "duplicate"],
      [5, "imsi", "duplicate"],
      [5, "msisdn", "duplicate"],
    ],
  );
  t.match(res.json.errors[0].reason, /line 1/);
  t.equal(await ctx.prisma.sim.count({ where: { tenantId: platform.id } }), 2);
  t.equal((await ctx.prisma.sim.findUniqueOrThrow({ where: { id: existing.id } })).tenantId, customer.id, "the existing SIM is untouched");

  // The same file again: every row is now a duplicate, nothing changes.
  const again = await staff.post("/v1/inventory/sims/import", { sims: [{ iccid: n(1).iccid, imsi: n(1).imsi, formFactor: "ff4" }] });
  t.match(again.json, { received: 1, imported: 0, rejected: 1 });
});

t.test("atomic=true imports all rows or none", async (t) => {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const staff = await signedIn(ctx, platform.id, "operator");
  const n = (i: number) => numbers(4, i);
  const rows = [1, 2, 3].map((i) => [n(i).iccid, n(i).imsi, n(i).msisdn, "", "ff4", "", ""]);
  const refused = await postCsv(staff, csv([...rows, [n(4).iccid, n(1).imsi, "", "", "ff4", "", ""]]), "?atomic=true");
  t.equal(refused.status, 422, refused.body);
  t.equal(refused.json.code, "import_rejected");
  t.match(refused.json, { received: 4, imported: 0, rejected: 1 });
  t.same(refused.json.errors.map((e: { line: number; field: string }) => [e.line, e.field]), [[5, "imsi"]]);
  t.equal(await ctx.prisma.sim.count(), 0, "nothing imported");
  t.equal(await ctx.prisma.auditEvent.count({ where: { action: "sims.imported" } }), 0);

  const ok = await postCsv(staff, csv(rows), "?atomic=true");
  t.equal(ok.status, 200);
  t.match(ok.json, { received: 3, imported: 3, rejected: 0 });

  // An atomic import clashing with an existing SIM (found inside the transaction) imports nothing either.
  const clash = await staff.post("/v1/inventory/sims/import?atomic=true", {
    sims: [
      { iccid: n(5).iccid, imsi: n(5).imsi, formFactor: "ff4" },
      { iccid: n(1).iccid, imsi: n(6).imsi, formFactor: "ff4" },
    ],
  });
  t.equal(clash.status, 422);
  t.same(clash.json.errors.map((e: { line: number; field: string; code: string }) => [e.line, e.field, e.code]), [[2, "iccid", "duplicate"]]);
  t.equal(await ctx.prisma.sim.count(), 3);
});

t.test("file-level problems refuse the whole request", async (t) => {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const staff = await signedIn(ctx, platform.id, "operator");
  const n = numbers(5, 1);

  const unknownColumn = await postCsv(staff, csv([[n.iccid, n.imsi, "ff4", "x"]], ["iccid", "imsi", "formFactor", "colour"]));
  t.equal(unknownColumn.status, 400);
  t.equal(unknownColumn.json.code, "validation_failed");
  t.match(unknownColumn.json.errors[0], { field: "/body", reason: /unknown column "colour"/ });
  const missingColumn = await postCsv(staff, csv([[n.iccid, "ff4"]], ["iccid", "formFactor"]));
  t.equal(missingColumn.status, 400);
  t.match(missingColumn.json.errors[0].reason, /lacks the imsi column/);
  const unclosed = await postCsv(staff, `iccid,imsi,formFactor\r\n"${n.iccid},${n.imsi},ff4\r\n`);
  t.equal(unclosed.status, 400);
  t.match(unclosed.json.detail, /never closed/);
  const empty = await staff.post("/v1/inventory/sims/import", { sims: [] });
  t.equal(empty.status, 400);
  const extraProperty = await staff.post("/v1/inventory/sims/import", { sims: [{ iccid: n.iccid, imsi: n.imsi, formFactor: "ff4", ki: "secret" }] });
  t.equal(extraProperty.status, 400);
  t.match(extraProperty.json.errors[0].field, "/body/sims/0/ki");
  const xml = await staff.request("POST", "/v1/inventory/sims/import", { rawBody: "<sims/>", headers: { "content-type": "application/xml" } });
  t.equal(xml.status, 415);
  t.equal(xml.json.code, "unsupported_media_type");
  t.equal(await ctx.prisma.sim.count(), 0);

  // CSV is read on this route only.
  const elsewhere = await staff.request("POST", "/v1/rate-plans", { rawBody: "code,name\nX,Y\n", headers: { "content-type": "text/csv" } });
  t.equal(elsewhere.status, 415);

  // Header names are forgiving: any order, any case, spaces or underscores; a semicolon file too; a charset.
  const forgiving = await staff.request("POST", "/v1/inventory/sims/import", {
    rawBody: `Form Factor;IMSI;ICCID\n${"ff4"};${n.imsi};"${n.iccid}"\n`,
    headers: { "content-type": "text/csv; charset=utf-8" },
  });
  t.equal(forgiving.status, 200, forgiving.body);
  t.equal(forgiving.json.imported, 1);
});

t.test("only platform owners, admins and operators import", async (t) => {
  const ctx = await build(t);
  const platform = await createTenant(ctx.prisma, { kind: "platform" });
  const customer = await createTenant(ctx.prisma);
  const n = numbers(6, 1);
  const body = { sims: [{ iccid: n.iccid, imsi: n.imsi, formFactor: "ff4" }] };
  for (const role of ["billing", "viewer"] as const) {
    const res = await (await signedIn(ctx, platform.id, role)).post("/v1/inventory/sims/import", body);
    t.equal(res.status, 403, `platform ${role}`);
  }
  for (const role of ["owner", "admin", "operator"] as const) {
    const res = await (await signedIn(ctx, customer.id, role)).post("/v1/inventory/sims/import", body);
    t.equal(res.status, 403, `customer ${role}`);
  }
  t.equal(await ctx.prisma.sim.count(), 0);
  const unauthenticated = await ctx.client().post("/v1/inventory/sims/import", body);
  t.equal(unauthenticated.status, 401);
});
