/**
 * Πmod: proof that N is a Paillier–Blum modulus (N = p·q, p ≡ q ≡ 3 mod 4, gcd(N, φ(N)) = 1),
 * CGGMP21 (ePrint 2021/060) Fig. 16, with m = 128 iterations. Answers CVE-2023-33241 (Fireblocks,
 * "BitForge"): without it a party can pick a Paillier modulus that leaks peers' shares via MtA.
 *
 * Soundness: for N that is not a Paillier–Blum modulus, each challenge y_i admits the required
 * roots with probability at most 1/2 (CGGMP21 §C.1, after Goldberg–Reyzin–Sagga–Baldimtsi,
 * "Efficient noninteractive certification of RSA moduli", 2019), so a cheating prover passes all
 * m with probability at most 2^-m: 2^-128 here, the security level of the rest of the protocol.
 * Fiat–Shamir lets a prover grind hashes, which is why 80 (2^-80) is not enough.
 */
import {
  isProbablePrime,
  mod,
  publicJacobi,
  publicPow,
  randomBelow,
  secretInverse,
  secretInverseModPrime,
  secretLegendre,
  secretPow,
  secretPowCrt,
} from '../bigint/index.ts';
import type { PaillierSecretKey } from '../paillier/index.ts';
import { challengesModulo, transcriptHash, type ProofBinding } from './transcript.ts';

export const MOD_ITERATIONS = 128;

export interface BlumModulusProof {
  readonly w: bigint;
  /** x_i with x_i^4 = (-1)^a_i w^b_i y_i mod N */
  readonly x: readonly bigint[];
  readonly a: readonly boolean[];
  readonly b: readonly boolean[];
  /** z_i with z_i^N = y_i mod N */
  readonly z: readonly bigint[];
}

function challenges(binding: ProofBinding, n: bigint, w: bigint): bigint[] {
  return challengesModulo(transcriptHash('mod', binding, [n, w]), n, MOD_ITERATIONS);
}

/** Fourth root of a quadratic residue modulo a Blum prime p (the root is itself a residue). */
function fourthRootModPrime(y: bigint, p: bigint): bigint {
  const e = (p + 1n) / 4n;
  return secretPow(mod(y, p), mod(e * e, p - 1n), p);
}

export function proveBlumModulus(sk: PaillierSecretKey, binding: ProofBinding): BlumModulusProof {
  const { n, p, q } = sk;
  let w: bigint;
  do w = randomBelow(n);
  while (publicJacobi(w, n) !== -1);
  const phi = (p - 1n) * (q - 1n);
  const nInverse = secretInverse(n, phi);
  const ys = challenges(binding, n, w);
  const qInvP = secretInverseModPrime(q, p);
  const x: bigint[] = [];
  const a: boolean[] = [];
  const b: boolean[] = [];
  const z: bigint[] = [];
  // Legendre symbols are multiplicative: two constant-time symbols per challenge, and (w/p), (w/q)
  // and (-1/p) = (-1)^((p-1)/2) once.
  const minusOne = (prime: bigint): number => (prime % 4n === 3n ? -1 : 1);
  const wp = secretLegendre(w, p);
  const wq = secretLegendre(w, q);
  for (const y of ys) {
    z.push(secretPowCrt(y, nInverse, p, q));
    const yp = secretLegendre(y, p);
    const yq = secretLegendre(y, q);
    // Exactly one of y, -y, wy, -wy is a residue modulo both p and q (-1 is a non-residue mod
    // both Blum primes; w is a non-residue mod exactly one of them).
    let chosen: { value: bigint; a: boolean; b: boolean } | undefined;
    for (const [flipSign, useW] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const symbol = (prime: bigint, ySymbol: number, wSymbol: number): number =>
        (flipSign ? minusOne(prime) : 1) * (useW ? wSymbol : 1) * ySymbol;
      if (symbol(p, yp, wp) === 1 && symbol(q, yq, wq) === 1) {
        let v = useW ? mod(w * y, n) : y;
        if (flipSign) v = mod(-v, n);
        chosen = { value: v, a: flipSign, b: useW };
        break;
      }
    }
    if (!chosen) throw new RangeError('modulus is not a Paillier–Blum modulus');
    const rp = fourthRootModPrime(chosen.value, p);
    const rq = fourthRootModPrime(chosen.value, q);
    x.push(mod(rq + q * mod((rp - rq) * qInvP, p), n));
    a.push(chosen.a);
    b.push(chosen.b);
  }
  return { w, x, a, b, z };
}

export function verifyBlumModulus(n: bigint, proof: BlumModulusProof, binding: ProofBinding): boolean {
  if ((n & 1n) === 0n || n < 3n || isProbablePrime(n, 10)) return false;
  const { w, x, a, b, z } = proof;
  if (w <= 0n || w >= n || publicJacobi(w, n) !== -1) return false;
  if ([x, a, b, z].some((v) => v.length !== MOD_ITERATIONS)) return false;
  const ys = challenges(binding, n, w);
  for (let i = 0; i < MOD_ITERATIONS; i++) {
    const y = ys[i]!;
    const xi = x[i]!;
    const zi = z[i]!;
    if (xi <= 0n || xi >= n || zi <= 0n || zi >= n) return false;
    if (publicPow(zi, n, n) !== y) return false;
    let expected = b[i] ? mod(w * y, n) : y;
    if (a[i]) expected = mod(-expected, n);
    const x2 = mod(xi * xi, n);
    if (mod(x2 * x2, n) !== expected) return false;
  }
  return true;
}
