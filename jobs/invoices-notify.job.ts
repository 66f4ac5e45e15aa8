import { notifyInvoice } from "../src/modules/invoices/invoice-mail.js";
import type { Processor } from "../src/platform/jobs/job-runner.js";
import { createMailer } from "../src/platform/mail/mailer.js";
import type { ProcessorDeps } from "./processors.js";

/**
 * invoices.notify: mails an issued invoice or credit note to the tenant's billing email and its billing contacts
 * (src/modules/invoices/invoice-mail.ts), after the issuing transaction committed. Repeat-safe per address.
 */
export function invoicesNotifyJob(deps: Pick<ProcessorDeps, "prisma" | "config">): Processor<"invoices.notify"> {
  return async ({ invoiceId }, ctx) => {
    const log = { info: () => undefined, warn: (_obj: object, msg: string) => ctx.log(`invoices.notify ${invoiceId}: ${msg}`) };
    const mailer = createMailer({ prisma: deps.prisma, smtpUrl: deps.config.mail.smtpUrl, from: deps.config.mail.from, log });
    try {
      return await notifyInvoice({ prisma: deps.prisma, mailer, publicUrl: deps.config.publicUrl }, invoiceId);
    } finally {
      mailer.close();
    }
  };
}
