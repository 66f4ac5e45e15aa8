import { randomBytes } from "node:crypto";
import pino from "pino";
import t from "tap";
import { Type } from "typebox";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { openRuntime } from "../../src/runtime.js";
import { createTestDatabase } from "../helpers/database.js";

// Response schemas are the last line of defence: a field a service forgot to leave out never reaches the client.
t.test("replies are serialised by their route's response schema: undeclared fields are dropped", async (t) => {
  const database = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: database.url, JWT_SECRET: randomBytes(32).toString("base64url"), ENCRYPTION_KEYS: `t1:${randomBytes(32).toString("base64")}`, LOG_LEVEL: "silent" });
  const runtime = await openRuntime(config, { work: false, log: () => undefined });
  const app = await buildApp({ config, db: runtime.db, jobs: runtime.jobs, secrets: runtime.secrets, connectors: runtime.connectors, logger: pino({ level: "silent" }) });
  t.teardown(async () => {
    await app.close();
    await runtime.close();
    await database.drop();
  });
  // A probe route, as a service with a leaky view function would answer.
  app.get(
    "/probe",
    { config: { public: true }, schema: { response: { 200: Type.Object({ id: Type.String(), bytes: Type.Integer() }) } } },
    async () => ({ id: "x", bytes: 2n ** 40n, passwordHash: "scrypt$leak" }) as unknown as { id: string; bytes: number },
  );
  await app.ready();
  const res = await app.inject({ method: "GET", url: "/probe" });
  t.equal(res.statusCode, 200);
  t.same(JSON.parse(res.body), { id: "x", bytes: 2 ** 40 }, "only declared fields; bigint serialised");
  t.notMatch(res.body, /scrypt/);
});
