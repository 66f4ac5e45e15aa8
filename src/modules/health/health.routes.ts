import { Type } from "typebox";
import type { App } from "../../http/route-types.js";
import { sendProblem } from "../../http/problem.js";

export interface HealthChecks {
  database: () => Promise<void>;
  /** Absent when there is no Redis (embedded default). */
  redis?: () => Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

function withTimeout(p: Promise<void>): Promise<void> {
  return Promise.race([p, new Promise<void>((_, reject) => setTimeout(() => reject(new Error("timed out")), CHECK_TIMEOUT_MS).unref())]);
}

export async function healthRoutes(app: App, opts: { checks: HealthChecks }) {
  const tags = ["operations"];
  app.get(
    "/health",
    { config: { public: true }, schema: { operationId: "getHealth", tags, summary: "Liveness: the process answers", response: { 200: Type.Object({ status: Type.Literal("ok") }) } } },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/ready",
    {
      config: { public: true },
      schema: {
        operationId: "getReadiness",
        tags,
        summary: "Readiness: the database and, where configured, Redis answer",
        response: { 200: Type.Object({ status: Type.Literal("ready"), checks: Type.Record(Type.String(), Type.Literal("ok")) }) },
      },
    },
    async (request, reply) => {
      const entries = Object.entries(opts.checks).filter((e): e is [string, () => Promise<void>] => typeof e[1] === "function");
      const results = await Promise.allSettled(entries.map(([, check]) => withTimeout(check())));
      const failed = entries.filter((_, i) => results[i]!.status === "rejected").map(([name]) => name);
      if (failed.length) {
        request.log.warn({ failed }, "readiness check failed");
        return sendProblem(request, reply, { status: 503, code: "not_ready", title: "Service unavailable", detail: `Not ready: ${failed.join(", ")} did not answer.` });
      }
      return { status: "ready" as const, checks: Object.fromEntries(entries.map(([name]) => [name, "ok" as const])) };
    },
  );
}
