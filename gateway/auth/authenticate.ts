/**
 * Verifies a request's AccessKey/SecretKey signature (README "HTTP API", gateway/README.md "HTTP behaviour"). Order matters: nothing
 * about a key (disabled, allow-list) is revealed before the caller proved they hold its secret,
 * and a nonce is only remembered once the signature is good, so forgeries cannot burn nonces.
 */
import {
  AUTH_HEADERS,
  NONCE_PATTERN,
  signatureMatches,
  stringToSign,
  TIMESTAMP_WINDOW_MS,
} from '../../common/auth/request-signing.ts';
import { verifyStatement } from '../../common/authz/client-keys.ts';
import type { AccessKeyStore } from './access-keys.ts';
import type { Role } from './roles.ts';
import type { Scope } from './scopes.ts';
import type { ClientPublicKeyStore } from './client-public-keys.ts';
import { ipAllowed } from './cidr.ts';
import type { NonceCache } from './nonce-cache.ts';

export type AuthReason =
  | 'MISSING_HEADERS'
  | 'MALFORMED_HEADERS'
  | 'STALE_TIMESTAMP'
  | 'UNKNOWN_ACCESS_KEY'
  | 'BAD_SIGNATURE'
  | 'REPLAYED_NONCE'
  | 'KEY_DISABLED'
  | 'IP_NOT_ALLOWED';

export interface AuthInput {
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Raw body bytes as received. */
  body: Uint8Array | undefined;
  ip: string;
}

export type AuthOutcome =
  | { ok: true; accessKey: string; roles: Role[]; scopes: Scope[] }
  | { ok: false; status: 401 | 403; reason: AuthReason; message: string; accessKey?: string };

export interface AuthDeps {
  keys: AccessKeyStore;
  nonces: NonceCache;
  /** Asymmetric access keys: a request from one is verified with its public key, never an HMAC secret. */
  publicKeys?: ClientPublicKeyStore;
  now?: () => number;
}

const ACCESS_KEY_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
/** HMAC-SHA256 (32 bytes) or an Ed25519 / P-256 r‖s signature (64 bytes), lowercase hex. */
const SIGNATURE_PATTERN = /^(?:[0-9a-f]{64}|[0-9a-f]{128})$/;

const single = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);

export async function authenticate(input: AuthInput, deps: AuthDeps): Promise<AuthOutcome> {
  const accessKey = single(input.headers[AUTH_HEADERS.accessKey]);
  const timestamp = single(input.headers[AUTH_HEADERS.timestamp]);
  const nonce = single(input.headers[AUTH_HEADERS.nonce]);
  const signature = single(input.headers[AUTH_HEADERS.signature]);
  const reject = (status: 401 | 403, reason: AuthReason, message: string): AuthOutcome => ({
    ok: false,
    status,
    reason,
    message,
    ...(accessKey && ACCESS_KEY_PATTERN.test(accessKey) ? { accessKey } : {}),
  });

  if (!accessKey || !timestamp || !nonce || !signature) {
    return reject(
      401,
      'MISSING_HEADERS',
      'X-KMS-AccessKey, X-KMS-Timestamp, X-KMS-Nonce and X-KMS-Signature are required',
    );
  }
  if (!ACCESS_KEY_PATTERN.test(accessKey) || !/^\d{1,16}$/.test(timestamp) || !NONCE_PATTERN.test(nonce)) {
    return reject(
      401,
      'MALFORMED_HEADERS',
      'malformed access key, timestamp (unix ms) or nonce (16-64 of [A-Za-z0-9_-])',
    );
  }
  if (!SIGNATURE_PATTERN.test(signature)) {
    return reject(
      401,
      'MALFORMED_HEADERS',
      'X-KMS-Signature must be 64 (HMAC) or 128 (Ed25519, P-256) lowercase hex digits',
    );
  }
  const now = (deps.now ?? Date.now)();
  if (Math.abs(now - Number(timestamp)) > TIMESTAMP_WINDOW_MS) {
    return reject(
      401,
      'STALE_TIMESTAMP',
      `timestamp is more than ${TIMESTAMP_WINDOW_MS / 1000} s from the server clock`,
    );
  }
  const key = await deps.keys.get(accessKey);
  // Unknown key and bad signature answer the same message, so key ids cannot be probed.
  if (!key) return reject(401, 'UNKNOWN_ACCESS_KEY', 'signature does not verify');
  const signed = { method: input.method, pathWithQuery: input.url, timestampMs: timestamp, nonce, body: input.body };
  const publicKey = await deps.publicKeys?.get(accessKey);
  const authentic = publicKey
    ? verifyStatement(publicKey, Buffer.from(stringToSign(signed)), signature)
    : [key.secretKey, key.previousSecret?.secretKey].some(
        // After a rotation the replaced secret verifies until its grace period ends.
        (secret) => secret !== undefined && secret.length > 0 && signatureMatches(secret, signed, signature),
      );
  if (!authentic) return reject(401, 'BAD_SIGNATURE', 'signature does not verify');
  // Remembered for twice the window: a timestamp may be up to one window in the past or future.
  if (!(await deps.nonces.claim(accessKey, nonce, 2 * TIMESTAMP_WINDOW_MS))) {
    return reject(401, 'REPLAYED_NONCE', 'nonce was already used');
  }
  if (!key.enabled) return reject(403, 'KEY_DISABLED', 'access key is disabled');
  if (!ipAllowed(key.allowedCidrs, input.ip)) {
    return reject(403, 'IP_NOT_ALLOWED', 'source address is not in the access key allow-list');
  }
  return { ok: true, accessKey, roles: key.roles, scopes: key.scopes };
}
