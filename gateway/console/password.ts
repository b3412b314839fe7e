/**
 * Console passwords: scrypt (RFC 7914), memory-hard, with its parameters stored beside the hash so
 * they can be raised later without invalidating existing users. Format: `scrypt$N$r$p$salt$hash`
 * (salt and hash base64url).
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** N = 2^15, r = 8: 32 MiB and a fraction of a second per guess (RFC 7914 section 2; OWASP's floor is 2^17 for r=8 p=1 at 128 MiB, we trade some of that for 2-core hosts). */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, dkLen: 32 } as const;
export const MIN_PASSWORD_LENGTH = 12;

export async function hashPassword(password: string, params = SCRYPT_PARAMS): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`password: at least ${MIN_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(16);
  const dk = await scryptAsync(password, salt, params);
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64url'),
    Buffer.from(dk).toString('base64url'),
  ].join('$');
}

/** True when `password` matches `stored`; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((v) => Number.isSafeInteger(v) && v > 0) || N > 2 ** 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 16 || expected.length < 32) return false;
  const dk = await scryptAsync(password, salt, { N, r, p, dkLen: expected.length, maxmem: 2 ** 31 });
  return timingSafeEqual(Buffer.from(dk), expected);
}

/** Spent on logins for unknown users too, so response time does not tell which usernames exist. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(18).toString('base64url'));
  return decoy;
}
