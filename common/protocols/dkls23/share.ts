/**
 * What a DKLS23 holder keeps after keygen (its Shamir share and, per other holder, the base-OT
 * seeds for both directions of the pairwise multiplication) and the public data all agree on.
 */
import { ByteWriter, DecodeError, decodeAll, type ByteReader } from '../encoding.ts';
import { KAPPA, packBits, type ExtReceiverSetup, type ExtSenderSetup } from '../ot/kos.ts';
import { readList, readPoint, readScalar, writeList, writePoint, writeScalar } from '../threshold/codec.ts';
import { G, type Point } from '../threshold/scalars.ts';
import type { PartyId } from '../types.ts';

export interface PublicInfo {
  readonly threshold: number;
  readonly holders: readonly PartyId[];
  readonly publicKey: Point;
  /** X_k = x_k·G per holder, in holder order. */
  readonly verificationShares: readonly Point[];
}

/** The OT seeds this holder shares with one other holder. */
export interface PeerOt {
  /** This holder as multiplication sender (Alice): base-OT receiver with choices Δ. */
  readonly alice: ExtSenderSetup;
  /** This holder as multiplication receiver (Bob): base-OT sender with both seeds. */
  readonly bob: ExtReceiverSetup;
}

export interface SecretShare {
  readonly self: PartyId;
  readonly x: bigint;
  readonly info: PublicInfo;
  readonly peers: ReadonlyMap<PartyId, PeerOt>;
}

const VERSION = 1;
const MAX_HOLDERS = 64;

function writeInfo(w: ByteWriter, info: PublicInfo): void {
  w.u8(VERSION).string('DKLS23').u8(info.threshold);
  writeList(w, info.holders, (w2, h) => w2.string(h));
  writePoint(w, info.publicKey);
  writeList(w, info.verificationShares, writePoint);
}

function readInfo(r: ByteReader): PublicInfo {
  r.expectU8(VERSION, 'DKLS23 public info version');
  r.expectString('DKLS23', 'algorithm');
  const threshold = r.u8();
  const holders = readList(r, MAX_HOLDERS, (r2) => r2.string(64));
  const publicKey = readPoint(r);
  const verificationShares = readList(r, MAX_HOLDERS, readPoint);
  if (threshold < 2 || threshold > holders.length) throw new DecodeError('threshold out of range');
  if (new Set(holders).size !== holders.length) throw new DecodeError('duplicate holder');
  if (verificationShares.length !== holders.length) throw new DecodeError('one verification share per holder');
  return { threshold, holders, publicKey, verificationShares };
}

export function encodePublicInfo(info: PublicInfo): Uint8Array {
  const w = new ByteWriter();
  writeInfo(w, info);
  return w.finish();
}

export function decodePublicInfo(bytes: Uint8Array): PublicInfo {
  return decodeAll(bytes, readInfo);
}

function unpackBits(bytes: Uint8Array, n: number): boolean[] {
  return Array.from({ length: n }, (_, i) => ((bytes[i >> 3]! >> (i & 7)) & 1) === 1);
}

/** Secret: the runtime encrypts the result before it touches disk. */
export function encodeSecretShare(share: SecretShare): Uint8Array {
  const w = new ByteWriter();
  w.u8(VERSION).string(share.self);
  writeScalar(w, share.x);
  writeInfo(w, share.info);
  w.u16(share.peers.size);
  for (const [id, ot] of share.peers) {
    w.string(id).bytes(packBits(ot.alice.delta));
    for (const k of ot.alice.keys) w.bytes(k);
    for (const k of ot.bob.k0) w.bytes(k);
    for (const k of ot.bob.k1) w.bytes(k);
  }
  return w.finish();
}

export function decodeSecretShare(bytes: Uint8Array): SecretShare {
  const share = decodeAll(bytes, (r): SecretShare => {
    r.expectU8(VERSION, 'DKLS23 secret share version');
    const self = r.string(64);
    const x = readScalar(r);
    const info = readInfo(r);
    const n = r.u16();
    if (n > MAX_HOLDERS) throw new DecodeError('too many peers');
    const peers = new Map<PartyId, PeerOt>();
    for (let p = 0; p < n; p++) {
      const id = r.string(64);
      const delta = unpackBits(r.bytes(KAPPA / 8), KAPPA);
      const keys = Array.from({ length: KAPPA }, () => r.bytes(32));
      const k0 = Array.from({ length: KAPPA }, () => r.bytes(32));
      const k1 = Array.from({ length: KAPPA }, () => r.bytes(32));
      peers.set(id, { alice: { delta, keys }, bob: { k0, k1 } });
    }
    return { self, x, info, peers };
  });
  const index = share.info.holders.indexOf(share.self);
  if (index < 0) throw new Error('DKLS23 secret share: owner is not a holder');
  const others = share.info.holders.filter((h) => h !== share.self);
  if (others.length !== share.peers.size || others.some((h) => !share.peers.has(h))) {
    throw new Error('DKLS23 secret share: OT setup missing for some holder');
  }
  // A share that is not the discrete log of its verification share would only surface as an
  // unattributable failure at signing time.
  if (share.x === 0n || !G.multiply(share.x).equals(share.info.verificationShares[index]!)) {
    throw new Error('DKLS23 secret share: x·G does not match the verification share');
  }
  return share;
}
