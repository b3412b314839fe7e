/**
 * End-to-end protection of MPC protocol messages between TSS nodes (DESIGN section 2). The gateway
 * relays envelopes but can neither read point-to-point payloads, alter any payload, move one to
 * another session, round, sender or recipient, nor forge one: every envelope is signed by the
 * sender's certificate key over the session id, round, sender and recipient, and point-to-point
 * payloads are encrypted to the recipient's certificate key with ECIES (ephemeral P-256 ECDH,
 * HKDF-SHA-256, AES-256-GCM) under the same associated data.
 */
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import type { Envelope } from '../rpc/tss-service.ts';

const DOMAIN = 'custos-envelope-v1';
const CURVE = 'prime256v1';

export class EnvelopeError extends Error {
  constructor(
    readonly code: 'AUTH_FAILED' | 'MISDIRECTED' | 'MALFORMED',
    message: string,
  ) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/** A node's certificate key pair, as the envelope layer uses it. */
export interface EnvelopeKeys {
  readonly nodeId: string;
  readonly signingKey: KeyObject;
  /** The same private scalar as an ECDH object, for decrypting point-to-point payloads. */
  readonly ecdh: ReturnType<typeof createECDH>;
}

export function envelopeKeysFrom(nodeId: string, privateKey: KeyObject): EnvelopeKeys {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.d)
    throw new EnvelopeError('MALFORMED', `${nodeId}: certificate key must be ECDSA P-256`);
  const ecdh = createECDH(CURVE);
  const d = Buffer.from(jwk.d, 'base64url');
  ecdh.setPrivateKey(d);
  d.fill(0);
  return { nodeId, signingKey: privateKey, ecdh };
}

/** Uncompressed SEC1 encoding of a P-256 public key taken from a certificate. */
export function rawPublicKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new EnvelopeError('MALFORMED', 'peer key must be ECDSA P-256');
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

function lengthPrefixed(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** Associated data: unambiguous encoding of what an envelope is bound to. */
export function envelopeAad(sessionId: string, round: number, from: string, to: string): Buffer {
  const r = Buffer.alloc(4);
  r.writeUInt32BE(round);
  return Buffer.concat([
    lengthPrefixed(DOMAIN),
    lengthPrefixed(sessionId),
    r,
    lengthPrefixed(from),
    lengthPrefixed(to),
  ]);
}

function signedBytes(aad: Buffer, env: Pick<Envelope, 'ephemeral_public_key' | 'iv' | 'body'>): Buffer {
  return Buffer.concat([
    aad,
    lengthPrefixed(Buffer.from(env.ephemeral_public_key).toString('hex')),
    lengthPrefixed(Buffer.from(env.iv).toString('hex')),
    Buffer.from(env.body),
  ]);
}

function deriveKey(shared: Buffer, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array, aad: Buffer): Buffer {
  const salt = Buffer.concat([Buffer.from(ephemeralPublic), Buffer.from(recipientPublic)]);
  return Buffer.from(hkdfSync('sha256', shared, salt, aad, 32));
}

export interface EnvelopeHeader {
  readonly sessionId: string;
  readonly round: number;
  readonly from: string;
  /** Recipient node id, or '' for a broadcast. */
  readonly to: string;
}

/** Seals a payload: encrypted to `recipientKey` when `to` is set, signed in every case. */
export function sealEnvelope(
  header: EnvelopeHeader,
  payload: Uint8Array,
  sender: EnvelopeKeys,
  recipientKey?: KeyObject,
): Envelope {
  const aad = envelopeAad(header.sessionId, header.round, header.from, header.to);
  let body: Buffer;
  let ephemeralPublic = Buffer.alloc(0);
  let iv = Buffer.alloc(0);
  if (header.to) {
    if (!recipientKey) throw new EnvelopeError('MALFORMED', `no certificate key for recipient ${header.to}`);
    const recipientPublic = rawPublicKey(recipientKey);
    const ephemeral = createECDH(CURVE);
    ephemeralPublic = ephemeral.generateKeys();
    const shared = ephemeral.computeSecret(recipientPublic);
    const key = deriveKey(shared, ephemeralPublic, recipientPublic, aad);
    iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
    body = Buffer.concat([cipher.update(payload), cipher.final(), cipher.getAuthTag()]);
    shared.fill(0);
    key.fill(0);
  } else {
    body = Buffer.from(payload);
  }
  const unsigned = { ephemeral_public_key: ephemeralPublic, iv, body };
  const signature = sign('sha256', signedBytes(aad, unsigned), sender.signingKey);
  return {
    session_id: header.sessionId,
    round: header.round,
    from: header.from,
    to: header.to,
    body,
    ephemeral_public_key: ephemeralPublic,
    iv,
    signature,
  };
}

/**
 * Verifies and opens an envelope addressed to `recipient` (or broadcast) in the expected session
 * and round. `senderKey` must be the certificate key of the node named in `env.from`.
 */
export function openEnvelope(
  env: Envelope,
  expected: { sessionId: string; round: number },
  recipient: EnvelopeKeys,
  senderKey: KeyObject,
): Uint8Array {
  if (env.session_id !== expected.sessionId) {
    throw new EnvelopeError('MISDIRECTED', `envelope from ${env.from} belongs to another session`);
  }
  if (env.round !== expected.round) {
    throw new EnvelopeError(
      'MISDIRECTED',
      `envelope from ${env.from} is for round ${env.round}, expected ${expected.round}`,
    );
  }
  if (env.to !== '' && env.to !== recipient.nodeId) {
    throw new EnvelopeError('MISDIRECTED', `envelope from ${env.from} is addressed to ${env.to}`);
  }
  const aad = envelopeAad(env.session_id, env.round, env.from, env.to);
  const authentic = verify('sha256', signedBytes(aad, env), senderKey, Buffer.from(env.signature));
  if (!authentic) throw new EnvelopeError('AUTH_FAILED', `envelope claimed from ${env.from} has a bad signature`);
  if (env.to === '') return Uint8Array.from(env.body);

  const body = Buffer.from(env.body);
  if (env.iv.length !== 12 || body.length < 16)
    throw new EnvelopeError('MALFORMED', `envelope from ${env.from} is malformed`);
  const recipientPublic = recipient.ecdh.getPublicKey();
  let shared: Buffer;
  try {
    shared = recipient.ecdh.computeSecret(Buffer.from(env.ephemeral_public_key));
  } catch {
    throw new EnvelopeError('MALFORMED', `envelope from ${env.from} carries an invalid ephemeral key`);
  }
  const key = deriveKey(shared, env.ephemeral_public_key, recipientPublic, aad);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(env.iv)).setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - 16));
    return new Uint8Array(Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]));
  } catch {
    throw new EnvelopeError('AUTH_FAILED', `envelope from ${env.from} failed decryption`);
  } finally {
    shared.fill(0);
    key.fill(0);
  }
}

/** The public key of a certificate given as DER or PEM. */
export function certificatePublicKey(cert: Uint8Array | string): KeyObject {
  return new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert)).publicKey;
}

/** Whether `env` carries a valid signature of `senderKey` over everything it is bound to. */
export function envelopeSignatureValid(env: Envelope, senderKey: KeyObject): boolean {
  const aad = envelopeAad(env.session_id, env.round, env.from, env.to);
  try {
    return verify('sha256', signedBytes(aad, env), senderKey, Buffer.from(env.signature));
  } catch {
    return false;
  }
}

/**
 * Decrypts a point-to-point envelope given its ECDH shared secret (the x-coordinate), as a third
 * party does when the recipient revealed that secret to prove what the sender sent.
 */
export function decryptWithSharedSecret(env: Envelope, recipientKey: KeyObject, sharedX: Uint8Array): Uint8Array {
  const aad = envelopeAad(env.session_id, env.round, env.from, env.to);
  const body = Buffer.from(env.body);
  if (env.iv.length !== 12 || body.length < 16) throw new EnvelopeError('MALFORMED', 'envelope is malformed');
  const key = deriveKey(Buffer.from(sharedX), env.ephemeral_public_key, rawPublicKey(recipientKey), aad);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(env.iv)).setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - 16));
    return new Uint8Array(Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]));
  } catch {
    throw new EnvelopeError('AUTH_FAILED', `envelope from ${env.from} failed decryption`);
  } finally {
    key.fill(0);
  }
}
