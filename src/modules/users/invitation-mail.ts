import type { MailInput } from "../../platform/mail/mailer.js";

/**
 * The invitation mail. The token travels in the link's fragment (`#token=`), which browsers never send to a
 * server, so it cannot end up in the access logs of a proxy or of the portal's static host.
 */
export function invitationMail(input: {
  publicUrl: string;
  token: string;
  tenantId: string;
  tenantName: string;
  to: string;
  role: string;
  inviterName: string | null;
  expiresAt: Date;
}): MailInput {
  const link = `${input.publicUrl}/invitations/accept#token=${input.token}`;
  const by = input.inviterName ? `${input.inviterName} invited you` : "You are invited";
  const body = (linkLine: string) =>
    [
      `${by} to join ${input.tenantName} on Conekt as ${input.role}.`,
      "",
      "Accept the invitation:",
      linkLine,
      "",
      `The link works once and expires on ${input.expiresAt.toISOString().slice(0, 16).replace("T", " ")} UTC.`,
      "If you did not expect this invitation, ignore this mail.",
    ].join("\n");
  return {
    tenantId: input.tenantId,
    to: input.to,
    subject: `Invitation to ${input.tenantName} on Conekt`,
    text: body(link),
    archivedText: body(`${input.publicUrl}/invitations/accept#token=[removed]`),
  };
}
