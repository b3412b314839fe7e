import assert from 'node:assert/strict';
import { test } from 'vitest';
import { fixturePreParams } from '../../protocols/gg18/fixtures.ts';
import { randomBelow } from '../bigint/index.ts';
import {
  addCiphertexts,
  decrypt,
  encrypt,
  encryptWith,
  isCiphertext,
  multiplyCiphertext,
  nthPower,
  secretKeyFromPrimes,
} from './index.ts';

const sk = fixturePreParams()[0]!.paillier;

test('decrypt(encrypt(m)) = m', () => {
  for (const m of [0n, 1n, sk.n - 1n, randomBelow(sk.n)]) {
    assert.equal(decrypt(sk, encrypt(sk, m).c), m);
  }
});

test('ciphertexts are additively homomorphic and scale by a constant', () => {
  const a = randomBelow(1n << 256n);
  const b = randomBelow(1n << 256n);
  const k = randomBelow(1n << 256n);
  const ca = encrypt(sk, a).c;
  const cb = encrypt(sk, b).c;
  assert.equal(decrypt(sk, addCiphertexts(sk, ca, cb)), a + b);
  assert.equal(decrypt(sk, multiplyCiphertext(sk, ca, k)), (a * k) % sk.n);
});

test('encryption is randomised and deterministic given r', () => {
  const { c, r } = encrypt(sk, 42n);
  assert.equal(encryptWith(sk, 42n, r), c);
  assert.notEqual(encrypt(sk, 42n).c, c);
});

test('the CRT n-th power with the secret key matches the public computation', () => {
  const r = randomBelow(sk.n);
  const publicKey = { n: sk.n, n2: sk.n2 };
  assert.equal(nthPower(sk, r), nthPower(publicKey, r));
  assert.equal(encryptWith(sk, 7n, r), encryptWith(publicKey, 7n, r));
  assert.equal(decrypt(sk, encryptWith(publicKey, 7n, r)), 7n);
});

test('non-ciphertexts are rejected', () => {
  assert.equal(isCiphertext(sk, 0n), false);
  assert.equal(isCiphertext(sk, sk.n2), false);
  assert.equal(isCiphertext(sk, sk.p), false);
  assert.throws(() => decrypt(sk, sk.q * 5n), RangeError);
  assert.throws(() => secretKeyFromPrimes(sk.p, sk.p), RangeError);
});
