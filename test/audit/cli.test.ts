// `npm run cli -- audit verify`: the operator's chain check, as a child process against the test database.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { issueApiKey } from "../../src/modules/api-keys/api-keys.repository.js";
import { verifyChain } from "../../src/modules/audit/audit.verify.js";
import { systemActor } from "../../src/modules/audit/audit.writer.js";
import { build } from "../helpers/build.js";
import { runCli } from "../helpers/cli.js";
import { Client } from "../helpers/client.js";
import { createTenant } from "../helpers/factories.js";
import { seedEvents, tamper } from "./helpers.js";

const { app, prisma, databaseUrl } = await build(t);
const dataDir = mkdtempSync(join(tmpdir(), "conekt-audit-cli-"));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
const cli = (...args: string[]) => runCli(["audit", "verify", ...args], { DATABASE_URL: databaseUrl, DATA_DIR: dataDir });

const alpha = await createTenant(prisma, { slug: "alpha-fleet" });
const beta = await createTenant(prisma, { slug: "beta-fleet" });
const { key } = await prisma.$transaction((tx) => issueApiKey(tx, systemActor("test"), { tenantId: alpha.id, name: "cli test", scopes: ["audit:read"], expiresAt: null, createdById: null }));
const api = new Client(app, { headers: { authorization: `Bearer ${key}` } });
await seedEvents(prisma, alpha.id, 40);
await seedEvents(prisma, beta.id, 12);

/** The single JSON line on stdout. */
function json(t: Test, stdout: string): Record<string, unknown> {
  const lines = stdout.split("\n").filter((l) => l.trim());
  t.equal(lines.length, 1, "one line of JSON", { stdout });
  return JSON.parse(lines[0] ?? "null") as Record<string, unknown>;
}

t.test("an intact chain: exit 0, and the same result as the API", async (t) => {
  const bySlug = await cli("--tenant", "alpha-fleet", "--json");
  t.equal(bySlug.code, 0, bySlug.stderr);
  const result = json(t, bySlug.stdout);
  t.same(result, { ok: true, checked: 41, tenantId: alpha.id });
  t.same(result, (await api.get("/v1/audit-events/verify")).json, "what GET /v1/audit-events/verify answers");

  const byId = await cli("--tenant", alpha.id, "--json");
  t.equal(byId.code, 0);
  t.same(json(t, byId.stdout), result, "by id");

  const all = await cli();
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, new RegExp(`^ok +alpha-fleet \\(${alpha.id}\\): 41 event\\(s\\) verified$`, "m"));
  t.match(all.stdout, new RegExp(`^ok +beta-fleet \\(${beta.id}\\): 12 event\\(s\\) verified$`, "m"));
});

t.test("a broken chain: the first broken link, and a non-zero exit", async (t) => {
  await tamper(databaseUrl, "UPDATE enterprise.audit_events SET ip = '203.0.113.99' WHERE tenant_id = $1 AND seq = 7", [beta.id]);
  const row = await prisma.auditEvent.findUniqueOrThrow({ where: { tenantId_seq: { tenantId: beta.id, seq: 7n } } });
  const expected = { ok: false, checked: 6, tenantId: beta.id, firstBroken: { seq: 7, id: row.id, reason: "hash_mismatch" } };
  t.same(await verifyChain(prisma, beta.id), expected);

  const one = await cli("--tenant", "beta-fleet", "--json");
  t.equal(one.code, 3);
  t.same(json(t, one.stdout), expected, "the verifier's result");

  const text = await cli("--tenant", "beta-fleet");
  t.equal(text.code, 3);
  t.match(text.stdout, `BROKEN beta-fleet (${beta.id}): hash_mismatch at seq 7 (event ${row.id}); 6 event(s) verified before it`);

  const all = await cli("--json");
  t.equal(all.code, 3, "one broken tenant fails the whole run");
  const report = json(t, all.stdout) as { ok: boolean; tenants: Array<Record<string, unknown>> };
  t.equal(report.ok, false);
  t.same(report.tenants.find((r) => r.tenantId === beta.id), { ...expected, slug: "beta-fleet" });
  t.match(report.tenants.find((r) => r.tenantId === alpha.id), { ok: true, slug: "alpha-fleet" });

  const intact = await cli("--tenant", "alpha-fleet");
  t.equal(intact.code, 0, "the intact tenant alone still passes");
});

t.test("an unknown tenant is an error, not a pass", async (t) => {
  const res = await cli("--tenant", "no-such-fleet");
  t.not(res.code, 0);
  t.match(res.stderr, /not_found: Tenant "no-such-fleet" was not found/);
  t.equal(res.stdout, "");
});
