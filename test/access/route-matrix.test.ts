import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { PROJECT_ROOT } from "../../src/platform/paths.js";
import { build } from "../helpers/build.js";
import { responseLog } from "../helpers/client.js";
import { operations, spec } from "../helpers/contract.js";
import { type Actor, type World, RECIPES, createMatrixWorld, signIn } from "./recipes.js";

/**
 * docs/permissions.md holds the role x route matrix; this test reads it and drives every route with every
 * role, so the document cannot drift from the code. A cell is `✓` (authorised: any answer but 401/403/404)
 * or `403` (refused for the role). Customer roles act on their own tenant's objects; cross-tenant access is
 * the isolation suite's job (isolation.test.ts).
 */
const COLUMNS = ["platform owner", "platform admin", "platform operator", "platform billing", "platform viewer", "owner", "admin", "operator", "billing", "viewer"] as const;

function readMatrix(): Map<string, Record<string, string>> {
  const doc = readFileSync(join(PROJECT_ROOT, "docs/permissions.md"), "utf8");
  const block = doc.split("<!-- matrix:start -->")[1]?.split("<!-- matrix:end -->")[0];
  if (!block) throw new Error("docs/permissions.md has no <!-- matrix:start --> ... <!-- matrix:end --> block");
  const rows = block.split("\n").filter((l) => l.startsWith("|")).map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
  const [header, , ...body] = rows;
  const cols = header!.slice(2).map((c) => c.toLowerCase());
  if (JSON.stringify(cols) !== JSON.stringify(COLUMNS)) throw new Error(`matrix columns must be: ${COLUMNS.join(", ")}`);
  return new Map(body.map((r) => [r[0]!.replace(/`/g, ""), Object.fromEntries(cols.map((c, i) => [c, r[i + 2]!]))]));
}

t.test("every documented route has a row in the matrix and a recipe", async (t) => {
  const matrix = readMatrix();
  const protectedOps = operations.filter((o) => !RECIPES[o.operationId]?.public);
  t.same(protectedOps.filter((o) => !matrix.has(o.operationId)).map((o) => o.operationId), [], "operations missing from docs/permissions.md");
  t.same(operations.filter((o) => !RECIPES[o.operationId]).map((o) => o.operationId), [], "operations without a recipe in test/access/recipes.ts");
  t.same([...matrix.keys()].filter((id) => !operations.some((o) => o.operationId === id)), [], "matrix rows naming no operation");
});

t.test("every route x every role answers as docs/permissions.md says", async (t) => {
  // Dozens of sign-ins from one address: lift the per-IP sign-in limit, which is tested on its own.
  const ctx = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "100000" });
  const world: World = await createMatrixWorld(ctx.prisma);
  const matrix = readMatrix();
  for (const column of COLUMNS) {
    const actor: Actor = world.actors[column]!;
    let client = await signIn(ctx, actor);
    for (const [operationId, cells] of matrix) {
      const recipe = RECIPES[operationId]!;
      const expected = cells[column];
      const request = await recipe.request(ctx, world, actor);
      const res = await client.request(request.method, request.url, request.body === undefined ? {} : { body: request.body });
      const label = `${operationId} as ${column}: ${res.status} ${res.json?.code ?? ""}`;
      if (expected === "✓") t.notOk([401, 403, 404].includes(res.status), label);
      else t.equal(String(res.status), expected, label);
      // Some actions end the session (logout, password change): sign in again for the next row.
      if (recipe.endsSession && res.status < 300) client = await signIn(ctx, actor);
    }
  }
});

t.test("no response schema carries a hash or secret, except the documented one-time reveals", async (t) => {
  // Fields that show a secret once, at the moment it is created, by design.
  const reveals = new Set(["secret", "otpauthUri", "qrSvg", "recoveryCodes", "key", "csrfToken", "mfaToken"]);
  const found: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (!node || typeof node !== "object") return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === "properties" && v && typeof v === "object") {
        for (const name of Object.keys(v)) if (/hash|password|secret|recovery|token|^key$/i.test(name) && !reveals.has(name)) found.push(`${path}.${name}`);
      }
      walk(v, `${path}.${k}`);
    }
  };
  for (const [p, item] of Object.entries(spec.paths as Record<string, Record<string, { responses?: unknown }>>)) {
    for (const [m, op] of Object.entries(item)) walk(op.responses, `${m.toUpperCase()} ${p}`);
  }
  t.same(found, [], "no hash/secret-like field in any response schema");
});

t.test("no stored hash or secret ever appears in a response (every route, every role)", async (t) => {
  const ctx = await build(t, { RATE_LIMIT_AUTH_PER_MINUTE: "100000" });
  const world = await createMatrixWorld(ctx.prisma);
  const start = responseLog.length;
  for (const column of ["owner", "platform owner"]) {
    const actor = world.actors[column]!;
    let client = await signIn(ctx, actor);
    // Enrol MFA and mint a key first, so their stored forms exist to look for.
    await client.post("/v1/me/mfa/totp");
    await client.post("/v1/api-keys", { name: "leak check", scopes: ["tenant:read"] });
    for (const [operationId, recipe] of Object.entries(RECIPES)) {
      const request = await recipe.request(ctx, world, actor);
      await client.request(request.method, request.url, request.body === undefined ? {} : { body: request.body });
      if (recipe.endsSession) client = await signIn(ctx, actor);
      t.pass(operationId);
    }
  }
  const stored = await ctx.prisma.$queryRaw<Array<{ v: string }>>`
    SELECT password_hash AS v FROM enterprise.users
    UNION ALL SELECT secret_hash FROM enterprise.api_keys
    UNION ALL SELECT code_hash FROM enterprise.recovery_codes
    UNION ALL SELECT token_hash FROM enterprise.refresh_tokens
    UNION ALL SELECT token_hash FROM enterprise.invitations
    UNION ALL SELECT encode(secret_enc, 'base64') FROM enterprise.mfa_factors`;
  t.ok(stored.length > 20, `${stored.length} stored secrets to look for`);
  const bodies = responseLog.slice(start).join("\n");
  t.same(stored.filter((s) => bodies.includes(s.v)).map((s) => s.v.slice(0, 12)), [], "none found in any response");
});
