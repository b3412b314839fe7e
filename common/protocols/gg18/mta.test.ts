import assert from 'node:assert/strict';
import { test } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { mod, modInverse, secretPow, randomBelow, randomUnit } from '../../crypto/bigint/index.ts';
import {
  addCiphertexts,
  decrypt,
  encrypt,
  encryptWith,
  multiplyCiphertext,
  nthPower,
  publicKeyFromModulus,
} from '../../crypto/paillier/index.ts';
import { proveBob, verifyBob, type BobProof } from '../../crypto/zk/mta.ts';
import { challengesModulo, transcriptHash, type ProofBinding } from '../../crypto/zk/transcript.ts';
import { fixturePreParams } from './fixtures.ts';
import { aliceMta, bobMta, MTA_OFFSET, MTA_SLACK, unshiftedStatement, type BobMessage } from './mta.ts';

const q = secp256k1.Point.CURVE().n;
const G = secp256k1.Point.BASE;
const alice = fixturePreParams()[0]!;
const sk = alice.paillier;
const pk = publicKeyFromModulus(sk.n);
const rp = alice.ringPedersen;
const bind: ProofBinding = { sessionId: 'mta', prover: 'tss2', verifier: 'tss1', parties: ['tss1', 'tss2'] };

/**
 * Alice's nonces in two bands: with x = q/2 and Y = q²/8, the product k·x is below Y exactly in
 * the first band, which is what the wrap-around attack tests.
 */
const x = q / 2n;
const Y = (q * q) / 8n;
const trials = [
  ...Array.from({ length: 5 }, () => ({ k: 1n + randomBelow(q / 8n), belowY: true })),
  ...Array.from({ length: 5 }, () => ({ k: q / 2n + randomBelow(q / 2n), belowY: false })),
];

/** The old Alice: the raw statement, unsigned decryption reduced mod q. */
function oldAlice(c1: bigint, msg: BobMessage, X?: ReturnType<typeof G.multiply>): bigint | undefined {
  const st = X ? { pk, c1, c2: msg.c2, X } : { pk, c1, c2: msg.c2 };
  if (!verifyBob(st, rp, msg.proof, bind)) return undefined;
  return mod(decrypt(sk, msg.c2), q);
}

/** Bob encrypting the negative representative N - Y of -Y and proving the raw statement with y = -Y. */
function negativeMaskBob(c1: bigint): BobMessage {
  const enc = encrypt(pk, pk.n - Y);
  const c2 = addCiphertexts(pk, multiplyCiphertext(pk, c1, x), enc.c);
  return { c2, proof: proveBob({ pk, c1, c2 }, x, -Y, enc.r, rp, bind) };
}

test('a negative Bob mask passes the raw range proof; the old Alice leaks k·x < Y, the new one names Bob every time', () => {
  const oldOutcomes: boolean[] = [];
  const newOutcomes: string[] = [];
  for (const { k, belowY } of trials) {
    const c1 = encrypt(sk, k).c;
    const msg = negativeMaskBob(c1);
    // Bob's share, betting that Alice's plaintext does not wrap: -(N - Y) mod q.
    const bobShare = mod(-(pk.n - Y), q);
    const old = oldAlice(c1, msg);
    assert.notEqual(old, undefined, 'the raw verifier accepts the negative mask');
    oldOutcomes.push(mod(old! + bobShare, q) === mod(k * x, q));
    assert.equal(oldOutcomes.at(-1), belowY, 'old outcome is the comparison k·x < Y');
    const now = aliceMta(sk, rp, c1, msg, undefined, bind);
    newOutcomes.push(now.ok ? 'ok' : now.reason);
  }
  assert.ok(oldOutcomes.includes(true) && oldOutcomes.includes(false));
  assert.deepEqual(
    newOutcomes,
    trials.map(() => 'proof'),
  );
});

test('masks and multiplicands of either sign within the proof bounds give outcomes independent of k', () => {
  const outcomes = { consistent: [] as boolean[], wrapBet: [] as boolean[], negativeX: [] as boolean[] };
  const oldNegativeX: boolean[] = [];
  for (const { k, belowY } of trials) {
    const c1 = encrypt(sk, k).c;
    // A mask S - Y below the offset (b = -Y): within the proof's slack, so accepted.
    const enc = encrypt(pk, MTA_OFFSET - Y);
    const c2 = addCiphertexts(pk, multiplyCiphertext(pk, c1, x), enc.c);
    const msg = { c2, proof: proveBob(unshiftedStatement(pk, c1, c2), x, -Y, enc.r, rp, bind) };
    const res = aliceMta(sk, rp, c1, msg, undefined, bind);
    assert.ok(res.ok);
    outcomes.consistent.push(mod(res.share - (MTA_OFFSET - Y), q) === mod(k * x, q));
    outcomes.wrapBet.push(mod(res.share - (MTA_OFFSET - Y + pk.n), q) === mod(k * x, q));

    // MtAwc with x - q in place of x (same point X = x·G). Old: wraps iff k·(q - x) > y.
    const X = G.multiply(x);
    const negX = bobMta(pk, c1, x - q, X, rp, bind);
    const resX = aliceMta(sk, rp, c1, negX, X, bind);
    assert.ok(resX.ok);
    outcomes.negativeX.push(mod(resX.share + negX.share, q) === mod(k * x, q));
    const y = Y;
    const encOld = encrypt(pk, y);
    const c2Old = addCiphertexts(pk, multiplyCiphertext(pk, c1, x - q), encOld.c);
    const oldMsg = { c2: c2Old, proof: proveBob({ pk, c1, c2: c2Old, X }, x - q, y, encOld.r, rp, bind) };
    const old = oldAlice(c1, oldMsg, X);
    assert.notEqual(old, undefined, 'the raw verifier accepts x - q');
    oldNegativeX.push(mod(old! - y, q) === mod(k * x, q));
    assert.equal(oldNegativeX.at(-1), belowY, 'old outcome is the comparison k·(q - x) <= y');
  }
  assert.ok(oldNegativeX.includes(true) && oldNegativeX.includes(false), 'old outcome depends on k');
  assert.deepEqual(
    outcomes.consistent,
    trials.map(() => true),
  );
  assert.deepEqual(
    outcomes.wrapBet,
    trials.map(() => false),
  );
  assert.deepEqual(
    outcomes.negativeX,
    trials.map(() => true),
  );
});

/**
 * A Bob who knows Alice's ring-Pedersen trapdoor (as if Πprm had failed) can commit to 1/2 and
 * prove the plaintext y = (N+1)/2 whenever the challenge e is even: e·y ≡ e/2 (mod N). The
 * decrypted value then sits near N/2, far outside the range the proof claims; Alice's range
 * check refuses it, naming Bob.
 */
function forgeHalf(c1: bigint): { msg: BobMessage; proofOk: boolean } {
  const order = ((rp.p - 1n) / 2n) * ((rp.q - 1n) / 2n);
  const ped = (a: bigint, b: bigint): bigint =>
    mod(secretPow(rp.h1, mod(a, order), rp.nTilde) * secretPow(rp.h2, mod(b, order), rp.nTilde), rp.nTilde);
  const half = (pk.n + 1n) / 2n;
  const r = randomUnit(pk.n);
  const c2 = addCiphertexts(pk, multiplyCiphertext(pk, c1, x), encryptWith(pk, MTA_OFFSET + half, r));
  const st = unshiftedStatement(pk, c1, c2);
  // Bob's proof with the y part committed as the trapdoor's 1/2 (mod the order of h1).
  const alpha = randomBelow(q ** 3n);
  const rho = randomBelow(q * rp.nTilde);
  const rhoP = randomBelow(q ** 3n * rp.nTilde);
  const sigma = randomBelow(q * rp.nTilde);
  const tau = randomBelow(q ** 3n * rp.nTilde);
  const g = randomBelow(q ** 7n - q);
  const beta = randomUnit(pk.n);
  const z = ped(x, rho);
  const zPrime = ped(alpha, rhoP);
  const t = ped(modInverse(2n, order), sigma);
  const v = mod(secretPow(c1, alpha, pk.n2) * (1n + g * pk.n) * nthPower(pk, beta), pk.n2);
  const w = ped(g, tau);
  const forge = (e: bigint): BobProof => ({
    z,
    zPrime,
    t,
    v,
    w,
    s: mod(secretPow(r, e, pk.n) * beta, pk.n),
    s1: e * x + alpha,
    s2: e * rho + rhoP,
    t1: e / 2n + g,
    t2: e * sigma + tau,
  });
  const e = challengeOf(st, [z, zPrime, t, v, w]);
  const proof = forge(e);
  return { msg: { c2, proof }, proofOk: e % 2n === 0n && verifyBob(st, rp, proof, bind) };
}

/** The verifier's challenge for Bob's MtA proof (as crypto/zk/mta.ts derives it). */
function challengeOf(st: { c1: bigint; c2: bigint }, first: bigint[]): bigint {
  const items = [pk.n, st.c1, st.c2, new Uint8Array(), new Uint8Array(), rp.nTilde, rp.h1, rp.h2, ...first];
  return challengesModulo(transcriptHash('mta-bob', bind, items), q, 1)[0]!;
}

test('a plaintext outside the range the proof guarantees is refused, naming Bob, even with a proof that verifies', () => {
  const c1 = encrypt(sk, 1n + randomBelow(q - 1n)).c;
  for (let attempt = 0; attempt < 64; attempt++) {
    const { msg, proofOk } = forgeHalf(c1);
    if (!proofOk) continue; // odd challenge: the forgery needs an even one
    const m = decrypt(sk, msg.c2);
    assert.ok(m - MTA_OFFSET > MTA_SLACK, 'the forged plaintext is far outside the bound');
    assert.deepEqual(aliceMta(sk, rp, c1, msg, undefined, bind), { ok: false, reason: 'range' });
    return;
  }
  assert.fail('no even challenge in 64 attempts');
});

test('honest MtA and MtAwc give additive shares of k·x', () => {
  const k = 1n + randomBelow(q - 1n);
  const c1 = encrypt(sk, k).c;
  const w = 1n + randomBelow(q - 1n);
  const W = G.multiply(w);
  for (const [secret, X] of [
    [x, undefined],
    [w, W],
  ] as const) {
    const bob = bobMta(pk, c1, secret, X, rp, bind);
    const res = aliceMta(sk, rp, c1, bob, X, bind);
    assert.ok(res.ok);
    assert.equal(mod(res.share + bob.share, q), mod(k * secret, q));
  }
});
