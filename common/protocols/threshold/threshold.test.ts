import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { assertAbort } from '../testing/helpers.ts';
import type { PartyId, SessionContext } from '../types.ts';
import { dkgReveal, finishDkg, startDkg, type DkgReveal, type DkgState } from './dkg.ts';
import { G, modq, randomScalar } from './scalars.ts';
import {
  evaluatePolynomial,
  feldmanCommit,
  interpolateAtZero,
  lagrangeAtZero,
  randomPolynomial,
  verifyFeldmanShare,
} from './shamir.ts';
import { checkEcho, commit, verifyCommitment } from './commitment.ts';

const holders = ['tss1', 'tss2', 'tss3'];
const ctxOf = (self: PartyId, sessionId = 's1'): SessionContext => ({
  sessionId,
  keyId: 'key_1',
  self,
  parties: holders,
  holders,
  threshold: 2,
});

interface Run {
  states: Map<PartyId, DkgState>;
  commitments: Map<PartyId, Uint8Array>;
  reveals: Map<PartyId, DkgReveal>;
  shares: Map<PartyId, Map<PartyId, bigint>>;
}

function runDkg(): Run {
  const states = new Map(holders.map((h) => [h, startDkg('test', ctxOf(h))]));
  const commitments = new Map(holders.map((h) => [h, states.get(h)!.commitment]));
  const reveals = new Map<PartyId, DkgReveal>();
  const shares = new Map<PartyId, Map<PartyId, bigint>>(holders.map((h) => [h, new Map()]));
  for (const h of holders) {
    const out = dkgReveal(states.get(h)!, commitments);
    reveals.set(h, out.reveal);
    for (const [to, s] of out.shares) shares.get(to)!.set(h, s);
  }
  return { states, commitments, reveals, shares };
}

const finishAt = (run: Run, h: PartyId) =>
  finishDkg(run.states.get(h)!, run.commitments, run.reveals, run.shares.get(h)!);

describe('Shamir and Feldman', () => {
  test('any t shares interpolate to the secret', () => {
    const secret = randomScalar();
    const poly = randomPolynomial(secret, 2);
    const shares = [1n, 2n, 3n, 4n].map((i) => evaluatePolynomial(poly, i));
    assert.equal(interpolateAtZero([1n, 3n, 4n], [shares[0]!, shares[2]!, shares[3]!]), secret);
    assert.notEqual(interpolateAtZero([1n, 3n], [shares[0]!, shares[2]!]), secret);
    const sum = [1n, 2n, 4n].reduce((a, i) => modq(a + lagrangeAtZero(i, [1n, 2n, 4n])), 0n);
    assert.equal(sum, 1n);
  });
  test('a Feldman commitment accepts the right share only', () => {
    const poly = randomPolynomial(randomScalar(), 1);
    const c = feldmanCommit(poly);
    assert.ok(verifyFeldmanShare(c, 2n, evaluatePolynomial(poly, 2n)));
    assert.ok(!verifyFeldmanShare(c, 2n, modq(evaluatePolynomial(poly, 2n) + 1n)));
    assert.ok(!verifyFeldmanShare(c, 3n, evaluatePolynomial(poly, 2n)));
  });
  test('lagrangeAtZero refuses an index outside the set', () => {
    assert.throws(() => lagrangeAtZero(5n, [1n, 2n]), /not in the set/);
  });
  test('commitments bind the owner and the values', () => {
    const v = [Uint8Array.of(1, 2)];
    const { commitment, opening } = commit('t', 'tss1', v);
    assert.ok(verifyCommitment('t', 'tss1', commitment, opening, v));
    assert.ok(!verifyCommitment('t', 'tss2', commitment, opening, v));
    assert.ok(!verifyCommitment('t', 'tss1', commitment, opening, [Uint8Array.of(1, 3)]));
  });
  test('echo mismatch about the echoer names it; about a third party names nobody', () => {
    const a = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)];
    assertAbort(() => checkEcho('tss1', holders, 'tss2', [a[0]!, Uint8Array.of(9), a[2]!], a), 'tss2');
    assertAbort(() => checkEcho('tss1', holders, 'tss2', [a[0]!, a[1]!, Uint8Array.of(9)], a), undefined);
  });
});

describe('secp256k1 DKG', { timeout: 30_000 }, () => {
  test('honest run: every pair of shares yields the public key; verification shares agree', () => {
    const run = runDkg();
    const results = holders.map((h) => finishAt(run, h));
    const pk = results[0]!.publicKey;
    for (const r of results) assert.ok(r.publicKey.equals(pk));
    results.forEach((r, i) => assert.ok(G.multiply(r.share).equals(results[0]!.verificationShares[i]!)));
    const x = interpolateAtZero([1n, 3n], [results[0]!.share, results[2]!.share]);
    assert.ok(G.multiply(x).equals(pk));
  });
  test('an inconsistent share names its dealer', () => {
    const run = runDkg();
    run.shares.get('tss1')!.set('tss3', modq(run.shares.get('tss1')!.get('tss3')! + 1n));
    assertAbort(() => finishAt(run, 'tss1'), 'tss3', /Feldman/);
  });
  test('coefficients that do not open the commitment name the dealer', () => {
    const run = runDkg();
    const r = run.reveals.get('tss2')!;
    run.reveals.set('tss2', { ...r, coefficients: [r.coefficients[0]!, G.multiply(5n)] });
    assertAbort(() => finishAt(run, 'tss1'), 'tss2', /open/);
  });
  test('a proof of knowledge from another session is refused', () => {
    const run = runDkg();
    const other = startDkg('test', ctxOf('tss2', 's2'));
    const copied = dkgReveal(other, new Map(holders.map((h) => [h, other.commitment]))).reveal;
    const r = run.reveals.get('tss2')!;
    run.reveals.set('tss2', { ...r, proof: copied.proof });
    assertAbort(() => finishAt(run, 'tss1'), 'tss2', /proof of knowledge/);
  });
  test('an equivocated commitment is caught by the echo (nobody named: sender or echoer may lie)', () => {
    const run = runDkg();
    const seenByTss1 = new Map(run.commitments);
    seenByTss1.set('tss3', Uint8Array.from(run.commitments.get('tss3')!).fill(7));
    assertAbort(
      () => finishDkg(run.states.get('tss1')!, seenByTss1, run.reveals, run.shares.get('tss1')!),
      undefined,
      /different broadcasts from tss3/,
    );
  });
  test('a wrong number of coefficients is refused', () => {
    const run = runDkg();
    const r = run.reveals.get('tss3')!;
    run.reveals.set('tss3', { ...r, coefficients: [...r.coefficients, G] });
    assertAbort(() => finishAt(run, 'tss2'), 'tss3', /coefficients/);
  });
});
