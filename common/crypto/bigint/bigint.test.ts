import assert from 'node:assert/strict';
import { test } from 'vitest';
import {
  bigIntToBytes,
  bitLength,
  bytesToBigInt,
  fixedBase,
  gcd,
  generateSafePrime,
  isProbablePrime,
  isqrt,
  publicJacobi,
  modInverse,
  publicPow,
  secretPow,
  secretPowCrt,
  secretFixedBases,
  randomBits,
} from './index.ts';

/** Square-and-multiply on native bigints: an independent reference. */
function referencePow(b: bigint, e: bigint, m: bigint): bigint {
  let result = 1n;
  let base = b % m;
  for (let x = e; x > 0n; x >>= 1n) {
    if (x & 1n) result = (result * base) % m;
    base = (base * base) % m;
  }
  return result;
}

const m = randomBits(1024) | (1n << 1023n) | 1n;

test('publicPow, secretPow and fixedBase agree with a native reference', () => {
  const fb = fixedBase(12345n, m, 1024);
  try {
    for (let i = 0; i < 5; i++) {
      const b = randomBits(1000);
      const e = randomBits(1024);
      const expected = referencePow(b, e, m);
      assert.equal(publicPow(b, e, m), expected);
      assert.equal(secretPow(b, e, m), expected);
      assert.equal(fb.pow(e), referencePow(12345n, e, m));
    }
  } finally {
    fb.dispose();
  }
  assert.equal(secretPow(5n, 0n, m), 1n);
});

test('negative exponents use the inverse', () => {
  const prime = (1n << 127n) - 1n; // a modulus every b below it is invertible in
  const b = 987654321n;
  assert.equal((publicPow(b, -3n, prime) * referencePow(b, 3n, prime)) % prime, 1n);
  assert.equal((secretPow(b, -3n, prime) * referencePow(b, 3n, prime)) % prime, 1n);
});

test('secretPow refuses an even modulus; modInverse refuses non-units', () => {
  assert.throws(() => secretPow(3n, 5n, 10n), RangeError);
  assert.throws(() => modInverse(6n, 9n), RangeError);
  assert.equal((modInverse(7n, 1000003n) * 7n) % 1000003n, 1n);
});

test('CRT exponentiation matches the direct one', () => {
  const p = 1000000007n;
  const q = 998244353n;
  const e = randomBits(200);
  assert.equal(secretPowCrt(123456789n, e, p, q), referencePow(123456789n, e, p * q));
});

test('gcd, publicJacobi, isqrt, byte conversions', () => {
  assert.equal(gcd(84n, 36n), 12n);
  assert.equal(publicJacobi(2n, 7n), 1);
  assert.equal(publicJacobi(3n, 7n), -1);
  const n = randomBits(2048);
  const r = isqrt(n);
  assert.ok(r * r <= n && (r + 1n) * (r + 1n) > n);
  assert.equal(bytesToBigInt(bigIntToBytes(n, 256)), n);
  assert.throws(() => bigIntToBytes(1n << 64n, 8), RangeError);
});

test('generateSafePrime returns p = 2q + 1 with p, q prime, p ≡ 3 mod 4', () => {
  const p = generateSafePrime(256);
  assert.equal(bitLength(p), 256);
  assert.ok(isProbablePrime(p) && isProbablePrime((p - 1n) / 2n));
  assert.equal(p % 4n, 3n);
  assert.ok(!isProbablePrime(p * 3n));
});

test('secretFixedBases: products of fixed bases to secret exponents match the reference at every edge', () => {
  const m = randomBits(1030) | (1n << 1029n) | 1n;
  const h1 = randomBits(1020);
  const h2 = randomBits(1029);
  const table = secretFixedBases([h1, h2], m, [300, 1100]);
  const cases: [bigint, bigint][] = [
    [0n, 0n],
    [1n, 0n],
    [0n, 1n],
    [(1n << 300n) - 1n, (1n << 1100n) - 1n],
    [randomBits(300), randomBits(1100)],
    [0xfedcba9876543210n, 1n << 1099n],
  ];
  for (const [a, b] of cases) {
    assert.equal(table.pow([a, b]), (referencePow(h1, a, m) * referencePow(h2, b, m)) % m);
  }
  assert.throws(() => table.pow([1n << 300n, 0n]), /out of range/);
  assert.throws(() => table.pow([-1n, 0n]), /out of range/);
  assert.throws(() => table.pow([1n]), /one exponent per base/);
  assert.throws(() => secretFixedBases([h1], m + 1n, [8]), /odd modulus/);
});
