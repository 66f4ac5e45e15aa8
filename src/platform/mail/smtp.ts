import nodemailer from "nodemailer";

/** One message as it leaves over SMTP. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
}

export interface SmtpSender {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/**
 * SMTP through nodemailer, from an `smtp://` or `smtps://user:pass@host:port` URL (`smtp://` upgrades with
 * STARTTLS when the server offers it). Timeouts are short: a request waits for the send (after its transaction
 * committed), so a dead mail server must not hold it for nodemailer's default two minutes.
 */
export function createSmtpSender(url: string, from: string): SmtpSender {
  const transport = nodemailer.createTransport(
    { url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000, dnsTimeout: 10_000 },
    { from },
  );
  return {
    async send(mail) {
      await transport.sendMail({ to: mail.to, subject: mail.subject, text: mail.text });
    },
    close: () => transport.close(),
  };
}
