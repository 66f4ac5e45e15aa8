import type { ImeiLockMode } from "../../generated/prisma/enums.js";
import { tacOf, validateImei, type IdResult } from "../../platform/identifiers.js";

/**
 * The IMEI policy rules, pure: what a mode means, how the API spells it, and whether an IMEI breaks a policy.
 * The API spells modes with dashes (`lock-first-seen`), the database enum with underscores (`lock_first_seen`).
 */
export const API_IMEI_MODES = ["none", "lock", "lock-first-seen", "allow-list"] as const;
export type ApiImeiMode = (typeof API_IMEI_MODES)[number];

const TO_DB: Record<ApiImeiMode, ImeiLockMode> = { none: "none", lock: "lock", "lock-first-seen": "lock_first_seen", "allow-list": "allow_list" };
const TO_API: Record<ImeiLockMode, ApiImeiMode> = { none: "none", lock: "lock", lock_first_seen: "lock-first-seen", allow_list: "allow-list" };

export const toDbMode = (mode: ApiImeiMode): ImeiLockMode => TO_DB[mode];
export const toApiMode = (mode: ImeiLockMode): ApiImeiMode => TO_API[mode];

/** The most entries an allow list may hold. */
export const ALLOW_LIST_MAX = 1000;

/** What the check needs to know of a SIM's policy. */
export interface ImeiPolicyState {
  mode: ImeiLockMode;
  boundImei: string | null;
  allowList: readonly string[];
}

/** An allow-list entry: an 8-digit TAC (a device model) or an IMEI (a 16-digit IMEISV is normalised to it). */
export function parseAllowListEntry(input: string): IdResult {
  const s = input.trim();
  if (/^\d{8}$/.test(s)) return { ok: true, value: s };
  const imei = validateImei(s);
  if (!imei.ok) return { ok: false, reason: `must be an 8-digit TAC or an IMEI: ${imei.reason}` };
  return imei;
}

/**
 * Whether `imei` (normalised, 15 digits) breaks the policy. `lock-first-seen` before its binding accepts
 * anything (the first IMEI seen becomes the bound one); `none` accepts anything.
 */
export function violatesPolicy(policy: ImeiPolicyState, imei: string): boolean {
  switch (policy.mode) {
    case "none":
      return false;
    case "lock":
    case "lock_first_seen":
      return policy.boundImei !== null && policy.boundImei !== imei;
    case "allow_list":
      return !policy.allowList.includes(imei) && !policy.allowList.includes(tacOf(imei));
  }
}

/** Modes in which a repair window means something: those with one bound IMEI to replace. */
export const REPAIRABLE_MODES: readonly ImeiLockMode[] = ["lock", "lock_first_seen"];
