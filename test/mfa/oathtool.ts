// Helpers for the MFA tests: codes from an independent TOTP implementation (OATH Toolkit's `oathtool`, which
// .ci/run installs), so the tests check our otplib wrapper against the standard, not against itself.
import { oathCode } from "../helpers/totp.js";
import { defineAbilityFor } from "../../src/modules/access/abilities.js";
import type { Actor } from "../../src/modules/access/principal.js";
import type { Client } from "../helpers/client.js";

const STEP_MS = 30_000;

export { oathCode };

/** The code `steps` time steps away from now (negative: the past). */
export function oathCodeAt(secret: string, steps: number): string {
  return oathCode(secret, new Date(Date.now() + steps * STEP_MS));
}

/**
 * Waits until we are at least 2 s away from a step boundary, so a code computed "two steps away" cannot become
 * one step away (and valid) before the server checks it.
 */
export async function awayFromStepBoundary(): Promise<void> {
  const into = Date.now() % STEP_MS;
  if (into < 2_000) await new Promise((r) => setTimeout(r, 2_000 - into + 50));
  else if (into > STEP_MS - 4_000) await new Promise((r) => setTimeout(r, STEP_MS - into + 2_050));
}

/** The actor of a sign-in step: no session yet, as the identity flow calls the MFA service. */
export function signInActor(ip = "203.0.113.7"): Actor {
  return { principal: null, ability: defineAbilityFor(null), ip, userAgent: "mfa-test", requestId: `test-${Math.random().toString(36).slice(2)}` };
}

/** Enrols and confirms TOTP through the API for a signed-in client; returns the secret and recovery codes. */
export async function enrolThroughApi(client: Client): Promise<{ secret: string; recoveryCodes: string[] }> {
  const begun = await client.post("/v1/me/mfa/totp");
  if (begun.status !== 200) throw new Error(`enrolment failed: ${begun.status} ${begun.body}`);
  const secret = begun.json.secret as string;
  const confirmed = await client.post("/v1/me/mfa/totp/confirm", { code: oathCode(secret) });
  if (confirmed.status !== 200) throw new Error(`confirmation failed: ${confirmed.status} ${confirmed.body}`);
  return { secret, recoveryCodes: confirmed.json.recoveryCodes };
}
