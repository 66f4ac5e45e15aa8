import { randomInt } from "node:crypto";

/**
 * A matching id (SGP.22 "MatchingID", the AC_Token of an activation code): up to 255 characters of
 * [0-9A-Z-]. Ours are 5 groups of 5 uppercase alphanumerics joined by '-' (e.g. "K7Q2D-9XW3M-..."): 25
 * characters from a 36-symbol alphabet, about 129 bits, drawn with the CSPRNG, so one cannot be guessed from
 * another, and easy to read out or type should a device not scan the QR code.
 */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const MATCHING_ID = /^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/;

export function generateMatchingId(): string {
  const groups: string[] = [];
  for (let g = 0; g < 5; g++) {
    let group = "";
    for (let i = 0; i < 5; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join("-");
}
