/**
 * A prime-order group as the DKG sees it, and the polynomial arithmetic over its scalar field
 * (Shamir sharing, Feldman commitments, Lagrange interpolation at zero).
 */
import { invert, mod } from '@noble/curves/abstract/modular.js';
import { DecodeError } from '../encoding.ts';

/** The point operations the DKG needs; noble's Edwards and Weierstrass points provide them. */
export interface GroupElement<P> {
  add(other: P): P;
  subtract(other: P): P;
  multiply(scalar: bigint): P;
  /** Variable-time; only for public scalars. */
  multiplyUnsafe(scalar: bigint): P;
  equals(other: P): boolean;
  is0(): boolean;
}

export interface PrimeOrderGroup<P extends GroupElement<P>> {
  /** Names the group in domain-separation tags. */
  readonly name: string;
  readonly order: bigint;
  readonly scalarLength: number;
  readonly elementLength: number;
  readonly generator: P;
  readonly identity: P;
  encodeElement(p: P): Uint8Array;
  /**
   * Strict: exact length, canonical encoding, on the curve, in the prime-order subgroup, and not
   * the identity. Throws DecodeError otherwise.
   */
  decodeElement(bytes: Uint8Array): P;
  encodeScalar(s: bigint): Uint8Array;
  /** Strict: exact length and canonical (< order). Throws DecodeError otherwise. */
  decodeScalar(bytes: Uint8Array): bigint;
  /** A uniformly distributed scalar derived from `msg` under the domain-separation tag `dst`. */
  hashToScalar(dst: string, msg: Uint8Array): bigint;
  /** A uniformly random non-zero scalar from the system CSPRNG. */
  randomScalar(): bigint;
}

/** Decodes an element, naming `what` in the error. */
export function decodeElementAs<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  bytes: Uint8Array,
  what: string,
): P {
  try {
    return group.decodeElement(bytes);
  } catch (e) {
    throw new DecodeError(`${what}: ${(e as Error).message}`);
  }
}

/** f(x) for f = coefficients[0] + coefficients[1]·x + …, by Horner's rule. */
export function evaluatePolynomial(coefficients: readonly bigint[], x: bigint, order: bigint): bigint {
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = mod(acc * x + coefficients[k]!, order);
  return acc;
}

/** Σ commitments[k]·x^k: the public image f(x)·G of a Feldman-committed polynomial. */
export function evaluateCommitment<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  commitments: readonly P[],
  x: bigint,
): P {
  let acc = group.identity;
  for (let k = commitments.length - 1; k >= 0; k--) {
    acc = acc.multiplyUnsafe(x).add(commitments[k]!);
  }
  return acc;
}

/** The Lagrange coefficient λ_i for interpolating at 0 from the points at `indices`. */
export function lagrangeAtZero(indices: readonly bigint[], i: bigint, order: bigint): bigint {
  if (new Set(indices).size !== indices.length) throw new RangeError('duplicate interpolation index');
  if (!indices.includes(i)) throw new RangeError(`index ${i} is not among the interpolation points`);
  let num = 1n;
  let den = 1n;
  for (const j of indices) {
    if (j === i) continue;
    num = mod(num * j, order);
    den = mod(den * (j - i), order);
  }
  return mod(num * invert(den, order), order);
}

/** Σ λ_i·y_i: the value at 0 of the polynomial through the given (index, value) scalar points. */
export function interpolateAtZero(points: ReadonlyMap<bigint, bigint>, order: bigint): bigint {
  const indices = [...points.keys()];
  let acc = 0n;
  for (const [i, y] of points) acc = mod(acc + y * lagrangeAtZero(indices, i, order), order);
  return acc;
}

/** s·G in constant time; s = 0 (which noble's `multiply` refuses) gives the identity. */
export function baseMultiply<P extends GroupElement<P>>(group: PrimeOrderGroup<P>, s: bigint): P {
  return s === 0n ? group.identity : group.generator.multiply(s);
}
