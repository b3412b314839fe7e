import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'vitest';
import type { ProofBinding } from '../../crypto/zk/transcript.ts';
import { modq, randomScalar } from '../threshold/scalars.ts';
import { baseOtFinish, baseOtReceive, baseOtStart, verifyBaseOtStart } from './base-ot.ts';
import { clmul, gfMul, reduce } from './gf128.ts';
import {
  KAPPA,
  KOS_PADDING,
  correlatedReceive,
  correlatedSend,
  extendReceive,
  extendSend,
  type ExtReceiverSetup,
  type ExtSenderSetup,
} from './kos.ts';

const randomBits = (n: number): boolean[] => [...randomBytes(n)].map((b) => (b & 1) === 1);
const binding = (sessionId: string): ProofBinding => ({
  sessionId,
  prover: 'tss1',
  verifier: 'tss2',
  parties: ['tss1', 'tss2'],
});

function setup(): { receiver: ExtReceiverSetup; sender: ExtSenderSetup } {
  const b = binding('s');
  const start = baseOtStart(b);
  assert.ok(verifyBaseOtStart(b, start.A, start.proof));
  const delta = randomBits(KAPPA);
  const answer = baseOtReceive(b, start.A, delta);
  const keys = baseOtFinish(b, start, answer.B);
  return { receiver: keys, sender: { delta, keys: answer.keys } };
}

describe('GF(2^128)', () => {
  test('multiplication is commutative, distributive and has 1 as identity', () => {
    const a = 0x1234567890abcdef1234567890abcdefn;
    const b = 0xfedcba0987654321fedcba0987654321n;
    const c = 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0fn;
    assert.equal(gfMul(a, b), gfMul(b, a));
    assert.equal(gfMul(a, b ^ c), gfMul(a, b) ^ gfMul(a, c));
    assert.equal(gfMul(a, 1n), a);
    assert.equal(reduce(clmul(1n << 127n, 2n)), 0x87n);
  });
});

describe('base OT (Simplest OT with proof of knowledge)', { timeout: 60_000 }, () => {
  test('the receiver learns exactly the chosen key', () => {
    const b = binding('s1');
    const start = baseOtStart(b);
    const choices = randomBits(16);
    const r = baseOtReceive(b, start.A, choices);
    const s = baseOtFinish(b, start, r.B);
    choices.forEach((c, i) => {
      assert.deepEqual(r.keys[i], c ? s.k1[i] : s.k0[i]);
      assert.notDeepEqual(r.keys[i], c ? s.k0[i] : s.k1[i]);
    });
  });
  test("the sender's proof does not verify in another session or for another key", () => {
    const start = baseOtStart(binding('s1'));
    assert.ok(!verifyBaseOtStart(binding('s2'), start.A, start.proof));
    const other = baseOtStart(binding('s1'));
    assert.ok(!verifyBaseOtStart(binding('s1'), other.A, start.proof));
  });
});

describe('KOS OT extension and correlated OT', { timeout: 60_000 }, () => {
  const pair = setup();

  test('honest run: z + t = x·α for every OT and correlation', () => {
    const choices = randomBits(64);
    const { message, rows } = extendReceive(pair.receiver, 'sess-1', choices, randomBits(KOS_PADDING));
    const qRows = extendSend(pair.sender, 'sess-1', choices.length, message);
    assert.ok(qRows);
    const alphas = [randomScalar(), randomScalar()];
    const { z, tau } = correlatedSend('sess-1', pair.sender.delta, qRows, alphas);
    const t = correlatedReceive('sess-1', choices, rows, tau);
    for (let k = 0; k < 2; k++) {
      choices.forEach((x, j) => assert.equal(modq(z[k]![j]! + t[k]![j]!), x ? alphas[k]! : 0n));
    }
  });

  test('a receiver that uses a different choice bit in one column is caught by the KOS check', () => {
    const choices = randomBits(64);
    const { message } = extendReceive(pair.receiver, 'sess-2', choices, randomBits(KOS_PADDING));
    // Column i is only read by the sender when Δ_i = 1: that is where the attack would leak Δ_i.
    const i = pair.sender.delta.indexOf(true);
    const u = message.u.map((c) => c.slice());
    u[i]![3]! ^= 0x10;
    assert.equal(extendSend(pair.sender, 'sess-2', choices.length, { ...message, u }), false);
  });

  test('check values forged for other choices are refused', () => {
    const choices = randomBits(64);
    const { message } = extendReceive(pair.receiver, 'sess-3', choices, randomBits(KOS_PADDING));
    const xCheck = message.xCheck.slice();
    xCheck[0]! ^= 1;
    assert.equal(extendSend(pair.sender, 'sess-3', choices.length, { ...message, xCheck }), false);
  });

  test('a message extended under another session tag is refused', () => {
    const choices = randomBits(64);
    const { message } = extendReceive(pair.receiver, 'sess-4', choices, randomBits(KOS_PADDING));
    assert.equal(extendSend(pair.sender, 'sess-5', choices.length, message), false);
  });
});
