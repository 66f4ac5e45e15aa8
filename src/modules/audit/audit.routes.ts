import { Readable } from "node:stream";
import type { App } from "../../http/route-types.js";
import { auditCsvChunks } from "./audit.csv.js";
import { AuditEventPage, AuditExportQuery, AuditListQuery, AuditVerification, AuditVerifyQuery } from "./audit.schemas.js";
import type { AuditService } from "./audit.service.js";

export async function auditRoutes(app: App, opts: { audit: AuditService }) {
  const { audit } = opts;
  const tags = ["audit"];

  app.get(
    "/v1/audit-events",
    { schema: { operationId: "listAuditEvents", tags, summary: "The tenant's audit log, newest first", querystring: AuditListQuery, response: { 200: AuditEventPage } } },
    async (request) => audit.list(request.actor, request.query),
  );

  // The export is its own path (not content negotiation on the list), so a link or `curl -O` gets CSV.
  app.get(
    "/v1/audit-events.csv",
    {
      schema: {
        operationId: "exportAuditEvents",
        tags,
        summary: "The audit log as CSV, streamed",
        querystring: AuditExportQuery,
        // 200 is a text/csv stream (columns in audit.csv.ts, documented in openapi.yaml): nothing to serialise.
      },
    },
    async (request, reply) => {
      const { tenantId, pages } = await audit.export(request.actor, request.query);
      const body = Readable.from(auditCsvChunks(pages), { objectMode: false });
      // Headers are gone once the first chunk is out: a database failure mid-export can only cut the stream.
      body.on("error", (err) => request.log.error({ err }, "audit export failed while streaming"));
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="audit-events-${tenantId}.csv"`)
        .header("cache-control", "no-store")
        .send(body);
    },
  );

  app.get(
    "/v1/audit-events/verify",
    { schema: { operationId: "verifyAuditChain", tags, summary: "Recompute the tenant's audit hash chain", querystring: AuditVerifyQuery, response: { 200: AuditVerification } } },
    async (request) => audit.verify(request.actor, request.query),
  );
}
