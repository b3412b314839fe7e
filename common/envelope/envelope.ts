/**
 * End-to-end protection of MPC protocol messages between TSS nodes (docs/security.md, "Node
 * envelopes"). The gateway relays envelopes but can neither read point-to-point payloads, alter
 * any payload, move one to another session, round, sender or recipient, nor forge one.
 *
 * Every envelope is signed by the sender's certificate key over the session id, round, sender,
 * recipient and content. The certificate key only signs: point-to-point payloads are encrypted
 * with AES-256-GCM under a key derived from a per-session pairwise secret (session-keys.ts: X25519
 * of two ephemeral keys, each published in its owner's signed round-0 broadcast and erased when
 * the session ends), so a recording of relay traffic stays unreadable even to someone who later
 * obtains every node's certificate key (forward secrecy).
 */
import {
  createCipheriv,
  createDecipheriv,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import type { Envelope } from '../rpc/tss-service.ts';

const DOMAIN = 'custos-envelope-v2';

export class EnvelopeError extends Error {
  constructor(
    readonly code: 'AUTH_FAILED' | 'MISDIRECTED' | 'MALFORMED',
    message: string,
  ) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/** A node's certificate key, as the envelope layer uses it: for signing only. */
export interface EnvelopeKeys {
  readonly nodeId: string;
  readonly signingKey: KeyObject;
}

export function envelopeKeysFrom(nodeId: string, privateKey: KeyObject): EnvelopeKeys {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.d)
    throw new EnvelopeError('MALFORMED', `${nodeId}: certificate key must be ECDSA P-256`);
  return { nodeId, signingKey: privateKey };
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

/** The AES-256-GCM key of one envelope: the pairwise session secret expanded with its AAD. */
function messageKey(pairSecret: Uint8Array, aad: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', pairSecret, Buffer.alloc(0), aad, 32));
}

export interface EnvelopeHeader {
  readonly sessionId: string;
  readonly round: number;
  readonly from: string;
  /** Recipient node id, or '' for a broadcast. */
  readonly to: string;
}

export interface SealOptions {
  /** Point-to-point: the pairwise session secret shared with `header.to`. */
  readonly pairSecret?: Uint8Array;
  /** The sender's session ephemeral public key, published in its round-0 broadcast. */
  readonly ephemeralPublicKey?: Uint8Array;
}

/** Seals a payload: encrypted under the pairwise session secret when `to` is set, signed in every case. */
export function sealEnvelope(
  header: EnvelopeHeader,
  payload: Uint8Array,
  sender: EnvelopeKeys,
  options: SealOptions = {},
): Envelope {
  const aad = envelopeAad(header.sessionId, header.round, header.from, header.to);
  let body: Buffer;
  let iv = Buffer.alloc(0);
  const ephemeralPublic = Buffer.from(options.ephemeralPublicKey ?? []);
  if (header.to) {
    if (!options.pairSecret) throw new EnvelopeError('MALFORMED', `no session key for recipient ${header.to}`);
    if (ephemeralPublic.length) throw new EnvelopeError('MALFORMED', 'ephemeral keys are published in broadcasts');
    const key = messageKey(options.pairSecret, aad);
    iv = randomBytes(12);
    try {
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
      body = Buffer.concat([cipher.update(payload), cipher.final(), cipher.getAuthTag()]);
    } finally {
      key.fill(0);
    }
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
 * Verifies the signature of an envelope addressed to `recipient` (or broadcast) in the expected
 * session and round. `senderKey` must be the certificate key of the node named in `env.from`.
 * Returns a broadcast's payload and signed ephemeral key; a point-to-point envelope still needs
 * `decryptEnvelope` once the pairwise secret with its sender is known.
 */
export function verifyEnvelope(
  env: Envelope,
  expected: { sessionId: string; round: number },
  recipient: string,
  senderKey: KeyObject,
): { payload: Uint8Array; ephemeralPublicKey: Uint8Array } {
  if (env.session_id !== expected.sessionId) {
    throw new EnvelopeError('MISDIRECTED', `envelope from ${env.from} belongs to another session`);
  }
  if (env.round !== expected.round) {
    throw new EnvelopeError(
      'MISDIRECTED',
      `envelope from ${env.from} is for round ${env.round}, expected ${expected.round}`,
    );
  }
  if (env.to !== '' && env.to !== recipient) {
    throw new EnvelopeError('MISDIRECTED', `envelope from ${env.from} is addressed to ${env.to}`);
  }
  const aad = envelopeAad(env.session_id, env.round, env.from, env.to);
  const authentic = verify('sha256', signedBytes(aad, env), senderKey, Buffer.from(env.signature));
  if (!authentic) throw new EnvelopeError('AUTH_FAILED', `envelope claimed from ${env.from} has a bad signature`);
  if (env.to !== '' && env.ephemeral_public_key.length)
    throw new EnvelopeError('MALFORMED', `point-to-point envelope from ${env.from} carries an ephemeral key`);
  return { payload: Uint8Array.from(env.body), ephemeralPublicKey: Uint8Array.from(env.ephemeral_public_key) };
}

/** Decrypts a verified point-to-point envelope with the pairwise session secret of its sender. */
export function decryptEnvelope(env: Envelope, pairSecret: Uint8Array): Uint8Array {
  const body = Buffer.from(env.body);
  if (env.to === '' || env.iv.length !== 12 || body.length < 16)
    throw new EnvelopeError('MALFORMED', `envelope from ${env.from} is malformed`);
  const aad = envelopeAad(env.session_id, env.round, env.from, env.to);
  const key = messageKey(pairSecret, aad);
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
