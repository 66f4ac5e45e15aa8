import { Readable } from "node:stream";
import { Type } from "typebox";
import { ProblemSchema, type App } from "../../http/route-types.js";
import type { InvoicesService } from "./invoices.service.js";
import { InvoiceListQuery, InvoicePage, InvoiceParams, InvoiceView } from "./invoices.schemas.js";

const problems = { 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/**
 * Binary and streamed bodies: Fastify sends a Buffer or a stream as is (no serialiser runs), so these schemas
 * only type the handler's reply; openapi.yaml declares the media types.
 */
const PdfBody = Type.Unsafe<Buffer>({ type: "string", format: "binary" });
const CsvBody = Type.Unsafe<Readable | undefined>({ type: "string" });

/** Does an If-None-Match header name this entity tag (or `*`)? */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

export async function invoicesRoutes(app: App, opts: { invoices: InvoicesService }) {
  const { invoices } = opts;
  const tags = ["invoices"];

  app.get(
    "/v1/invoices",
    { schema: { operationId: "listInvoices", tags, summary: "Invoices and credit notes, newest first", querystring: InvoiceListQuery, response: { 200: InvoicePage, ...problems } } },
    async (request) => invoices.list(request.actor, request.query),
  );

  app.get(
    "/v1/invoices/:id",
    { schema: { operationId: "getInvoice", tags, summary: "One invoice or credit note with its lines and totals", params: InvoiceParams, response: { 200: InvoiceView, ...problems } } },
    async (request) => invoices.get(request.actor, request.params.id),
  );

  app.get(
    "/v1/invoices/:id/pdf",
    { schema: { operationId: "getInvoicePdf", tags, summary: "The invoice as PDF (the stored document once issued)", params: InvoiceParams, response: { 200: PdfBody, 304: Type.Null(), ...problems } } },
    async (request, reply) => {
      const doc = await invoices.pdf(request.actor, request.params.id);
      const etag = `"${doc.sha256}"`;
      reply.header("etag", etag).header("content-disposition", `attachment; filename="${doc.filename}"`);
      // A stored document never changes: a cache may keep it and revalidate with the tag. A draft's preview
      // is of work in progress: never kept.
      reply.header("cache-control", doc.draft ? "no-store" : "private, no-cache");
      if (!doc.draft && matches(request.headers["if-none-match"], etag)) return reply.code(304).send(null);
      return reply.type("application/pdf").send(doc.pdf);
    },
  );

  app.get(
    "/v1/invoices/:id/csv",
    { schema: { operationId: "getInvoiceCsv", tags, summary: "The invoice's per-SIM charges as CSV (streamed)", params: InvoiceParams, response: { 200: CsvBody, ...problems } } },
    async (request, reply) => {
      const csv = await invoices.csv(request.actor, request.params.id);
      reply.type("text/csv; charset=utf-8").header("content-disposition", `attachment; filename="${csv.filename}"`).header("cache-control", "no-store");
      // HEAD: the headers only; draining the stream would run every page's query for nothing.
      if (request.method === "HEAD") {
        void csv.chunks.return(undefined);
        return reply.send(undefined);
      }
      const body = Readable.from(csv.chunks, { objectMode: false });
      // Headers are gone once the first chunk is out: a failure mid-export can only cut the stream short.
      body.on("error", (err) => request.log.error({ err }, "invoice CSV failed while streaming"));
      return reply.send(body);
    },
  );
}
