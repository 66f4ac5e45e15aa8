import { generateSecret, generateURI, verify } from "otplib";
import QRCode from "qrcode";

/**
 * TOTP (RFC 6238) as every authenticator app implements it: SHA-1, 6 digits, 30-second steps, base32 secret.
 * otplib 13 is functional and async; its defaults are these values, but they are spelled out so a library
 * default changing can never silently change the codes users' apps produce.
 */
export const TOTP_ISSUER = "Conekt";
export const TOTP_PERIOD_SECONDS = 30;
const ALGORITHM = "sha1";
const DIGITS = 6;
/** Clock drift tolerated: one step either way (otplib's tolerance is in seconds). */
const DRIFT_STEPS = 1;

export const TOTP_CODE = /^\d{6}$/;

/** A new secret: 20 random bytes (160 bits, RFC 4226's recommendation), base32 without padding. */
export function generateTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The `otpauth://totp/Conekt:<email>?secret=...&issuer=Conekt` URI apps import (directly or as a QR code). */
export function totpUri(secret: string, email: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label: email, secret, algorithm: ALGORITHM, digits: DIGITS, period: TOTP_PERIOD_SECONDS });
}

/** The time step a moment falls in. */
export function timeStepAt(ms: number = Date.now()): number {
  return Math.floor(ms / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * Checks a code against the current step and one step either way, skipping steps at or before `afterStep`
 * (the last one accepted: a code is good once). Returns the step it matched, or null.
 * The comparison is constant-time (otplib's crypto plugin).
 */
export async function verifyTotp(secret: string, code: string, opts: { afterStep?: number | null; now?: number } = {}): Promise<number | null> {
  if (!TOTP_CODE.test(code)) return null;
  const epoch = Math.floor((opts.now ?? Date.now()) / 1000);
  const newest = timeStepAt(epoch * 1000) + DRIFT_STEPS;
  const afterStep = opts.afterStep ?? undefined;
  // otplib throws when the floor lies beyond the window; then every step in it was used already.
  if (afterStep !== undefined && afterStep >= newest) return null;
  const result = await verify({
    secret,
    token: code,
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: TOTP_PERIOD_SECONDS,
    epoch,
    epochTolerance: DRIFT_STEPS * TOTP_PERIOD_SECONDS,
    ...(afterStep !== undefined && { afterTimeStep: afterStep }),
  });
  return result.valid && "timeStep" in result ? result.timeStep : null;
}

/** The URI as a standalone SVG QR code (error correction M: readable off a screen, still small). */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}
