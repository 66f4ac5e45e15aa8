import { Type, type Static } from "typebox";
import { MfaCode, TotpCode } from "../mfa/mfa.schemas.js";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password-policy.js";

export const Email = Type.String({ minLength: 3, maxLength: 254, format: "email" });

export const LoginBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    tenant: Type.Optional(Type.String({ minLength: 3, maxLength: 63, pattern: "^[a-z0-9-]+$", description: "Slug of the tenant to act in, for accounts that belong to several." })),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const Role = Type.Union([Type.Literal("owner"), Type.Literal("admin"), Type.Literal("operator"), Type.Literal("billing"), Type.Literal("viewer")]);

export const SessionView = Type.Object({
  user: Type.Object({ id: Type.String({ format: "uuid" }), email: Type.String(), name: Type.String() }),
  tenant: Type.Object({
    id: Type.String({ format: "uuid" }),
    slug: Type.String(),
    legalName: Type.String(),
    kind: Type.Union([Type.Literal("platform"), Type.Literal("customer")]),
  }),
  role: Role,
});
export type SessionView = Static<typeof SessionView>;

const authenticatedFields = {
  status: Type.Literal("authenticated"),
  csrfToken: Type.String({ description: "Send as the x-csrf-token header on every state-changing request made with the session cookie (refresh included)." }),
  expiresAt: Type.String({ format: "date-time", description: "When the access cookie expires: refresh before then." }),
  sessionExpiresAt: Type.String({ format: "date-time", description: "The session's absolute end: refreshing never extends it." }),
  session: SessionView,
};
export const Authenticated = Type.Object(authenticatedFields);
export type Authenticated = Static<typeof Authenticated>;

const MfaToken = Type.String({ minLength: 20, maxLength: 2048, pattern: "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$", description: "The `mfaToken` of the sign-in answer (valid 5 minutes)." });

export const MfaRequired = Type.Object({
  status: Type.Literal("mfa_required"),
  mfaToken: Type.String({ description: "Send with a code to POST /v1/auth/mfa/verify within 5 minutes." }),
});
export const MfaEnrollmentRequired = Type.Object({
  status: Type.Literal("mfa_enrollment_required"),
  mfaToken: Type.String({ description: "The tenant requires MFA: enrol with POST /v1/auth/mfa/enrol and .../enrol/confirm within 5 minutes." }),
});

export const LoginResult = Type.Union([Authenticated, MfaRequired, MfaEnrollmentRequired]);
export type LoginResult = Static<typeof LoginResult>;

export const EnrolledResult = Type.Object({
  ...authenticatedFields,
  recoveryCodes: Type.Array(Type.String(), { minItems: 10, maxItems: 10, description: "Single-use recovery codes, shown this once." }),
});

export const MfaVerifyBody = Type.Object({ mfaToken: MfaToken, code: MfaCode }, { additionalProperties: false });
export const MfaEnrolBody = Type.Object({ mfaToken: MfaToken }, { additionalProperties: false });
export const MfaEnrolConfirmBody = Type.Object({ mfaToken: MfaToken, code: TotpCode }, { additionalProperties: false });

export const NewPassword = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters, not one of the commonly used passwords (compared case-insensitively).`,
});

export const PasswordChangeBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: NewPassword },
  { additionalProperties: false },
);
export type PasswordChangeBody = Static<typeof PasswordChangeBody>;

export const CsrfView = Type.Object({ csrfToken: Type.String() });
