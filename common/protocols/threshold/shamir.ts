/** Shamir sharing over Z_q with Feldman commitments (Feldman 1987), and Lagrange interpolation. */
import { G, ORDER, modq, invq, publicMul, randomScalar, type Point } from './scalars.ts';

/** Lagrange coefficient at 0 of index i over the index set `indices` (which contains i). */
export function lagrangeAtZero(i: bigint, indices: readonly bigint[]): bigint {
  if (!indices.includes(i)) throw new Error(`index ${i} is not in the set`);
  if (new Set(indices).size !== indices.length) throw new Error('duplicate index');
  let num = 1n;
  let den = 1n;
  for (const j of indices) {
    if (j === i) continue;
    num = modq(num * j);
    den = modq(den * (j - i));
  }
  return modq(num * invq(den));
}

/** A random polynomial of `degree` over Z_q with constant term `secret` (coefficients low first). */
export function randomPolynomial(secret: bigint, degree: number): bigint[] {
  return [modq(secret), ...Array.from({ length: degree }, randomScalar)];
}

/** f(x) by Horner's rule. */
export function evaluatePolynomial(coefficients: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = modq(acc * x + coefficients[k]!);
  return acc;
}

/** The Feldman commitment C_k = a_k·G of each coefficient. */
export function feldmanCommit(coefficients: readonly bigint[]): Point[] {
  return coefficients.map((a) => G.multiply(modq(a)));
}

/** Σ_k C_k · x^k: the committed polynomial evaluated "in the exponent" at x. */
export function evaluateCommitment(commitment: readonly Point[], x: bigint): Point {
  let acc = commitment[commitment.length - 1]!;
  for (let k = commitment.length - 2; k >= 0; k--) acc = publicMul(acc, x).add(commitment[k]!);
  return acc;
}

/** Whether `share` is the value at x of the polynomial that `commitment` commits to. */
export function verifyFeldmanShare(commitment: readonly Point[], x: bigint, share: bigint): boolean {
  if (share <= 0n || share >= ORDER) return false;
  return G.multiply(share).equals(evaluateCommitment(commitment, x));
}

/** Σ_i λ_i·y_i: the secret behind shares y_i at `indices` (used by tests and combiners of public values). */
export function interpolateAtZero(indices: readonly bigint[], values: readonly bigint[]): bigint {
  return modq(indices.reduce((acc, i, k) => acc + lagrangeAtZero(i, indices) * values[k]!, 0n));
}
