import { Type, type Static } from "typebox";

/** A code from the authenticator app. */
export const TotpCode = Type.String({ pattern: "^[0-9]{6}$", description: "The 6-digit code the authenticator app shows now." });

/**
 * What a sign-in's second step accepts (for the identity routes): a 6-digit TOTP code or a recovery code
 * (`xxxxx-xxxxx-xxxxx`; case, spaces and dashes do not matter).
 */
export const MfaCode = Type.String({
  minLength: 6,
  maxLength: 17,
  pattern: "^([0-9]{6}|[0-9A-Za-z]{5}[- ]?[0-9A-Za-z]{5}[- ]?[0-9A-Za-z]{5})$",
  description: "A 6-digit TOTP code, or one of the recovery codes.",
});

const Password = Type.String({ minLength: 1, maxLength: 1024, description: "The account's current password, asked again." });

export const TotpConfirmBody = Type.Object({ code: TotpCode }, { additionalProperties: false });
export const PasswordBody = Type.Object({ password: Password }, { additionalProperties: false });

export const MfaStatusView = Type.Object({
  enabled: Type.Boolean({ description: "A confirmed TOTP factor exists: sign-in asks for a code." }),
  confirmedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  recoveryCodesRemaining: Type.Integer({ minimum: 0, maximum: 10 }),
});
export type MfaStatusView = Static<typeof MfaStatusView>;

export const TotpEnrolmentView = Type.Object({
  secret: Type.String({ description: "Base32 secret, shown this once; for typing into an app by hand." }),
  otpauthUri: Type.String({ description: "otpauth://totp/Conekt:<email>?secret=...&issuer=Conekt" }),
  qrSvg: Type.String({ description: "The URI as an SVG QR code." }),
});
export type TotpEnrolmentView = Static<typeof TotpEnrolmentView>;

export const RecoveryCodesView = Type.Object({
  recoveryCodes: Type.Array(Type.String({ pattern: "^[0-9a-z]{5}-[0-9a-z]{5}-[0-9a-z]{5}$" }), { minItems: 10, maxItems: 10, description: "Single-use codes, shown this once." }),
});
export type RecoveryCodesView = Static<typeof RecoveryCodesView>;
