import { randomInt } from "node:crypto";
import { sha256Hex } from "../../platform/crypto.js";

/**
 * The activation code a device scans (GSMA SGP.22 4.1): `LPA:1$<SM-DP+ address>$<matching id>`, and when the
 * end user must type a confirmation code, the Confirmation Code Required Flag after an empty SM-DP+ OID
 * field: `LPA:1$<address>$<matching id>$$1`.
 */
export function activationCode(smdpAddress: string, matchingId: string, confirmationCodeRequired: boolean): string {
  return `LPA:1$${smdpAddress}$${matchingId}${confirmationCodeRequired ? "$$1" : ""}`;
}

/**
 * A confirmation code: 8 digits (SGP.22 allows up to 32 characters; digits are what a person types easily on
 * a phone keypad), from the CSPRNG. The SM-DP+ limits the attempts, so 10^8 is ample.
 */
export const CONFIRMATION_CODE_DIGITS = 8;

export function generateConfirmationCode(): string {
  let code = "";
  for (let i = 0; i < CONFIRMATION_CODE_DIGITS; i++) code += String(randomInt(10));
  return code;
}

/** What is stored: the code is shown once, in the answer to the order. */
export const hashConfirmationCode = (code: string): string => sha256Hex(code);
