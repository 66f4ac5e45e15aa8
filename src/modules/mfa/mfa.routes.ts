import { Type } from "typebox";
import type { App } from "../../http/route-types.js";
import { requireUser } from "../access/authorize.js";
import type { Actor } from "../access/principal.js";
import type { MfaService, MfaUser } from "./mfa.service.js";
import { MfaStatusView, PasswordBody, RecoveryCodesView, TotpConfirmBody, TotpEnrolmentView } from "./mfa.schemas.js";

/** The signed-in user's own TOTP factor. API keys get 403: MFA belongs to a person. */
export async function mfaRoutes(app: App, opts: { mfa: MfaService }) {
  const { mfa } = opts;
  const tags = ["mfa"];

  const self = (actor: Actor): MfaUser => {
    const p = requireUser(actor);
    return { id: p.userId, email: p.email, tenantId: p.tenantId };
  };

  app.get(
    "/v1/me/mfa",
    { schema: { operationId: "getMfaStatus", tags, summary: "Whether TOTP MFA is on, and how many recovery codes are left", response: { 200: MfaStatusView } } },
    async (request) => mfa.status(self(request.actor).id),
  );

  app.post(
    "/v1/me/mfa/totp",
    { schema: { operationId: "beginTotpEnrolment", tags, summary: "Start TOTP enrolment: a new secret, its otpauth URI and QR code (shown once)", response: { 200: TotpEnrolmentView } } },
    async (request, reply) => {
      // The secret must not linger in any cache between the server and the user.
      reply.header("cache-control", "no-store");
      return mfa.beginEnrolment(request.actor, self(request.actor));
    },
  );

  app.post(
    "/v1/me/mfa/totp/confirm",
    { schema: { operationId: "confirmTotpEnrolment", tags, summary: "Activate TOTP with the app's current code; returns 10 recovery codes (shown once)", body: TotpConfirmBody, response: { 200: RecoveryCodesView } } },
    async (request, reply) => {
      reply.header("cache-control", "no-store");
      return mfa.confirmEnrolment(request.actor, self(request.actor), request.body.code);
    },
  );

  app.delete(
    "/v1/me/mfa/totp",
    { schema: { operationId: "disableTotp", tags, summary: "Turn TOTP MFA off (asks for the password again)", body: PasswordBody, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await mfa.disable(request.actor, self(request.actor), request.body.password);
      return reply.status(204).send(null);
    },
  );

  app.post(
    "/v1/me/mfa/recovery-codes",
    { schema: { operationId: "regenerateRecoveryCodes", tags, summary: "Replace the recovery codes with 10 new ones (asks for the password again)", body: PasswordBody, response: { 200: RecoveryCodesView } } },
    async (request, reply) => {
      reply.header("cache-control", "no-store");
      return mfa.regenerateRecoveryCodes(request.actor, self(request.actor), request.body.password);
    },
  );
}
