import { execFileSync } from "node:child_process";

/**
 * TOTP codes from OATH Toolkit's `oathtool` (Debian package oathtool, installed by .ci/run): an implementation
 * independent of ours, so tests check our otplib use against the standard rather than against itself.
 */
export function oathCode(secret: string, at: Date = new Date()): string {
  return execFileSync("oathtool", ["--totp", "-b", "--now", at.toISOString(), secret], { encoding: "utf8" }).trim();
}
