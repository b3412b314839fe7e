/**
 * Ring-Pedersen parameters (N~, h1, h2) for GG18's range proofs, and the proof that they are
 * well formed: h1 and h2 generate the same subgroup of Z*_N~ (GG18 §A, "DLN" proof of Fujisaki–
 * Okamoto / CGGMP21 Πprm, ePrint 2021/060 Fig. 17), proved in both directions.
 *
 * Each direction runs the full 128 binary-challenge iterations: TSSHOCK (Verichain, Black Hat
 * USA 2023) showed "c-guess" key extraction against forks that cut this loop to one iteration.
 */
import {
  bitLength,
  fixedBase,
  gcd,
  generateSafePrime,
  isProbablePrime,
  mod,
  randomBelow,
  randomUnit,
  secretInverse,
  secretPowCrt,
} from '../bigint/index.ts';
import { MIN_MODULUS_BITS } from '../paillier/index.ts';
import { challengesModulo, transcriptHash, type ProofBinding } from './transcript.ts';

export const DLN_ITERATIONS = 128;

export interface RingPedersenParams {
  readonly nTilde: bigint;
  readonly h1: bigint;
  readonly h2: bigint;
}

/** The parameters with their trapdoor: N~ = P·Q (safe primes), h2 = h1^alpha, h1 = h2^beta. */
export interface RingPedersenSecret extends RingPedersenParams {
  readonly p: bigint;
  readonly q: bigint;
  readonly alpha: bigint;
  readonly beta: bigint;
}

/** Builds parameters from two distinct safe primes. */
export function ringPedersenFromPrimes(p: bigint, q: bigint): RingPedersenSecret {
  if (p === q) throw new RangeError('ring-Pedersen primes must differ');
  const nTilde = p * q;
  const order = ((p - 1n) / 2n) * ((q - 1n) / 2n);
  const f = randomUnit(nTilde);
  const h1 = mod(f * f, nTilde);
  for (;;) {
    const alpha = randomBelow(order);
    if (alpha < 2n) continue;
    let beta: bigint;
    try {
      beta = secretInverse(alpha, order);
    } catch {
      continue; // alpha not a unit modulo the order
    }
    const h2 = secretPowCrt(h1, alpha, p, q);
    if (h2 === h1 || h2 === 1n) continue;
    return { nTilde, h1, h2, p, q, alpha, beta };
  }
}

export function generateRingPedersen(bits = MIN_MODULUS_BITS): RingPedersenSecret {
  for (;;) {
    const p = generateSafePrime(bits / 2);
    const q = generateSafePrime(bits / 2);
    if (p !== q && bitLength(p * q) === bits) return ringPedersenFromPrimes(p, q);
  }
}

/** Proof that `y = g^x` in Z*_N~ with binary challenges. */
export interface DlnProof {
  readonly commitments: readonly bigint[];
  readonly responses: readonly bigint[];
}

function dlnChallengeBits(
  binding: ProofBinding,
  g: bigint,
  y: bigint,
  n: bigint,
  commitments: readonly bigint[],
): boolean[] {
  const seed = transcriptHash('dln', binding, [n, g, y, ...commitments]);
  const bits = challengesModulo(seed, 1n << BigInt(DLN_ITERATIONS), 1)[0]!;
  return Array.from({ length: DLN_ITERATIONS }, (_, i) => ((bits >> BigInt(i)) & 1n) === 1n);
}

function proveDln(g: bigint, y: bigint, x: bigint, secret: RingPedersenSecret, binding: ProofBinding): DlnProof {
  const order = ((secret.p - 1n) / 2n) * ((secret.q - 1n) / 2n);
  const nonces = Array.from({ length: DLN_ITERATIONS }, () => randomBelow(order));
  const commitments = nonces.map((a) => secretPowCrt(g, a, secret.p, secret.q));
  const bits = dlnChallengeBits(binding, g, y, secret.nTilde, commitments);
  const responses = nonces.map((a, i) => (bits[i] ? mod(a + x, order) : a));
  return { commitments, responses };
}

function verifyDln(g: bigint, y: bigint, n: bigint, proof: DlnProof, binding: ProofBinding): boolean {
  if (proof.commitments.length !== DLN_ITERATIONS || proof.responses.length !== DLN_ITERATIONS) {
    return false;
  }
  for (let i = 0; i < DLN_ITERATIONS; i++) {
    const a = proof.commitments[i]!;
    const t = proof.responses[i]!;
    if (a <= 1n || a >= n || t < 0n || t >= n) return false;
  }
  const bits = dlnChallengeBits(binding, g, y, n, proof.commitments);
  const powers = fixedBase(g, n, bitLength(n));
  try {
    for (let i = 0; i < DLN_ITERATIONS; i++) {
      const expected = bits[i] ? mod(proof.commitments[i]! * y, n) : proof.commitments[i]!;
      if (powers.pow(proof.responses[i]!) !== expected) return false;
    }
    return true;
  } finally {
    powers.dispose();
  }
}

export interface RingPedersenProof {
  /** h2 = h1^alpha */
  readonly h2FromH1: DlnProof;
  /** h1 = h2^beta */
  readonly h1FromH2: DlnProof;
}

export function proveRingPedersen(secret: RingPedersenSecret, binding: ProofBinding): RingPedersenProof {
  return {
    h2FromH1: proveDln(secret.h1, secret.h2, secret.alpha, secret, binding),
    h1FromH2: proveDln(secret.h2, secret.h1, secret.beta, secret, binding),
  };
}

/**
 * Checks the parameters' shape (N~ of at least 2048 bits, odd, not prime; h1, h2 units other
 * than ±1 and distinct) and both DLN proofs.
 */
export function verifyRingPedersen(
  params: RingPedersenParams,
  proof: RingPedersenProof,
  binding: ProofBinding,
): boolean {
  const { nTilde, h1, h2 } = params;
  if (bitLength(nTilde) < MIN_MODULUS_BITS || (nTilde & 1n) === 0n) return false;
  for (const h of [h1, h2]) {
    if (h <= 1n || h >= nTilde - 1n || gcd(h, nTilde) !== 1n) return false;
  }
  if (h1 === h2 || isProbablePrime(nTilde, 10)) return false;
  return verifyDln(h1, h2, nTilde, proof.h2FromH1, binding) && verifyDln(h2, h1, nTilde, proof.h1FromH2, binding);
}
