import type { Readable } from "node:stream";
import type { App } from "../../http/route-types.js";
import type { UsageIngestService } from "./usage-ingest.service.js";
import { UsageIngestResult } from "./usage-ingest.schemas.js";
import { MAX_BYTES_PER_REQUEST } from "./usage-record.js";

/** The media types a usage feed may post; anything else is 415 `unsupported_media_type`. */
export const USAGE_MEDIA_TYPES = ["application/json", "application/x-ndjson", "application/ndjson", "text/csv"] as const;

/**
 * POST /v1/usage/records, in a plugin of its own so its body handling stays here:
 *
 * - Every parser of this scope hands the raw request stream to the service (`done(null, payload)`): the body
 *   is parsed record by record as it arrives (ingest-parse.ts), never buffered whole, and Fastify's JSON parser
 *   and service-wide body limit (1 MB) do not apply. Fastify enforces no limit on a stream parser, so the
 *   parser itself stops at 10 MB (413); `bodyLimit` below only documents the bound. The service-wide parsers
 *   are removed first, so `text/plain` and the rest are 415.
 * - The Idempotency-Key header is ignored here. Ingestion is idempotent by itself (a record is identified by
 *   its sourceId and startedAt within its tenant: a resend is counted as duplicates and stores nothing), and
 *   the idempotency plugin cannot serve this route anyway: it fingerprints the body bytes as Fastify's parser
 *   reads them and claims the key in preHandler, before this route's handler has read any of the stream
 *   (the digest would cover no body, and the hash would be finalised under the still-flowing stream).
 *   `config.idempotency: false` keeps the plugin out.
 */
export async function usageIngestRoutes(app: App, opts: { usage: UsageIngestService }) {
  const { usage } = opts;

  app.removeAllContentTypeParsers();
  for (const type of USAGE_MEDIA_TYPES) app.addContentTypeParser(type, (_request, payload, done) => done(null, payload));

  app.post(
    "/v1/usage/records",
    {
      bodyLimit: MAX_BYTES_PER_REQUEST,
      config: { idempotency: false },
      schema: {
        operationId: "ingestUsageRecords",
        tags: ["usage"],
        summary: "Ingest usage records (JSON array, NDJSON or CSV)",
        response: { 200: UsageIngestResult },
      },
    },
    async (request) => usage.ingest(request.actor, request.body as Readable | undefined, request.headers["content-type"]),
  );
}
