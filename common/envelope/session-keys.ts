/**
 * Per-session key agreement for point-to-point envelopes. Each node generates an X25519 key pair
 * for one session only and publishes the public half in its round-0 broadcast, which its
 * certificate key signs together with the session id, round and node id (envelope.ts). The
 * pairwise secret of two nodes is HKDF-SHA-256 (RFC 5869) of their X25519 shared secret (RFC 7748)
 * with the session id, both node ids and both ephemeral keys as salt. Once the session ends every
 * secret is zeroed and the private key dropped, so no long-lived key can decrypt a recording.
 */
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { EnvelopeError } from './envelope.ts';

const DOMAIN = 'custos-session-keys-v1';
export const EPHEMERAL_KEY_BYTES = 32;

function lengthPrefixed(bytes: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** Salt binding a pairwise secret to its session and to both parties' ids and ephemerals. */
export function pairTranscript(
  sessionId: string,
  a: { id: string; ephemeral: Uint8Array },
  b: { id: string; ephemeral: Uint8Array },
): Buffer {
  const [lo, hi] = a.id < b.id ? [a, b] : [b, a];
  const utf8 = (s: string) => Buffer.from(s, 'utf8');
  return createHash('sha256')
    .update(
      Buffer.concat([
        lengthPrefixed(utf8(DOMAIN)),
        lengthPrefixed(utf8(sessionId)),
        lengthPrefixed(utf8(lo.id)),
        lengthPrefixed(lo.ephemeral),
        lengthPrefixed(utf8(hi.id)),
        lengthPrefixed(hi.ephemeral),
      ]),
    )
    .digest();
}

function x25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/** One node's ephemeral key material for one session. */
export class SessionKeys {
  private privateKey: KeyObject | undefined;
  readonly publicKey: Uint8Array;
  private readonly peerEphemerals = new Map<string, Uint8Array>();
  private readonly pairSecrets = new Map<string, Buffer>();

  constructor(
    readonly sessionId: string,
    readonly self: string,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    this.privateKey = privateKey;
    this.publicKey = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  }

  /**
   * Records `peer`'s ephemeral key, taken from its verified round-0 broadcast, and derives the
   * pairwise secret. Refuses a second key for the same peer, a key seen from another participant
   * or reflected back (own key), and keys of the wrong size or of low order.
   */
  acceptPeer(peer: string, ephemeral: Uint8Array): void {
    if (!this.privateKey) throw new EnvelopeError('MALFORMED', 'the session keys were erased');
    if (peer === this.self) throw new EnvelopeError('MALFORMED', 'a node does not exchange keys with itself');
    if (this.peerEphemerals.has(peer)) throw new EnvelopeError('MALFORMED', `${peer} sent a second session key`);
    if (ephemeral.length !== EPHEMERAL_KEY_BYTES)
      throw new EnvelopeError('MALFORMED', `${peer} sent a session key of ${ephemeral.length} bytes`);
    const raw = Buffer.from(ephemeral);
    const reused = raw.equals(this.publicKey) || [...this.peerEphemerals.values()].some((e) => raw.equals(e));
    if (reused) throw new EnvelopeError('MALFORMED', `${peer} sent a session key already used in this session`);
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey: this.privateKey, publicKey: x25519PublicKey(raw) });
    } catch {
      throw new EnvelopeError('MALFORMED', `${peer} sent an invalid session key`);
    }
    try {
      // RFC 7748 section 6.1: an all-zero output means a low-order point.
      if (shared.every((b) => b === 0)) throw new EnvelopeError('MALFORMED', `${peer} sent a low-order session key`);
      const salt = pairTranscript(
        this.sessionId,
        { id: this.self, ephemeral: this.publicKey },
        { id: peer, ephemeral: raw },
      );
      this.pairSecrets.set(peer, Buffer.from(hkdfSync('sha256', shared, salt, DOMAIN, 32)));
      this.peerEphemerals.set(peer, raw);
    } finally {
      shared.fill(0);
    }
  }

  /** Whether `peer`'s session key has arrived. */
  has(peer: string): boolean {
    return this.pairSecrets.has(peer);
  }

  /**
   * The pairwise secret with `peer`; only valid until `erase`. It leaves the node only as evidence
   * against `peer` after a judged DKG abort (common/abort/evidence.ts).
   */
  pairSecret(peer: string): Uint8Array {
    const secret = this.pairSecrets.get(peer);
    if (!secret) throw new EnvelopeError('AUTH_FAILED', `no session key from ${peer} yet`);
    return secret;
  }

  /** Zeroes every pairwise secret and drops the private key (OpenSSL clears it when freed). */
  erase(): void {
    for (const secret of this.pairSecrets.values()) secret.fill(0);
    this.pairSecrets.clear();
    this.peerEphemerals.clear();
    this.privateKey = undefined;
  }
}
