/**
 * Paillier encryption (Paillier 1999) with generator g = N + 1, as GG18 uses it for MtA.
 * Decryption runs modulo p^2 and q^2 with constant-time exponentiation (CRT, ~10x faster than
 * one exponentiation modulo N^2); every exponentiation with a secret input is constant time.
 */
import {
  bitLength,
  gcd,
  generateSafePrime,
  mod,
  publicPow,
  randomUnit,
  secretInverseModPrime,
  secretPow,
} from '../bigint/index.ts';

/** GG18 hardening: a Paillier modulus below 2048 bits is refused (issue 3; CVE-2023-33241). */
export const MIN_MODULUS_BITS = 2048;

export interface PaillierPublicKey {
  readonly n: bigint;
  readonly n2: bigint;
}

export interface PaillierSecretKey extends PaillierPublicKey {
  readonly p: bigint;
  readonly q: bigint;
}

export function publicKeyFromModulus(n: bigint): PaillierPublicKey {
  return { n, n2: n * n };
}

export function secretKeyFromPrimes(p: bigint, q: bigint): PaillierSecretKey {
  if (p === q) throw new RangeError('Paillier primes must differ');
  const n = p * q;
  return { n, n2: n * n, p, q };
}

/** A fresh key from two safe primes of bits/2 bits each (slow: use the pre-params pool). */
export function generatePaillierKey(bits = MIN_MODULUS_BITS): PaillierSecretKey {
  for (;;) {
    const p = generateSafePrime(bits / 2);
    const q = generateSafePrime(bits / 2);
    if (p !== q && bitLength(p * q) === bits) return secretKeyFromPrimes(p, q);
  }
}

/** Is c a valid ciphertext, i.e. in Z*_{N^2}? */
export function isCiphertext(pk: PaillierPublicKey, c: bigint): boolean {
  return c > 0n && c < pk.n2 && gcd(c, pk.n) === 1n;
}

function isSecretKey(key: PaillierPublicKey): key is PaillierSecretKey {
  return 'p' in key && 'q' in key;
}

/** Per-key CRT constants, derived once with constant-time arithmetic. */
interface Crt {
  readonly p2: bigint;
  readonly q2: bigint;
  /** N mod φ(p^2), N mod φ(q^2): the exponent of r^N modulo each prime square. */
  readonly np: bigint;
  readonly nq: bigint;
  /** (p^2)^-1 mod q^2 and p^-1 mod q for the recombinations. */
  readonly p2InvQ2: bigint;
  readonly pInvQ: bigint;
  /** (-q)^-1 mod p and (-p)^-1 mod q for L_p and L_q in decryption. */
  readonly lp: bigint;
  readonly lq: bigint;
}

const crtCache = new WeakMap<PaillierSecretKey, Crt>();

function crtOf(sk: PaillierSecretKey): Crt {
  let crt = crtCache.get(sk);
  if (!crt) {
    const { p, q } = sk;
    const q2 = q * q;
    const pInvQ = secretInverseModPrime(p, q);
    // Hensel lift of p^-1 mod q to p^-2 mod q^2: x = y(2 - p^2·y) with y = (p^-1 mod q)^2.
    const y = mod(pInvQ * pInvQ, q2);
    crt = {
      p2: p * p,
      q2,
      np: mod(sk.n, p * (p - 1n)),
      nq: mod(sk.n, q * (q - 1n)),
      p2InvQ2: mod(y * (2n - mod(p * p * y, q2)), q2),
      pInvQ,
      lp: secretInverseModPrime(mod(-q, p), p),
      lq: secretInverseModPrime(mod(-p, q), q),
    };
    crtCache.set(sk, crt);
  }
  return crt;
}

/**
 * r^N mod N^2 for a secret unit r (encryption randomness, a prover's mask). With the secret key at
 * hand, computed modulo p^2 and q^2 with the exponent reduced modulo φ(p^2) = p(p-1) and φ(q^2)
 * (about 1.5x faster); that exponent is secret, so both ways run in constant time.
 */
export function nthPower(key: PaillierPublicKey, r: bigint): bigint {
  if (!isSecretKey(key)) return secretPow(r, key.n, key.n2);
  const { p2, q2, np, nq, p2InvQ2 } = crtOf(key);
  const xp = secretPow(mod(r, p2), np, p2);
  const xq = secretPow(mod(r, q2), nq, q2);
  return xp + p2 * mod((xq - xp) * p2InvQ2, q2);
}

/** s^N mod N^2 for a public s (a verifier's check): variable time unless the key is secret. */
export function nthPowerPublic(key: PaillierPublicKey, s: bigint): bigint {
  return isSecretKey(key) ? nthPower(key, s) : publicPow(s, key.n, key.n2);
}

/** (1 + N)^m · r^N mod N^2, for m in [0, N). */
export function encryptWith(pk: PaillierPublicKey, m: bigint, r: bigint): bigint {
  const gm = mod(1n + mod(m, pk.n) * pk.n, pk.n2);
  return mod(gm * nthPower(pk, r), pk.n2);
}

export function encrypt(pk: PaillierPublicKey, m: bigint): { c: bigint; r: bigint } {
  const r = randomUnit(pk.n);
  return { c: encryptWith(pk, m, r), r };
}

/** Homomorphic addition of plaintexts. */
export function addCiphertexts(pk: PaillierPublicKey, a: bigint, b: bigint): bigint {
  return mod(a * b, pk.n2);
}

/** Homomorphic multiplication of the plaintext by a secret scalar k (constant-time exponent). */
export function multiplyCiphertext(pk: PaillierPublicKey, c: bigint, k: bigint): bigint {
  return secretPow(c, k, pk.n2);
}

/** L_p(c^(p-1) mod p^2) / L_p((1+N)^(p-1) mod p^2) = m mod p, with lInv = (-other)^-1 mod p. */
function decryptModPrime(c: bigint, prime: bigint, lInv: bigint): bigint {
  const p2 = prime * prime;
  const u = secretPow(mod(c, p2), prime - 1n, p2);
  const l = (u - 1n) / prime;
  // L_p((1+N)^(p-1) mod p^2) = (p-1)·q ≡ -q (mod p)
  return mod(l * lInv, prime);
}

export function decrypt(sk: PaillierSecretKey, c: bigint): bigint {
  if (!isCiphertext(sk, c)) throw new RangeError('not a Paillier ciphertext');
  const crt = crtOf(sk);
  const mp = decryptModPrime(c, sk.p, crt.lp);
  const mq = decryptModPrime(c, sk.q, crt.lq);
  // CRT: m ≡ mp (mod p), m ≡ mq (mod q)
  const h = mod((mq - mp) * crt.pInvQ, sk.q);
  return mp + h * sk.p;
}

/**
 * The plaintext as the integer in (-N/2, N/2] it represents. MtA plaintexts are integers whose
 * size the range proofs bound far below N/2, so this recovers them exactly whatever their sign,
 * where the unsigned value in [0, N) would wrap a negative one around N.
 */
export function decryptCentered(sk: PaillierSecretKey, c: bigint): bigint {
  const m = decrypt(sk, c);
  return m > sk.n >> 1n ? m - sk.n : m;
}

/** φ(N) = (p-1)(q-1). */
export function totient(sk: PaillierSecretKey): bigint {
  return (sk.p - 1n) * (sk.q - 1n);
}
