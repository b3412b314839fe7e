import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { timingSafeEqual } from 'node:crypto';

/** Header names of the AccessKey/SecretKey request signature (README "HTTP API"). */
export const AUTH_HEADERS = {
  accessKey: 'x-kms-accesskey',
  timestamp: 'x-kms-timestamp',
  nonce: 'x-kms-nonce',
  signature: 'x-kms-signature',
} as const;

export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
/** Requests whose timestamp is further than this from the server clock are refused. */
export const TIMESTAMP_WINDOW_MS = 300_000;

export interface SignableRequest {
  method: string;
  /** Path with the query string exactly as sent, e.g. "/api/v1/keys?limit=10". */
  pathWithQuery: string;
  timestampMs: number | string;
  nonce: string;
  body: Uint8Array | string | undefined;
}

export function stringToSign(req: SignableRequest): string {
  const body =
    req.body === undefined ? new Uint8Array() : typeof req.body === 'string' ? utf8ToBytes(req.body) : req.body;
  return [
    req.method.toUpperCase(),
    req.pathWithQuery,
    String(req.timestampMs),
    req.nonce,
    bytesToHex(sha256(body)),
  ].join('\n');
}

/** Lowercase hex HMAC-SHA256(secret key, string to sign). */
export function signRequest(secretKey: string, req: SignableRequest): string {
  return bytesToHex(hmac(sha256, utf8ToBytes(secretKey), utf8ToBytes(stringToSign(req))));
}

/** Constant-time comparison of a presented signature with the expected one. */
export function signatureMatches(secretKey: string, req: SignableRequest, presented: string): boolean {
  const expected = Buffer.from(signRequest(secretKey, req), 'utf8');
  const got = Buffer.from(presented, 'utf8');
  return expected.length === got.length && timingSafeEqual(expected, got);
}
