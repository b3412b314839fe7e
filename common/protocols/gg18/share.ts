/** The GG18 key material a party keeps after keygen, and the public data all parties agree on. */
import { z } from 'zod';
import type { PaillierSecretKey } from '../../crypto/paillier/index.ts';
import { secretKeyFromPrimes } from '../../crypto/paillier/index.ts';
import type { RingPedersenParams, RingPedersenSecret } from '../../crypto/zk/ring-pedersen.ts';
import type { PartyId } from '../types.ts';
import { decodeFrom, encode, nat, point } from './codec.ts';
import { G, ORDER, type Point } from './common.ts';

/** One holder's public data: verification share X_j = x_j·G, Paillier modulus, ring-Pedersen. */
export interface HolderPublic {
  readonly id: PartyId;
  readonly X: Point;
  readonly paillierN: bigint;
  readonly ringPedersen: RingPedersenParams;
}

export interface PublicInfo {
  readonly threshold: number;
  readonly publicKey: Point;
  readonly holders: readonly HolderPublic[];
}

export interface SecretShare {
  readonly self: PartyId;
  readonly x: bigint;
  readonly paillier: PaillierSecretKey;
  /** Own ring-Pedersen parameters with their trapdoor (speeds up verifying peers' proofs). */
  readonly ringPedersen: RingPedersenSecret;
  readonly info: PublicInfo;
}

const holderSchema = z.object({
  id: z.string().min(1),
  X: point,
  paillierN: nat,
  nTilde: nat,
  h1: nat,
  h2: nat,
});

const publicInfoSchema = z.object({
  v: z.literal(1),
  threshold: z.number().int().min(2),
  publicKey: point,
  holders: z.array(holderSchema).min(2),
});

const secretShareSchema = z.object({
  v: z.literal(1),
  self: z.string().min(1),
  x: nat,
  p: nat,
  q: nat,
  rpP: nat,
  rpQ: nat,
  alpha: nat,
  beta: nat,
  info: publicInfoSchema,
});

function publicInfoJson(info: PublicInfo): unknown {
  return {
    v: 1,
    threshold: info.threshold,
    publicKey: info.publicKey,
    holders: info.holders.map((h) => ({
      id: h.id,
      X: h.X,
      paillierN: h.paillierN,
      nTilde: h.ringPedersen.nTilde,
      h1: h.ringPedersen.h1,
      h2: h.ringPedersen.h2,
    })),
  };
}

function publicInfoFrom(raw: z.output<typeof publicInfoSchema>): PublicInfo {
  return {
    threshold: raw.threshold,
    publicKey: raw.publicKey,
    holders: raw.holders.map((h) => ({
      id: h.id,
      X: h.X,
      paillierN: h.paillierN,
      ringPedersen: { nTilde: h.nTilde, h1: h.h1, h2: h.h2 },
    })),
  };
}

export function encodePublicInfo(info: PublicInfo): Uint8Array {
  return encode(publicInfoJson(info));
}

export function decodePublicInfo(bytes: Uint8Array): PublicInfo {
  return publicInfoFrom(decodeFrom(publicInfoSchema, bytes, undefined, 'GG18 public info'));
}

/** Secret: the runtime encrypts the result before it touches disk. */
export function encodeSecretShare(share: SecretShare): Uint8Array {
  return encode({
    v: 1,
    self: share.self,
    x: share.x,
    p: share.paillier.p,
    q: share.paillier.q,
    rpP: share.ringPedersen.p,
    rpQ: share.ringPedersen.q,
    alpha: share.ringPedersen.alpha,
    beta: share.ringPedersen.beta,
    info: publicInfoJson(share.info),
  });
}

export function decodeSecretShare(bytes: Uint8Array): SecretShare {
  const raw = decodeFrom(secretShareSchema, bytes, undefined, 'GG18 secret share');
  const info = publicInfoFrom(raw.info);
  const own = info.holders.find((h) => h.id === raw.self);
  if (!own) throw new Error('GG18 secret share: owner is not a holder');
  const paillier = secretKeyFromPrimes(raw.p, raw.q);
  const { nTilde, h1, h2 } = own.ringPedersen;
  if (paillier.n !== own.paillierN || raw.rpP * raw.rpQ !== nTilde) {
    throw new Error('GG18 secret share: keys do not match the public info');
  }
  // A share that is not the discrete log of its own verification share would only surface as an
  // unattributable phase 5 failure at signing time.
  if (raw.x === 0n || raw.x >= ORDER || !G.multiply(raw.x).equals(own.X)) {
    throw new Error('GG18 secret share: x·G does not match the verification share X_self');
  }
  return {
    self: raw.self,
    x: raw.x,
    paillier,
    ringPedersen: { nTilde, h1, h2, p: raw.rpP, q: raw.rpQ, alpha: raw.alpha, beta: raw.beta },
    info,
  };
}
