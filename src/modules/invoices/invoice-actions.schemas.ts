import { Type, type Static } from "typebox";

/**
 * Bodies of the invoice actions (issue, void, credit notes). Answers are the `InvoiceView` of invoices.schemas.ts.
 */

const Reason = Type.String({ minLength: 1, maxLength: 500, pattern: "\\S", description: "Why: kept on the document and in the audit trail." });

export const VoidInvoiceBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type VoidInvoiceBody = Static<typeof VoidInvoiceBody>;

export const CreditLineBody = Type.Object(
  {
    position: Type.Integer({ minimum: 1, maximum: 1_000_000, description: "The invoice line's position." }),
    quantity: Type.Optional(
      Type.String({ pattern: "^[0-9]{1,18}(\\.[0-9]{1,6})?$", description: "How much of the line's quantity to credit (exact decimal > 0); omitted: all that is left of the line." }),
    ),
  },
  { additionalProperties: false },
);

export const CreditNoteBody = Type.Object(
  {
    reason: Reason,
    lines: Type.Optional(Type.Array(CreditLineBody, { minItems: 1, maxItems: 1000, description: "The lines to credit; omitted: everything left of the invoice." })),
  },
  { additionalProperties: false },
);
export type CreditNoteBody = Static<typeof CreditNoteBody>;
