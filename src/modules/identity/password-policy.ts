import { dictionary } from "@zxcvbn-ts/language-common";
import { ValidationError } from "../../platform/errors.js";

/**
 * What a new password must be (NIST SP 800-63B §5.1.1.2): long enough, not absurdly long (scrypt hashes every
 * byte), and not one of the passwords attackers try first. No composition rules: they push people to
 * predictable patterns without adding strength.
 *
 * The list of common passwords is the one zxcvbn-ts ships offline (@zxcvbn-ts/language-common, ~49,000
 * entries, all lower case, merged from leaked-password frequency lists), so the comparison is case-insensitive.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

let common: Set<string> | undefined;
/** Built on first use: the list is decompressed once per process (~30 ms), not at every import. */
function commonPasswords(): Set<string> {
  common ??= new Set(dictionary["passwords-common"]);
  return common;
}

/** Why `password` is not acceptable, or null when it is. Lengths count characters, as the JSON schemas do. */
export function passwordProblem(password: string, context: { email?: string } = {}): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters long`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters long`;
  const folded = password.normalize("NFKC").toLowerCase();
  if (commonPasswords().has(folded)) return "is one of the most commonly used passwords; choose another";
  if (context.email && folded === context.email.toLowerCase()) return "must not be your email address";
  return null;
}

/** Throws a 400 naming `field` (e.g. `/body/newPassword`) when the password is not acceptable. */
export function assertAcceptablePassword(password: string, field: string, context: { email?: string } = {}): void {
  const problem = passwordProblem(password, context);
  if (problem) throw new ValidationError(`${field} ${problem}`, [{ field, reason: problem }]);
}
