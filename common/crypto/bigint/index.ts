/**
 * Big-integer arithmetic for the Paillier/ring-Pedersen layer: native bigint values, with the
 * expensive operations (modular exponentiation, inversion, primality) delegated to GMP compiled
 * to WebAssembly (gmp-wasm, LGPL-3.0). Chosen by measurement (bench/gg18.bench.ts): a 2048-bit
 * modexp costs ~11 ms in gmp-wasm against ~19 ms in bigint-crypto-utils and far more in bn.js.
 *
 * Constant time. Every modular exponentiation and Legendre symbol with a secret input (base,
 * exponent or modulus) goes through `secretPow` / `secretPowCrt` / `secretLegendre` (GMP's
 * mpz_powm_sec: memory access pattern and timing independent of the operands). `publicPow`,
 * `publicJacobi` and `fixedBase` are variable time and for public inputs only; this file is the only
 * place GMP's raw mpz_powm/mpz_jacobi are reachable (constant-time.test.ts enforces it and lists
 * every call site of the public variants). Inverses modulo a secret prime use Fermat
 * (`secretInverseModPrime`); inverses modulo a secret composite (once per key: N^-1 mod φ(N), the
 * ring-Pedersen trapdoor) use GMP's variable-time mpz_invert on a randomly blinded input. Native
 * bigint arithmetic in V8 (*, %, /) is not constant time; that is the limit of what a JavaScript
 * runtime offers for the remaining operations.
 */
import { init } from 'gmp-wasm';
import { randomBytes } from 'node:crypto';

const gmp = (await init()).binding;

// Three scratch registers: all calls are synchronous, so they are never used concurrently.
const regA = gmp.mpz_t();
const regB = gmp.mpz_t();
const regC = gmp.mpz_t();
gmp.mpz_init(regA);
gmp.mpz_init(regB);
gmp.mpz_init(regC);

function load(reg: number, x: bigint): void {
  if (x < 0n) throw new RangeError('negative operand');
  gmp.mpz_set_string(reg, x.toString(16), 16);
}

function read(reg: number): bigint {
  return BigInt('0x' + gmp.mpz_to_string(reg, 16));
}

/** x mod m in [0, m). */
export function mod(x: bigint, m: bigint): bigint {
  const r = x % m;
  return r < 0n ? r + m : r;
}

/** base^exp mod m, variable time: base, exponent and modulus public (negative: the inverse). */
export function publicPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (exp < 0n) return publicPow(modInverse(base, m), -exp, m);
  load(regA, mod(base, m));
  load(regB, exp);
  load(regC, m);
  gmp.mpz_powm(regA, regA, regB, regC);
  return read(regA);
}

/**
 * base^exp mod m where any of the three is secret: mpz_powm_sec (constant time). The modulus
 * must be odd, as every modulus here is (N, N^2, N~ and the primes). A negative exponent inverts
 * the base first with the variable-time mpz_invert: only for a public base.
 */
export function secretPow(base: bigint, exp: bigint, m: bigint): bigint {
  if ((m & 1n) === 0n) throw new RangeError('secretPow needs an odd modulus');
  if (exp < 0n) return secretPow(modInverse(base, m), -exp, m);
  if (exp === 0n) return 1n % m;
  load(regA, mod(base, m));
  load(regB, exp);
  load(regC, m);
  gmp.mpz_powm_sec(regA, regA, regB, regC);
  return read(regA);
}

/** a^-1 mod m, variable time (public a and m); throws when gcd(a, m) != 1. */
export function modInverse(a: bigint, m: bigint): bigint {
  load(regA, mod(a, m));
  load(regB, m);
  if (gmp.mpz_invert(regA, regA, regB) === 0) throw new RangeError('not invertible');
  return read(regA);
}

export function gcd(a: bigint, b: bigint): bigint {
  load(regA, a < 0n ? -a : a);
  load(regB, b < 0n ? -b : b);
  gmp.mpz_gcd(regA, regA, regB);
  return read(regA);
}

/** a^-1 mod p for a secret odd prime p (or secret a): Fermat, a^(p-2), constant time. */
export function secretInverseModPrime(a: bigint, p: bigint): bigint {
  const r = secretPow(mod(a, p), p - 2n, p);
  if (r === 0n) throw new RangeError('not invertible');
  return r;
}

/**
 * a^-1 mod m for a secret composite m (or secret a): mpz_invert on a·r for a random unit r, then
 * times r, so the variable-time extended Euclid never sees a itself (m still passes through it).
 */
export function secretInverse(a: bigint, m: bigint): bigint {
  const r = randomUnit(m);
  return mod(modInverse(mod(a * r, m), m) * r, m);
}

/** Jacobi symbol (a/n) for odd n, variable time: a and n public. */
export function publicJacobi(a: bigint, n: bigint): number {
  load(regA, mod(a, n));
  load(regB, n);
  return gmp.mpz_jacobi(regA, regB);
}

/** Legendre symbol (a/p) for a secret odd prime p, by Euler's criterion a^((p-1)/2) (constant time). */
export function secretLegendre(a: bigint, p: bigint): number {
  const e = secretPow(mod(a, p), (p - 1n) >> 1n, p);
  return e === 1n ? 1 : e === 0n ? 0 : -1;
}

/** Baillie–PSW plus `reps` Miller–Rabin rounds (GMP's mpz_probab_prime_p). */
export function isProbablePrime(n: bigint, reps = 40): boolean {
  if (n < 2n) return false;
  load(regA, n);
  return gmp.mpz_probab_prime_p(regA, reps) > 0;
}

export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex'));
}

/** Big-endian encoding, left-padded to `length` bytes. */
export function bigIntToBytes(x: bigint, length: number): Uint8Array {
  const hex = x.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError('value does not fit');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Uniform in [0, 2^bits). */
export function randomBits(bits: number): bigint {
  const bytes = randomBytes(Math.ceil(bits / 8));
  const extra = bytes.length * 8 - bits;
  bytes[0] = bytes[0]! & (0xff >> extra);
  const value = bytesToBigInt(bytes);
  bytes.fill(0);
  return value;
}

/** Uniform in [0, n) by rejection sampling. */
export function randomBelow(n: bigint): bigint {
  const bits = bitLength(n);
  for (;;) {
    const x = randomBits(bits);
    if (x < n) return x;
  }
}

/** Uniform in Z*_n. */
export function randomUnit(n: bigint): bigint {
  for (;;) {
    const x = randomBelow(n);
    if (x > 0n && gcd(x, n) === 1n) return x;
  }
}

/** Uniform in [-bound, bound]. */
export function randomSigned(bound: bigint): bigint {
  return randomBelow(2n * bound + 1n) - bound;
}

const SMALL_PRIMES: readonly number[] = (() => {
  const limit = 20000;
  const sieve = new Uint8Array(limit);
  const out: number[] = [];
  for (let i = 3; i < limit; i += 2) {
    if (sieve[i]) continue;
    out.push(i);
    for (let j = i * i; j < limit; j += 2 * i) sieve[j] = 1;
  }
  return out;
})();

/** Odd primes below 20000, for trial division. */
export function smallPrimes(): readonly number[] {
  return SMALL_PRIMES;
}

/**
 * A random safe prime p = 2q + 1 of exactly `bits` bits with q prime; p ≡ 3 (mod 4), so p is a
 * Blum prime. Candidates are sieved incrementally for both q and p before any primality test.
 */
export function generateSafePrime(bits: number): bigint {
  for (;;) {
    // q has bits-1 bits with its top two bits set (so p*p' has exactly 2*bits bits) and is odd.
    const q = randomBits(bits - 1) | (3n << BigInt(bits - 3)) | 1n;
    const residues = SMALL_PRIMES.map((r) => Number(q % BigInt(r)));
    for (let step = 0; step < 1 << 16; step += 2) {
      let clean = true;
      for (let i = 0; i < SMALL_PRIMES.length; i++) {
        const r = SMALL_PRIMES[i]!;
        const qr = (residues[i]! + step) % r;
        // r | q, or r | 2q+1  <=>  q ≡ (r-1)/2 (mod r)
        if (qr === 0 || qr === (r - 1) / 2) {
          clean = false;
          break;
        }
      }
      if (!clean) continue;
      const candidate = q + BigInt(step);
      const p = 2n * candidate + 1n;
      if (bitLength(p) !== bits) break;
      // Cheap Fermat test on p first (constant time: the survivor is a secret prime); GMP's
      // primality test for survivors is variable time (runs once per prime, in the worker).
      if (secretPow(2n, p - 1n, p) !== 1n) continue;
      if (isProbablePrime(candidate, 30) && isProbablePrime(p, 30)) return p;
    }
  }
}

/**
 * base^exp mod p·q for distinct secret primes p, q, via CRT with constant-time
 * exponentiations modulo each prime (about 4x faster than secretPow modulo p·q). base must be
 * coprime to p·q, so the exponent can be reduced modulo p-1 and q-1.
 */
export function secretPowCrt(base: bigint, exp: bigint, p: bigint, q: bigint): bigint {
  const xp = secretPow(mod(base, p), mod(exp, p - 1n), p);
  const xq = secretPow(mod(base, q), mod(exp, q - 1n), q);
  const h = mod((xq - xp) * secretInverseModPrime(p, q), q);
  return xp + h * p;
}

/** floor(sqrt(n)) for n >= 0. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Exponentiations of one public base to many public exponents (verifiers' hot loops). */
export interface FixedBase {
  pow(exp: bigint): bigint;
  /** Releases the precomputed table (WebAssembly memory). */
  dispose(): void;
}

const WINDOW = 6;

/**
 * Yao's fixed-base method: precomputes base^(2^(w·j)) once, then each exponentiation of up to
 * `maxBits` bits costs about maxBits/w + 2^w multiplications instead of maxBits squarings.
 * Not constant time: for public exponents only.
 */
export function fixedBase(base: bigint, m: bigint, maxBits: number): FixedBase {
  const digits = Math.ceil(maxBits / WINDOW);
  const table: number[] = [];
  const modulus = gmp.mpz_t();
  gmp.mpz_init(modulus);
  load(modulus, m);
  const step = gmp.mpz_t();
  gmp.mpz_init(step);
  load(step, 1n << BigInt(WINDOW));
  for (let j = 0; j < digits; j++) {
    const entry = gmp.mpz_t();
    gmp.mpz_init(entry);
    if (j === 0) load(entry, mod(base, m));
    else gmp.mpz_powm(entry, table[j - 1]!, step, modulus);
    table.push(entry);
  }
  const acc = gmp.mpz_t();
  const run = gmp.mpz_t();
  gmp.mpz_init(acc);
  gmp.mpz_init(run);
  const mask = (1n << BigInt(WINDOW)) - 1n;
  return {
    pow(exp) {
      if (exp < 0n || bitLength(exp) > maxBits) return publicPow(base, exp, m);
      const buckets: number[][] = Array.from({ length: 1 << WINDOW }, () => []);
      for (let j = 0, e = exp; e > 0n; j++, e >>= BigInt(WINDOW)) {
        const d = Number(e & mask);
        if (d) buckets[d]!.push(table[j]!);
      }
      gmp.mpz_set_ui(acc, 1);
      gmp.mpz_set_ui(run, 1);
      for (let d = (1 << WINDOW) - 1; d >= 1; d--) {
        for (const entry of buckets[d]!) {
          gmp.mpz_mul(run, run, entry);
          gmp.mpz_mod(run, run, modulus);
        }
        gmp.mpz_mul(acc, acc, run);
        gmp.mpz_mod(acc, acc, modulus);
      }
      return read(acc);
    },
    dispose() {
      for (const p of [...table, modulus, step, acc, run]) {
        gmp.mpz_clear(p);
        gmp.mpz_t_free(p);
      }
    },
  };
}

/** Products base_1^e_1 · … · base_k^e_k mod m of fixed public bases and secret exponents. */
export interface SecretFixedBases {
  /** One exponent per base, each in [0, 2^maxBits of that base). */
  pow(exps: readonly bigint[]): bigint;
}

const SECRET_WINDOW = 4;
const SECRET_ENTRIES = 1 << SECRET_WINDOW;
/** Bytes per GMP limb in this build (4 on wasm32, unless GMP was built with 64-bit limbs). */
const LIMB_BYTES = (() => {
  gmp.mpz_set_string(regA, '100000000', 16);
  return gmp.mpz_size(regA) === 1 ? 8 : 4;
})();

/** Writes x's limbs, zero-padded, into words[at .. at + width). */
function copyLimbs(reg: number, words: Uint32Array, at: number, width: number): void {
  const n = gmp.mpz_size(reg) * (LIMB_BYTES / 4);
  words.set(new Uint32Array(gmp.mem.buffer, gmp.mpz_limbs_read(reg), n), at);
  words.fill(0, at + n, at + width);
}

/** Numeric value of a lower-case hex character without a branch: '0'-'9' -> 0-9, 'a'-'f' -> 10-15. */
function hexDigit(code: number): number {
  return (code & 15) + 9 * (code >> 6);
}

/**
 * Fixed-window fixed-base exponentiation for secret exponents (ring-Pedersen commitments
 * h1^a·h2^b mod N~ against a peer's public h1, h2, N~): each base's table holds
 * base^(d·16^j) for every 4-bit digit d and position j, so an exponent costs one multiplication
 * per digit and no squarings. Every position is processed whatever the exponent, and each entry is
 * read by scanning all 16 candidates with masks, so the sequence of operations and memory
 * addresses is the same for every exponent (mpz_mul/mpz_mod on equal-length operands; an operand
 * is shorter only when its top 32 bits are zero). The limit is V8's: the digits come from the
 * exponent's hex string (bigint toString), whose length is that of the exponent.
 */
export function secretFixedBases(bases: readonly bigint[], m: bigint, maxBits: readonly number[]): SecretFixedBases {
  if ((m & 1n) === 0n || m < 3n) throw new RangeError('secretFixedBases needs an odd modulus');
  const width = Math.ceil(bitLength(m) / 32) + (LIMB_BYTES === 8 ? 1 : 0);
  const widthLimbs = (width * 4) / LIMB_BYTES;
  const digits = maxBits.map((bits) => Math.ceil(bits / SECRET_WINDOW));
  const modulus = gmp.mpz_t();
  const one = gmp.mpz_t();
  gmp.mpz_init(modulus);
  gmp.mpz_init(one);
  load(modulus, m);
  // Tables are built with the scratch registers: regA = base^(16^j), regB = base^(d·16^j).
  const tables = bases.map((base, i) => {
    const words = new Uint32Array(digits[i]! * SECRET_ENTRIES * width);
    load(regA, mod(base, m));
    gmp.mpz_set_ui(one, 1);
    for (let j = 0; j < digits[i]!; j++) {
      const at = j * SECRET_ENTRIES * width;
      copyLimbs(one, words, at, width);
      gmp.mpz_set(regB, regA);
      for (let d = 1; d < SECRET_ENTRIES; d++) {
        copyLimbs(regB, words, at + d * width, width);
        gmp.mpz_mul(regB, regB, regA);
        gmp.mpz_mod(regB, regB, modulus);
      }
      gmp.mpz_set(regA, regB); // base^(16^(j+1))
    }
    return words;
  });
  gmp.mpz_clear(modulus);
  gmp.mpz_t_free(modulus);
  gmp.mpz_clear(one);
  gmp.mpz_t_free(one);
  // A fresh modulus register per call keeps the object free of WebAssembly state to release.
  return {
    pow(exps) {
      if (exps.length !== bases.length) throw new RangeError('one exponent per base');
      const hexes = exps.map((e, i) => {
        if (e < 0n || bitLength(e) > maxBits[i]!) throw new RangeError('exponent out of range');
        return e.toString(16).padStart(digits[i]!, '0');
      });
      load(regC, m);
      gmp.mpz_set_ui(regA, 1);
      const chosen = new Uint32Array(width);
      for (let i = 0; i < bases.length; i++) {
        const words = tables[i]!;
        const hex = hexes[i]!;
        for (let j = 0; j < digits[i]!; j++) {
          const d = hexDigit(hex.charCodeAt(hex.length - 1 - j));
          const row = j * SECRET_ENTRIES * width;
          chosen.fill(0);
          for (let k = 0; k < SECRET_ENTRIES; k++) {
            const mask = ((k ^ d) - 1) >> 31; // -1 when k = d, else 0
            const at = row + k * width;
            for (let w = 0; w < width; w++) chosen[w] = chosen[w]! | (words[at + w]! & mask);
          }
          new Uint32Array(gmp.mem.buffer, gmp.mpz_limbs_write(regB, widthLimbs), width).set(chosen);
          gmp.mpz_limbs_finish(regB, widthLimbs);
          gmp.mpz_mul(regA, regA, regB);
          gmp.mpz_mod(regA, regA, regC);
        }
        chosen.fill(0);
      }
      return read(regA);
    },
  };
}
