import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { describe, test } from 'vitest';
import { healthyNodes } from '../testing/http-harness.ts';
import { selectKeygenNodes, selectSigners } from './node-selection.ts';
import { decodeCursor, ecdsaResponse, encodeCursor } from './service.ts';

describe('node selection', () => {
  test('keygen skips sealed and unreachable nodes and returns undefined when too few remain', () => {
    const health = healthyNodes().map((n) =>
      n.nodeId === 'tss1' ? { ...n, sealed: true } : n.nodeId === 'tss3' ? { ...n, reachable: false } : n,
    );
    assert.deepEqual(selectKeygenNodes(health, 2), ['tss2', 'tss4']);
    assert.equal(selectKeygenNodes(health, 3), undefined);
  });

  test('signers keep the holders order and ignore non-holders', () => {
    const health = healthyNodes().map((n) => ({ ...n, latencyMs: n.nodeId === 'tss3' ? 50 : 1 }));
    assert.deepEqual(selectSigners(health, ['tss4', 'tss3', 'tss1'], 2), ['tss4', 'tss1']);
    assert.equal(selectSigners(health.slice(0, 1), ['tss1', 'tss2'], 2), undefined);
  });
});

describe('ECDSA response', () => {
  test('splits r, s, v and normalises to low-s with the recovery id flipped', () => {
    const digest = new Uint8Array(32).fill(7);
    const secret = secp256k1.utils.randomSecretKey();
    const sig = secp256k1.Signature.fromBytes(
      secp256k1.sign(digest, secret, { prehash: false, format: 'recovered' }),
      'recovered',
    );
    const n = secp256k1.Point.CURVE().n;
    // Present the high-s twin, as an MPC protocol might produce it.
    const highS = n - sig.s;
    const raw = new Uint8Array(65);
    const hex = (x: bigint) => x.toString(16).padStart(64, '0');
    raw.set(Buffer.from(hex(sig.r) + hex(highS), 'hex'));
    raw[64] = sig.recovery! ^ 1;
    const out = ecdsaResponse(raw);
    assert.equal(out.s, `0x${hex(sig.s)}`);
    assert.equal(out.recovery_id, sig.recovery);
    assert.equal(out.v, 27 + sig.recovery!);
    assert.equal(out.signature, `0x${hex(sig.r)}${hex(sig.s)}${out.v.toString(16)}`);
    assert.throws(() => ecdsaResponse(new Uint8Array(64)));
  });
});

describe('list cursor', () => {
  test('round-trips and rejects anything else', () => {
    const row = { created_at: '2030-01-01T00:00:00.000Z', key_id: `key_${'a'.repeat(32)}` };
    assert.deepEqual(decodeCursor(encodeCursor(row)), row);
    assert.throws(() => decodeCursor('bm9wZQ'));
  });
});
