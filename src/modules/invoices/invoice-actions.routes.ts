import type { App } from "../../http/route-types.js";
import type { InvoiceActionsService } from "./invoice-actions.service.js";
import { CreditNoteBody, VoidInvoiceBody } from "./invoice-actions.schemas.js";
import { InvoiceParams, InvoiceView } from "./invoices.schemas.js";

export async function invoiceActionsRoutes(app: App, opts: { invoiceActions: InvoiceActionsService }) {
  const { invoiceActions } = opts;
  const tags = ["invoices"];

  app.post(
    "/v1/invoices/:id/issue",
    { schema: { operationId: "issueInvoice", tags, summary: "Issue a draft invoice (assigns its number)", params: InvoiceParams, response: { 200: InvoiceView } } },
    async (request) => invoiceActions.issue(request.actor, request.params.id),
  );

  app.post(
    "/v1/invoices/:id/void",
    { schema: { operationId: "voidInvoice", tags, summary: "Void an invoice (an issued one is credited in full first)", params: InvoiceParams, body: VoidInvoiceBody, response: { 200: InvoiceView } } },
    async (request) => invoiceActions.void(request.actor, request.params.id, request.body),
  );

  app.post(
    "/v1/invoices/:id/credit-notes",
    { schema: { operationId: "createCreditNote", tags, summary: "Issue a credit note for an invoice", params: InvoiceParams, body: CreditNoteBody, response: { 201: InvoiceView } } },
    async (request, reply) => {
      const note = await invoiceActions.createCreditNote(request.actor, request.params.id, request.body);
      return reply.status(201).header("location", `/v1/invoices/${note.id}`).send(note);
    },
  );
}
