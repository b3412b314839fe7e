/**
 * Πfac: proof that N0 = p·q has no small factor (both factors above about 2^ℓ), against the verifier's ring-Pedersen parameters (N^, s, t). CGGMP21 (ePrint 2021/060) Fig. 28
 * with ℓ = 256, ε = 512. Answers CVE-2023-33241 ("BitForge": a Paillier modulus with small
 * factors lets the MtA peer recover the victim's share chunk by chunk).
 */
import { bitLength, isqrt, mod, publicPow, randomSigned, secretPow } from '../bigint/index.ts';
import type { PaillierSecretKey } from '../paillier/index.ts';
import type { RingPedersenParams } from './ring-pedersen.ts';
import { signedChallenge, transcriptHash, type ProofBinding } from './transcript.ts';
import { secp256k1 } from '@noble/curves/secp256k1.js';

const L = 256n;
const EPS = 512n;
const Q = secp256k1.Point.CURVE().n;

export interface NoSmallFactorProof {
  readonly P: bigint;
  readonly Q: bigint;
  readonly A: bigint;
  readonly B: bigint;
  readonly T: bigint;
  readonly sigma: bigint;
  readonly z1: bigint;
  readonly z2: bigint;
  readonly w1: bigint;
  readonly w2: bigint;
  readonly v: bigint;
}

function challenge(binding: ProofBinding, n0: bigint, rp: RingPedersenParams, first: readonly bigint[]): bigint {
  return signedChallenge(transcriptHash('fac', binding, [n0, rp.nTilde, rp.h1, rp.h2, ...first]), Q);
}

/** s^a · t^b mod N^ for secret exponents (either may be negative). */
function pedersen(rp: RingPedersenParams, a: bigint, b: bigint): bigint {
  return mod(secretPow(rp.h1, a, rp.nTilde) * secretPow(rp.h2, b, rp.nTilde), rp.nTilde);
}

export function proveNoSmallFactor(
  sk: PaillierSecretKey,
  rp: RingPedersenParams,
  binding: ProofBinding,
): NoSmallFactorProof {
  const { n: n0, p, q } = sk;
  const nHat = rp.nTilde;
  const sqrtN0 = isqrt(n0);
  const alpha = randomSigned((1n << (L + EPS)) * sqrtN0);
  const beta = randomSigned((1n << (L + EPS)) * sqrtN0);
  const mu = randomSigned((1n << L) * nHat);
  const nu = randomSigned((1n << L) * nHat);
  const sigma = randomSigned((1n << L) * n0 * nHat);
  const r = randomSigned((1n << (L + EPS)) * n0 * nHat);
  const x = randomSigned((1n << (L + EPS)) * nHat);
  const y = randomSigned((1n << (L + EPS)) * nHat);
  const P = pedersen(rp, p, mu);
  const Qc = pedersen(rp, q, nu);
  const A = pedersen(rp, alpha, x);
  const B = pedersen(rp, beta, y);
  const T = mod(secretPow(Qc, alpha, nHat) * secretPow(rp.h2, r, nHat), nHat);
  const e = challenge(binding, n0, rp, [P, Qc, A, B, T, sigma]);
  const sigmaHat = sigma - nu * p;
  return {
    P,
    Q: Qc,
    A,
    B,
    T,
    sigma,
    z1: alpha + e * p,
    z2: beta + e * q,
    w1: x + e * mu,
    w2: y + e * nu,
    v: r + e * sigmaHat,
  };
}

export function verifyNoSmallFactor(
  n0: bigint,
  rp: RingPedersenParams,
  proof: NoSmallFactorProof,
  binding: ProofBinding,
): boolean {
  try {
    return checkNoSmallFactor(n0, rp, proof, binding);
  } catch {
    return false; // a non-invertible element
  }
}

function checkNoSmallFactor(
  n0: bigint,
  rp: RingPedersenParams,
  proof: NoSmallFactorProof,
  binding: ProofBinding,
): boolean {
  const nHat = rp.nTilde;
  const { P, Q: Qc, A, B, T, sigma, z1, z2, w1, w2, v } = proof;
  for (const el of [P, Qc, A, B, T]) if (el <= 0n || el >= nHat) return false;
  const bound = (1n << (L + EPS)) * isqrt(n0);
  if (z1 < -bound || z1 > bound || z2 < -bound || z2 > bound) return false;
  if (bitLength(n0) < 2 * Number(L)) return false;
  const e = challenge(binding, n0, rp, [P, Qc, A, B, T, sigma]);
  const R = mod(publicPow(rp.h1, n0, nHat) * publicPow(rp.h2, sigma, nHat), nHat);
  const lhs1 = mod(publicPow(rp.h1, z1, nHat) * publicPow(rp.h2, w1, nHat), nHat);
  if (lhs1 !== mod(A * publicPow(P, e, nHat), nHat)) return false;
  const lhs2 = mod(publicPow(rp.h1, z2, nHat) * publicPow(rp.h2, w2, nHat), nHat);
  if (lhs2 !== mod(B * publicPow(Qc, e, nHat), nHat)) return false;
  const lhs3 = mod(publicPow(Qc, z1, nHat) * publicPow(rp.h2, v, nHat), nHat);
  return lhs3 === mod(T * publicPow(R, e, nHat), nHat);
}
