/**
 * Keeps secret inputs away from variable-time arithmetic. GMP's raw mpz_powm / mpz_jacobi are
 * reachable only through this folder's public-input wrappers, and every call of a variable-time
 * wrapper in shipped code is listed below with why its inputs are public: a new call fails this
 * test until someone has checked it (and otherwise used secretPow / secretLegendre).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'vitest';
import { fixturePreParams } from '../../protocols/gg18/fixtures.ts';
import {
  modInverse,
  publicJacobi,
  publicPow,
  randomBelow,
  secretInverse,
  secretInverseModPrime,
  secretLegendre,
  secretPow,
  secretPowCrt,
} from './index.ts';

const root = join(import.meta.dirname, '../../..');
const SHIPPED = ['common', 'node', 'gateway', 'operator', 'sdk'];
const BIGINT = 'common/crypto/bigint/index.ts';

/** Variable-time calls per file, each reviewed: every input is public. */
const REVIEWED: Record<string, { calls: number; why: string }> = {
  [BIGINT]: {
    calls: 2,
    why: "publicPow's negative-exponent recursion; fixedBase's fallback for its own public exponent",
  },
  'common/crypto/paillier/index.ts': { calls: 1, why: 'nthPowerPublic: s^N for a public s and public-key N' },
  'common/crypto/zk/mta.ts': {
    calls: 10,
    why: "verifiers: proof responses, statements and the peer's public parameters",
  },
  'common/crypto/zk/no-small-factor.ts': { calls: 11, why: 'verifier: proof values and public parameters' },
  'common/crypto/zk/paillier-blum.ts': {
    calls: 3,
    why: 'prover: Jacobi of the published w modulo the public N; verifier: proof values',
  },
  'common/crypto/zk/ring-pedersen.ts': { calls: 1, why: 'verifier: fixed-base table of the public h1 / h2' },
};

const VARIABLE_TIME_CALL = /(?<!function )\b(publicPow|publicJacobi|fixedBase|nthPowerPublic)\(/g;
const RAW_GMP = /\bmpz_(powm|powm_ui|jacobi|legendre|kronecker|kronecker_si|kronecker_ui)\(/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'testing') return [];
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

const files = SHIPPED.flatMap((d) => sources(join(root, d))).map((p) => ({
  path: relative(root, p),
  text: readFileSync(p, 'utf8'),
}));

test('raw GMP exponentiation and Jacobi are called only inside the public-input wrappers', () => {
  for (const { path, text } of files) {
    const hits = [...text.matchAll(RAW_GMP)];
    if (path !== BIGINT) {
      assert.deepEqual(
        hits.map((h) => h[0]),
        [],
        `${path} calls GMP directly`,
      );
      assert.doesNotMatch(text, /from 'gmp-wasm'/, `${path} imports gmp-wasm`);
      assert.doesNotMatch(text, /from 'bigint-crypto-utils'/, `${path} imports another bigint library`);
      continue;
    }
    const owners = hits.map((h) => {
      const before = text.slice(0, h.index);
      return [...before.matchAll(/export function (\w+)/g)].at(-1)?.[1];
    });
    assert.deepEqual(owners.sort(), ['fixedBase', 'publicJacobi', 'publicPow']);
  }
});

test('every variable-time exponentiation call in shipped code is a reviewed one', () => {
  const found: Record<string, number> = {};
  for (const { path, text } of files) {
    const n = [...text.matchAll(VARIABLE_TIME_CALL)].length;
    if (n > 0) found[path] = n;
  }
  const expected = Object.fromEntries(Object.entries(REVIEWED).map(([p, r]) => [p, r.calls]));
  assert.deepEqual(
    found,
    expected,
    'a variable-time call was added or removed: check its inputs are public, then update REVIEWED',
  );
});

test('the constant-time primitives agree with the variable-time ones', () => {
  const [pre] = fixturePreParams();
  const { p, q } = pre!.paillier;
  for (let i = 0; i < 5; i++) {
    const a = 2n + randomBelow(p - 3n);
    const e = randomBelow(p * q);
    assert.equal(secretPow(a, e, p * q), publicPow(a, e, p * q));
    assert.equal(secretPowCrt(a, e, p, q), publicPow(a, e, p * q));
    assert.equal(secretLegendre(a, p), publicJacobi(a, p));
    assert.equal(secretInverseModPrime(a, q), modInverse(a, q));
    const phi = (p - 1n) * (q - 1n);
    assert.equal(secretInverse(p * q, phi), modInverse(p * q, phi));
  }
  assert.equal(secretLegendre(p, p), 0);
  assert.throws(() => secretInverseModPrime(q, q), /not invertible/);
  assert.throws(() => secretInverse(2n, (p - 1n) * (q - 1n)), /not invertible/);
});
