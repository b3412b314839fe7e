/**
 * Schnorr proofs of knowledge on secp256k1 (Fiat–Shamir, bound to the session and parties as
 * GG18 requires of its keygen and signing PoKs; CVE-2022-47930):
 * - `proveDlog`: knowledge of x with X = x·G;
 * - `proveTwoBase`: knowledge of (s, l) with V = s·R + l·G (GG18 phase 5B).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { mod, randomBelow } from '../bigint/index.ts';
import { challengesModulo, transcriptHash, type ProofBinding } from './transcript.ts';

export type Point = InstanceType<typeof secp256k1.Point>;
const G = secp256k1.Point.BASE;
const q = secp256k1.Point.CURVE().n;

function nonZeroScalar(): bigint {
  for (;;) {
    const k = randomBelow(q);
    if (k !== 0n) return k;
  }
}

function challenge(domain: string, binding: ProofBinding, points: readonly Point[]): bigint {
  return challengesModulo(
    transcriptHash(
      domain,
      binding,
      points.map((p) => p.toBytes(true)),
    ),
    q,
    1,
  )[0]!;
}

/** a·P + b·Q for public scalars, tolerating zero scalars. */
function combine(a: bigint, P: Point, b: bigint, Q: Point): Point {
  const left = a === 0n ? secp256k1.Point.ZERO : P.multiplyUnsafe(a);
  const right = b === 0n ? secp256k1.Point.ZERO : Q.multiplyUnsafe(b);
  return left.add(right);
}

export interface DlogProof {
  readonly A: Point;
  readonly z: bigint;
}

export function proveDlog(x: bigint, X: Point, binding: ProofBinding): DlogProof {
  const a = nonZeroScalar();
  const A = G.multiply(a);
  const e = challenge('schnorr', binding, [X, A]);
  return { A, z: mod(a + e * x, q) };
}

export function verifyDlog(X: Point, proof: DlogProof, binding: ProofBinding): boolean {
  if (proof.z < 0n || proof.z >= q || X.is0() || proof.A.is0()) return false;
  const e = challenge('schnorr', binding, [X, proof.A]);
  return combine(proof.z, G, 0n, G).equals(combine(1n, proof.A, e, X));
}

export interface TwoBaseProof {
  readonly A: Point;
  readonly z1: bigint;
  readonly z2: bigint;
}

export function proveTwoBase(s: bigint, l: bigint, R: Point, V: Point, binding: ProofBinding): TwoBaseProof {
  const a = nonZeroScalar();
  const b = nonZeroScalar();
  const A = R.multiply(a).add(G.multiply(b));
  const e = challenge('two-base', binding, [R, V, A]);
  return { A, z1: mod(a + e * s, q), z2: mod(b + e * l, q) };
}

export function verifyTwoBase(R: Point, V: Point, proof: TwoBaseProof, binding: ProofBinding): boolean {
  const { A, z1, z2 } = proof;
  if (z1 < 0n || z1 >= q || z2 < 0n || z2 >= q || A.is0()) return false;
  const e = challenge('two-base', binding, [R, V, A]);
  return combine(z1, R, z2, G).equals(combine(1n, A, e, V));
}
