import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { computeAddress, recoverAddress, Signature } from 'ethers';
import { normalizeLowS, toRsv } from './signature.ts';

const N = secp256k1.Point.CURVE().n;
const HALF_N = N >> 1n;

function randomScalar(): bigint {
  // Rejection sampling keeps the value uniform in [1, n-1].
  for (;;) {
    const x = bytesToNumberBE(randomBytes(32));
    if (x > 0n && x < N) return x;
  }
}

/** Signs with noble without low-s normalisation, so about half the signatures come out high-s. */
function signHighOrLowS(digest: Uint8Array, secret: Uint8Array) {
  const bytes = secp256k1.sign(digest, secret, { prehash: false, lowS: false, format: 'recovered' });
  const sig = secp256k1.Signature.fromBytes(bytes, 'recovered');
  return { r: sig.r, s: sig.s, recoveryId: sig.recovery as number };
}

describe('toRsv', () => {
  test('property: low s, flipped parity exactly when s > n/2, and a faithful 65-byte encoding', () => {
    let flipped = 0;
    for (let i = 0; i < 5000; i++) {
      const r = randomScalar();
      const s = randomScalar();
      const recoveryId = i % 4;
      const out = toRsv(r, s, recoveryId);
      const high = s > HALF_N;
      if (high) flipped++;
      assert.ok(BigInt(out.s) <= HALF_N);
      assert.equal(BigInt(out.s), high ? N - s : s);
      assert.equal(BigInt(out.r), r);
      assert.equal(out.recoveryId, high ? recoveryId ^ 1 : recoveryId);
      assert.equal(out.v, 27 + out.recoveryId);
      assert.match(out.signature, /^0x[0-9a-f]{130}$/);
      assert.equal(out.signature, out.r + out.s.slice(2) + out.v.toString(16).padStart(2, '0'));
      assert.equal(out.r.length, 66);
      assert.equal(out.s.length, 66);
    }
    // Both branches ran a meaningful number of times.
    assert.ok(flipped > 2000 && flipped < 3000, `flipped ${flipped} of 5000`);
  });

  test('boundaries of the low-s range', () => {
    assert.equal(BigInt(toRsv(1n, HALF_N, 0).s), HALF_N);
    assert.equal(toRsv(1n, HALF_N, 0).v, 27);
    assert.equal(BigInt(toRsv(1n, HALF_N + 1n, 0).s), HALF_N);
    assert.equal(toRsv(1n, HALF_N + 1n, 0).v, 28);
    assert.equal(BigInt(toRsv(1n, N - 1n, 1).s), 1n);
    assert.equal(toRsv(1n, N - 1n, 1).v, 27);
    assert.deepEqual(normalizeLowS({ r: 5n, s: 7n, recoveryId: 1 }), { r: 5n, s: 7n, recoveryId: 1 });
  });

  test('real signatures, high-s ones included, recover to the signer with ethers after normalisation', () => {
    const secret = secp256k1.utils.randomSecretKey();
    const address = computeAddress('0x' + bytesToHex(secp256k1.getPublicKey(secret, true)));
    let highS = 0;
    for (let i = 0; i < 200; i++) {
      const digest = randomBytes(32);
      const sig = signHighOrLowS(digest, secret);
      if (sig.s > HALF_N) highS++;
      const rsv = toRsv(sig.r, sig.s, sig.recoveryId);
      assert.equal(recoverAddress(digest, rsv.signature), address);
      const parsed = Signature.from(rsv.signature);
      assert.equal(parsed.v, rsv.v);
      assert.equal(parsed.s, rsv.s);
    }
    assert.ok(highS > 0, 'some signatures were high-s');
  });

  test('rejects out-of-range r, s and recovery id', () => {
    const cases: [string, bigint, bigint, number][] = [
      ['r = 0', 0n, 1n, 0],
      ['r = n', N, 1n, 0],
      ['s = 0', 1n, 0n, 0],
      ['s = n', 1n, N, 0],
      ['s < 0', 1n, -1n, 0],
      ['recovery id 4', 1n, 1n, 4],
      ['recovery id -1', 1n, 1n, -1],
      ['recovery id 0.5', 1n, 1n, 0.5],
    ];
    for (const [name, r, s, recoveryId] of cases) {
      assert.throws(() => toRsv(r, s, recoveryId), RangeError, name);
    }
  });
});
