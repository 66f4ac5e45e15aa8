import { execFile } from "node:child_process";
import { promisify } from "node:util";
import t from "tap";
import { build } from "../helpers/build.js";
import { operations, spec } from "../helpers/contract.js";

const run = promisify(execFile);

t.test("every route in openapi.yaml is served, and every served route is in it", async (t) => {
  const { app } = await build(t);
  const served = new Set(app.routeList.map((r) => `${r.method} ${r.url}`));
  const documented = new Set(operations.map((o) => `${o.method} ${o.fastifyPath}`));
  t.same([...documented].filter((r) => !served.has(r)), [], "documented but not served");
  t.same([...served].filter((r) => !documented.has(r)), [], "served but not documented");
});

t.test("operation ids are unique and every operation is tagged and summarised", async (t) => {
  const ids = operations.map((o) => o.operationId);
  t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], "no duplicate operationId");
  for (const o of operations) {
    const op = spec.paths[o.path][o.method.toLowerCase()];
    t.ok(op.tags?.length && op.summary, `${o.operationId} has tags and a summary`);
  }
});

t.test("the served routes carry the same operationIds as the contract", async (t) => {
  const { app } = await build(t);
  for (const o of operations) {
    const route = app.routeList.find((r) => r.method === o.method && r.url === o.fastifyPath);
    t.equal(route?.operationId, o.operationId, `${o.method} ${o.path}`);
  }
});

t.test("GET /openapi.yaml serves the contract", async (t) => {
  const { client } = await build(t);
  const res = await client().get("/openapi.yaml");
  t.equal(res.status, 200);
  t.match(res.body, /^openapi: 3\.1\.0/);
});

t.test("Redocly lints openapi.yaml clean", async (t) => {
  const { stdout, stderr } = await run("npx", ["redocly", "lint", "openapi.yaml", "--format=stylish"], { env: { ...process.env, NO_COLOR: "1" } });
  t.match(stdout + stderr, /valid/i);
  t.notMatch(stdout + stderr, /error/i);
});
