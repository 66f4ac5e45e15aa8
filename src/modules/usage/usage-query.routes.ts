import { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { App } from "../../http/route-types.js";
import type { Answer } from "./usage-query.service.js";
import type { UsageQueryService } from "./usage-query.service.js";
import { FleetUsage, SimUsage, SimUsageParams, SimUsageQuery, UsageQuery } from "./usage-query.schemas.js";

/**
 * The usage API. Each route answers JSON or, for `Accept: text/csv` (or `?format=csv`, which wins over Accept,
 * for links), the same selection as a CSV file streamed page by page.
 */
export async function usageQueryRoutes(app: App, opts: { usage: UsageQueryService }) {
  const { usage } = opts;
  const tags = ["usage"];

  app.get(
    "/v1/sims/:iccid/usage",
    {
      schema: {
        operationId: "getSimUsage",
        tags,
        summary: "One SIM's usage over time (JSON or CSV)",
        params: SimUsageParams,
        querystring: SimUsageQuery,
        // JSON is serialised by this schema; a CSV answer is a stream, which Fastify sends as is.
        response: { 200: SimUsage },
      },
    },
    async (request, reply) => send(request, reply, await usage.simUsage(request.actor, request.params.iccid, request.query, { csv: wantsCsv(request.query.format, request.headers.accept) })),
  );

  app.get(
    "/v1/usage",
    {
      schema: {
        operationId: "getUsage",
        tags,
        summary: "The fleet's usage over time, grouped or not (JSON or CSV)",
        querystring: UsageQuery,
        response: { 200: FleetUsage },
      },
    },
    async (request, reply) => send(request, reply, await usage.fleetUsage(request.actor, request.query, { csv: wantsCsv(request.query.format, request.headers.accept) })),
  );
}

function send<T>(request: FastifyRequest, reply: FastifyReply, answer: Answer<T>) {
  // Caches must keep JSON and CSV apart: the same URL answers both.
  reply.header("vary", "Accept");
  if (answer.kind === "json") return answer.body;
  reply
    .type("text/csv; charset=utf-8")
    .header("content-disposition", `attachment; filename="${answer.filename}"`)
    .header("cache-control", "no-store")
    .header("usage-rolled-up-through", answer.completeness.rolledUpThrough.toISOString());
  if (answer.completeness.finalThrough) reply.header("usage-final-through", answer.completeness.finalThrough.toISOString());
  // HEAD: the headers only. Fastify would otherwise drain the stream, running every page's query for nothing.
  if (request.method === "HEAD") {
    void answer.chunks.return(undefined);
    return reply.send();
  }
  const body = Readable.from(answer.chunks, { objectMode: false });
  // Headers are gone once the first chunk is out: a database failure mid-export can only cut the stream short.
  body.on("error", (err) => request.log.error({ err }, "usage export failed while streaming"));
  return reply.send(body);
}

/**
 * CSV when `format=csv`, or without `format` when Accept names text/csv with a quality not below
 * application/json's (wildcards choose JSON, the default).
 */
export function wantsCsv(format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === "csv";
  if (!accept) return false;
  let csv = 0;
  let json = 0;
  for (const range of accept.split(",")) {
    const [type, ...params] = range.split(";").map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === "text/csv") csv = Math.max(csv, q);
    else if (type === "application/json") json = Math.max(json, q);
  }
  return csv > 0 && csv >= json;
}
