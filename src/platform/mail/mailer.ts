import type { PrismaClient } from "../db/database.js";
import { createSmtpSender, type SmtpSender } from "./smtp.js";

export interface MailInput {
  /** The tenant the mail concerns, for the outbox; null for platform mail. */
  tenantId: string | null;
  to: string;
  subject: string;
  text: string;
  /**
   * What is kept of a mail that left by SMTP: the text without its single-use links, so the stored copy grants
   * nothing. Without SMTP the full text is kept, since the outbox is then the only way to read it.
   */
  archivedText: string;
}

export interface Mailer {
  readonly transport: "smtp" | "outbox";
  /**
   * Sends one mail and records it. Call it only after the transaction that caused the mail committed (a mail
   * cannot be rolled back). A failed SMTP send is recorded and logged, not thrown: the caller's change stands.
   */
  send(mail: MailInput): Promise<{ id: string; sent: boolean }>;
  close(): void;
}

export interface MailerOptions {
  prisma: PrismaClient;
  /** `smtp(s)://` URL; unset: the development outbox. */
  smtpUrl?: string;
  from: string;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * Outgoing mail: over SMTP when SMTP_URL is set; otherwise logged and kept in `enterprise.mail_messages` with
 * transport "outbox", where platform staff read it (GET /v1/platform/outbox).
 */
export function createMailer(opts: MailerOptions): Mailer {
  const { prisma, log } = opts;
  const smtp: SmtpSender | undefined = opts.smtpUrl ? createSmtpSender(opts.smtpUrl, opts.from) : undefined;

  return {
    transport: smtp ? "smtp" : "outbox",

    async send(mail) {
      const base = { tenantId: mail.tenantId, to: mail.to, subject: mail.subject.slice(0, 200) };
      if (!smtp) {
        const row = await prisma.mailMessage.create({ data: { ...base, text: mail.text, transport: "outbox" } });
        log.info({ mailId: row.id, to: mail.to, subject: base.subject }, "mail kept in the outbox (SMTP_URL is not set); platform staff read it at GET /v1/platform/outbox");
        return { id: row.id, sent: false };
      }
      let error: string | null = null;
      try {
        await smtp.send(mail);
      } catch (err) {
        error = (err as Error).message.slice(0, 500) || "SMTP send failed";
        log.warn({ to: mail.to, subject: base.subject, err: error }, "mail could not be sent over SMTP");
      }
      const row = await prisma.mailMessage.create({
        data: { ...base, text: mail.archivedText, transport: "smtp", sentAt: error ? null : new Date(), error },
      });
      return { id: row.id, sent: !error };
    },

    close: () => smtp?.close(),
  };
}
