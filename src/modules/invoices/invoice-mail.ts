import type { Invoice } from "../../generated/prisma/client.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import { formatMinor } from "../billing/money.js";
import { isoDate } from "../billing/period.js";

/** The mail announcing an issued invoice or credit note (no secret in it: the link needs a signed-in user). */
export function invoiceMail(inv: Invoice, creditedNumber: string | null, publicUrl: string): { subject: string; text: string } {
  const period = isoDate(inv.periodStart).slice(0, 7);
  const total = `${formatMinor(inv.totalMinor, inv.currency)} ${inv.currency}`;
  const customer = (inv.customer as { legalName?: string }).legalName ?? "";
  const supplier = (inv.supplier as { legalName?: string }).legalName ?? "Conekt";
  const credit = inv.kind === "credit_note";
  const what = credit ? `Credit note ${inv.number}` : `Invoice ${inv.number}`;
  const lines = [
    `Hello ${customer},`,
    "",
    credit
      ? `${supplier} has issued credit note ${inv.number}${creditedNumber ? ` for invoice ${creditedNumber}` : ""} (period ${period}).`
      : `${supplier} has issued invoice ${inv.number} for the period ${period}.`,
    "",
    `Number: ${inv.number}`,
    `Period: ${period}`,
    `Total: ${total}`,
    ...(inv.dueDate ? [`Due date: ${isoDate(inv.dueDate)}`] : []),
    "",
    `Download it (PDF): ${publicUrl}/v1/invoices/${inv.id}/pdf`,
    `Per-SIM charges (CSV): ${publicUrl}/v1/invoices/${inv.id}/csv`,
  ];
  return { subject: `${what} for ${period}`, text: lines.join("\n") };
}

/**
 * Mails an issued document to the tenant's billing email and its billing contacts who receive invoices (each
 * address once). Safe to repeat: an address that already has this mail in `mail_messages` (same tenant, same
 * subject, which carries the number) is skipped, so a retried job mails nobody twice. Drafts are not mailed.
 */
export async function notifyInvoice(deps: { prisma: PrismaClient; mailer: Mailer; publicUrl: string }, invoiceId: string): Promise<{ sent: number; skipped: number }> {
  const { prisma } = deps;
  const inv = await prisma.invoice.findUnique({ where: { id: invoiceId } });
  if (!inv || inv.status === "draft" || !inv.number) return { sent: 0, skipped: 0 };
  const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: inv.tenantId }, select: { billingEmail: true } });
  const contacts = await prisma.billingContact.findMany({ where: { tenantId: inv.tenantId, receivesInvoices: true }, select: { email: true }, orderBy: { createdAt: "asc" } });
  const credited = inv.creditedInvoiceId ? await prisma.invoice.findUnique({ where: { id: inv.creditedInvoiceId }, select: { number: true } }) : null;
  const { subject, text } = invoiceMail(inv, credited?.number ?? null, deps.publicUrl);

  const recipients = new Map<string, string>();
  for (const email of [tenant.billingEmail, ...contacts.map((c) => c.email)]) if (email) recipients.set(email.toLowerCase(), email);
  const already = await prisma.mailMessage.findMany({ where: { tenantId: inv.tenantId, subject: subject.slice(0, 200) }, select: { to: true } });
  const done = new Set(already.map((m) => m.to.toLowerCase()));
  let sent = 0;
  for (const [key, to] of recipients) {
    if (done.has(key)) continue;
    await deps.mailer.send({ tenantId: inv.tenantId, to, subject, text, archivedText: text });
    sent++;
  }
  return { sent, skipped: recipients.size - sent };
}
