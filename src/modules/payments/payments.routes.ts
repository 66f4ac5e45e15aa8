import type { App } from "../../http/route-types.js";
import type { PaymentsService } from "./payments.service.js";
import {
  PaymentCreateBody,
  PaymentImportCsvBody,
  PaymentImportQuery,
  PaymentImportResult,
  PaymentListQuery,
  PaymentPage,
  PaymentParams,
  PaymentRecorded,
  PaymentView,
} from "./payments.schemas.js";

/** 10,000 statement rows with long references and notes stay well under this. */
export const PAYMENT_IMPORT_BODY_LIMIT = 8 * 1024 * 1024;

export async function paymentsRoutes(app: App, opts: { payments: PaymentsService }) {
  const { payments } = opts;
  const tags = ["payments"];

  // CSV is read as text in this plugin's scope only (the SIM import has its own parser in its scope).
  if (app.hasContentTypeParser("text/csv")) app.removeContentTypeParser("text/csv");
  app.addContentTypeParser("text/csv", { parseAs: "string", bodyLimit: PAYMENT_IMPORT_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post(
    "/v1/payments",
    { schema: { operationId: "recordPayment", tags, summary: "Record a payment received against an invoice", body: PaymentCreateBody, response: { 201: PaymentRecorded } } },
    async (request, reply) => reply.status(201).send(await payments.record(request.actor, request.body)),
  );

  app.post(
    "/v1/payments/import",
    {
      bodyLimit: PAYMENT_IMPORT_BODY_LIMIT,
      schema: {
        operationId: "importPayments",
        tags,
        summary: "Import payments from a bank statement CSV",
        querystring: PaymentImportQuery,
        body: { content: { "text/csv": { schema: PaymentImportCsvBody } } },
        response: { 200: PaymentImportResult },
      },
    },
    async (request) => {
      const { atomic } = request.query as { atomic: boolean };
      return payments.importCsv(request.actor, request.body, atomic);
    },
  );

  app.get(
    "/v1/payments",
    { schema: { operationId: "listPayments", tags, summary: "Payment history", querystring: PaymentListQuery, response: { 200: PaymentPage } } },
    async (request) => payments.list(request.actor, request.query),
  );

  app.get(
    "/v1/payments/:id",
    { schema: { operationId: "getPayment", tags, summary: "One payment", params: PaymentParams, response: { 200: PaymentView } } },
    async (request) => payments.get(request.actor, request.params.id),
  );
}
