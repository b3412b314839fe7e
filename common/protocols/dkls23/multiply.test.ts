import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'vitest';
import { baseOtFinish, baseOtReceive, baseOtStart } from '../ot/base-ot.ts';
import { KAPPA } from '../ot/kos.ts';
import { modq, randomScalar } from '../threshold/scalars.ts';
import { aliceRespond, bobFinish, bobStart, type AliceResponse } from './multiply.ts';

function otPair() {
  const b = { sessionId: 'kg', prover: 'bob', verifier: 'alice', parties: ['alice', 'bob'] };
  const start = baseOtStart(b);
  const delta = [...randomBytes(KAPPA)].map((x) => (x & 1) === 1);
  const answer = baseOtReceive(b, start.A, delta);
  return { bob: baseOtFinish(b, start, answer.B), alice: { delta, keys: answer.keys } };
}

describe('DKLs19 two-party multiplication (random VOLE)', { timeout: 60_000 }, () => {
  const pair = otPair();

  test('c + d = a·b for both inputs', () => {
    const { keep, message } = bobStart(pair.bob, 'm1');
    const a = [randomScalar(), randomScalar()];
    const out = aliceRespond(pair.alice, 'm1', a, message);
    assert.ok(out);
    const d = bobFinish(keep, 'm1', out.response);
    assert.ok(d);
    for (let l = 0; l < 2; l++) assert.equal(modq(out.c[l]! + d[l]!), modq(a[l]! * keep.b));
  });

  test('Alice offsetting the correlation of one OT whose choice bit is 1 is caught (selective failure)', () => {
    const { keep, message } = bobStart(pair.bob, 'm2');
    const out = aliceRespond(pair.alice, 'm2', [randomScalar(), randomScalar()], message);
    assert.ok(out);
    const j = keep.beta.indexOf(true);
    const tau = out.response.tau.map((row) => [...row]);
    tau[0]![j] = modq(tau[0]![j]! + 1n);
    assert.equal(bobFinish(keep, 'm2', { ...out.response, tau }), false);
  });

  test('Alice using a different pad for the check is caught', () => {
    const { keep, message } = bobStart(pair.bob, 'm3');
    const out = aliceRespond(pair.alice, 'm3', [randomScalar(), randomScalar()], message);
    assert.ok(out);
    const forged: AliceResponse = { ...out.response, u: [modq(out.response.u[0]! + 1n), out.response.u[1]!] };
    assert.equal(bobFinish(keep, 'm3', forged), false);
  });

  test("Alice answering under another session's tag is caught", () => {
    const { message } = bobStart(pair.bob, 'm4');
    assert.equal(aliceRespond(pair.alice, 'm5', [1n, 2n], message), false);
  });

  test('Bob sending inconsistent OT extension columns is caught by Alice (KOS)', () => {
    const { message } = bobStart(pair.bob, 'm6');
    const i = pair.alice.delta.indexOf(true);
    const u = message.u.map((c) => c.slice());
    u[i]![0]! ^= 1;
    assert.equal(aliceRespond(pair.alice, 'm6', [1n, 2n], { ...message, u }), false);
  });
});
