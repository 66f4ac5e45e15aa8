import type { FastifyInstance } from "fastify";
import { JWT_ISSUER } from "../../http/authentication.js";
import { UnauthenticatedError } from "../../platform/errors.js";

/**
 * The `mfaToken` between a verified password and a session: a JWT signed with the session secret but with its
 * own audience and `typ`, so it can never pass as a session (and a session token never passes as this).
 * It names the account and tenant the password was verified for, and what the next step is.
 */
export const MFA_AUDIENCE = "conekt:mfa";
export const MFA_TOKEN_TTL_SECONDS = 5 * 60;

export type MfaPurpose = "verify" | "enrol";

export interface MfaClaims {
  sub: string;
  tid: string;
  typ: "mfa";
  purpose: MfaPurpose;
}

export function signMfaToken(app: FastifyInstance, account: { userId: string; tenantId: string }, purpose: MfaPurpose): string {
  const claims: MfaClaims = { sub: account.userId, tid: account.tenantId, typ: "mfa", purpose };
  return app.jwt.sign(claims, { expiresIn: MFA_TOKEN_TTL_SECONDS, aud: MFA_AUDIENCE, iss: JWT_ISSUER });
}

/** The token's account, when it is ours, unexpired, and meant for `purpose`; else 401 `mfa_token_invalid`. */
export function verifyMfaToken(app: FastifyInstance, token: string, purpose: MfaPurpose): { userId: string; tenantId: string } {
  let claims: Partial<MfaClaims>;
  try {
    claims = app.jwt.verify<MfaClaims>(token, { allowedAud: MFA_AUDIENCE, allowedIss: JWT_ISSUER });
  } catch {
    throw new UnauthenticatedError("The sign-in step has expired or is invalid; sign in again.", "mfa_token_invalid");
  }
  if (claims.typ !== "mfa" || claims.purpose !== purpose || typeof claims.sub !== "string" || typeof claims.tid !== "string") {
    throw new UnauthenticatedError("This sign-in step does not accept that token; sign in again.", "mfa_token_invalid");
  }
  return { userId: claims.sub, tenantId: claims.tid };
}
