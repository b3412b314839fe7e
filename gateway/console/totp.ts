/**
 * TOTP (RFC 6238) over HOTP (RFC 4226), HMAC-SHA-1, 6 digits, 30 s steps: what authenticator apps
 * use by default. Pure functions; the caller keeps the last accepted step to refuse a replay.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { base32 } from '@scure/base';
import { randomBytes } from 'node:crypto';

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;

/** HOTP(K, C) = Truncate(HMAC-SHA-1(K, C)) mod 10^digits (RFC 4226 section 5.3). */
export function hotp(secret: Uint8Array, counter: bigint, digits = TOTP_DIGITS): string {
  const msg = new Uint8Array(8);
  new DataView(msg.buffer).setBigUint64(0, counter);
  const mac = hmac(sha1, secret, msg);
  const offset = mac[mac.length - 1]! & 0x0f;
  const code = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(code % 10 ** digits).padStart(digits, '0');
}

/** The time step T = floor(unix seconds / 30) (RFC 6238 section 4.2). */
export function totpStep(unixMs: number): bigint {
  return BigInt(Math.floor(unixMs / 1000 / TOTP_STEP_SECONDS));
}

export function totp(secret: Uint8Array, unixMs: number, digits = TOTP_DIGITS): string {
  return hotp(secret, totpStep(unixMs), digits);
}

/**
 * The step a code matches, looking one step back and forward for clock drift (RFC 6238 section 5.2),
 * never a step at or before `lastUsedStep` (a code is good once). Undefined when none matches.
 */
export function matchTotp(
  secret: Uint8Array,
  code: string,
  unixMs: number,
  lastUsedStep: bigint | undefined,
): bigint | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const now = totpStep(unixMs);
  for (const step of [now - 1n, now, now + 1n]) {
    if (lastUsedStep !== undefined && step <= lastUsedStep) continue;
    if (constantTimeEqual(hotp(secret, step), code)) return step;
  }
  return undefined;
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A new 160-bit secret (RFC 4226 section 4 recommends 160 bits), base32 without padding. */
export function newTotpSecret(): string {
  return encodeTotpSecret(randomBytes(20));
}

export function encodeTotpSecret(secret: Uint8Array): string {
  return base32.encode(secret).replace(/=+$/, '');
}

export function decodeTotpSecret(text: string): Uint8Array {
  const clean = text.toUpperCase().replace(/\s+/g, '');
  if (!/^[A-Z2-7]{16,}$/.test(clean)) throw new Error('TOTP secret: base32, at least 16 characters');
  return base32.decode(clean.padEnd(Math.ceil(clean.length / 8) * 8, '='));
}

/** The otpauth:// URI authenticator apps import (as a QR code or by hand). */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;
}
