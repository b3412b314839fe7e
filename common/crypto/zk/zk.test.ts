import assert from 'node:assert/strict';
import { test } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { fixturePreParams } from '../../protocols/gg18/fixtures.ts';
import { isProbablePrime, modPow, randomBelow, randomBits, randomUnit } from '../bigint/index.ts';
import { encrypt, encryptWith, multiplyCiphertext, addCiphertexts, secretKeyFromPrimes } from '../paillier/index.ts';
import { proveAliceRange, proveBob, verifyAliceRange, verifyBob } from './mta.ts';
import { proveNoSmallFactor, verifyNoSmallFactor } from './no-small-factor.ts';
import { MOD_ITERATIONS, proveBlumModulus, verifyBlumModulus } from './paillier-blum.ts';
import { DLN_ITERATIONS, proveRingPedersen, verifyRingPedersen, type RingPedersenParams } from './ring-pedersen.ts';
import { proveDlog, proveTwoBase, verifyDlog, verifyTwoBase } from './schnorr.ts';
import type { ProofBinding } from './transcript.ts';

const [alice, bob] = fixturePreParams();
const binding: ProofBinding = { sessionId: 'session-1', prover: 'tss1', verifier: 'tss2', parties: ['tss1', 'tss2'] };
const otherSession: ProofBinding = { ...binding, sessionId: 'session-2' };
const otherProver: ProofBinding = { ...binding, prover: 'tss3' };
const q = secp256k1.Point.CURVE().n;
const G = secp256k1.Point.BASE;

/** Ring-Pedersen parameters without their trapdoor (verification the slow, public way). */
const publicParams = (rp: RingPedersenParams): RingPedersenParams => ({ nTilde: rp.nTilde, h1: rp.h1, h2: rp.h2 });

/** A random prime of `bits` bits congruent to `residue` mod 4. */
function primeMod4(bits: number, residue: bigint): bigint {
  for (;;) {
    const p = randomBits(bits) | (1n << BigInt(bits - 1));
    const candidate = p - (p % 4n) + residue;
    if (isProbablePrime(candidate, 20)) return candidate;
  }
}

test('Πprm: honest parameters verify; the proof is bound to session and prover (CVE-2022-47930)', () => {
  const rp = alice!.ringPedersen;
  const proof = proveRingPedersen(rp, binding);
  assert.equal(verifyRingPedersen(rp, proof, binding), true);
  assert.equal(verifyRingPedersen(rp, proof, otherSession), false);
  assert.equal(verifyRingPedersen(rp, proof, otherProver), false);
});

test('Πprm: h2 outside <h1>, truncated iterations (TSSHOCK c-guess) and short N~ are rejected', () => {
  const rp = alice!.ringPedersen;
  const bad = { ...rp, h2: modPow(randomUnit(rp.nTilde), 2n, rp.nTilde) };
  assert.equal(verifyRingPedersen(bad, proveRingPedersen(bad, binding), binding), false);
  const proof = proveRingPedersen(rp, binding);
  const truncated = {
    h2FromH1: { commitments: proof.h2FromH1.commitments.slice(0, 1), responses: proof.h2FromH1.responses.slice(0, 1) },
    h1FromH2: proof.h1FromH2,
  };
  assert.equal(DLN_ITERATIONS, 128);
  assert.equal(verifyRingPedersen(rp, truncated, binding), false);
  const short = { nTilde: rp.p, h1: rp.h1 % rp.p, h2: rp.h2 % rp.p };
  assert.equal(verifyRingPedersen(short, proof, binding), false);
});

test('Πmod: a Paillier–Blum modulus verifies, bound to session', () => {
  const proof = proveBlumModulus(alice!.paillier, binding);
  assert.equal(proof.x.length, MOD_ITERATIONS);
  assert.equal(verifyBlumModulus(alice!.paillier.n, proof, binding), true);
  assert.equal(verifyBlumModulus(alice!.paillier.n, proof, otherSession), false);
  assert.equal(verifyBlumModulus(bob!.paillier.n, proof, binding), false);
});

test('Πmod: a modulus with primes ≡ 1 (mod 4) cannot be proven', () => {
  const sk = secretKeyFromPrimes(primeMod4(1024, 1n), primeMod4(1024, 1n));
  let accepted: boolean;
  try {
    accepted = verifyBlumModulus(sk.n, proveBlumModulus(sk, binding), binding);
  } catch {
    accepted = false;
  }
  assert.equal(accepted, false);
});

test('Πfac: honest modulus verifies; a Blum modulus with a small factor passes Πmod but fails Πfac (CVE-2023-33241)', () => {
  const rp = bob!.ringPedersen;
  const honest = proveNoSmallFactor(alice!.paillier, rp, binding);
  assert.equal(verifyNoSmallFactor(alice!.paillier.n, rp, honest, binding), true);
  assert.equal(verifyNoSmallFactor(alice!.paillier.n, rp, honest, otherSession), false);
  const weak = secretKeyFromPrimes(primeMod4(128, 3n), primeMod4(1920, 3n));
  assert.equal(verifyBlumModulus(weak.n, proveBlumModulus(weak, binding), binding), true);
  assert.equal(verifyNoSmallFactor(weak.n, rp, proveNoSmallFactor(weak, rp, binding), binding), false);
});

test("MtA: Alice's range proof accepts k < q and rejects an out-of-range plaintext", () => {
  const pk = alice!.paillier;
  const rp = bob!.ringPedersen;
  const k = randomBelow(q);
  const { c, r } = encrypt(pk, k);
  const proof = proveAliceRange(pk, c, k, r, rp, binding);
  assert.equal(verifyAliceRange(pk, c, rp, proof, binding), true);
  assert.equal(verifyAliceRange(pk, c, publicParams(rp), proof, binding), true);
  assert.equal(verifyAliceRange(pk, c, rp, proof, otherSession), false);
  assert.equal(verifyAliceRange(pk, encrypt(pk, k).c, rp, proof, binding), false);
  const big = q ** 4n;
  const cheat = encryptWith(pk, big, r);
  assert.equal(verifyAliceRange(pk, cheat, rp, proveAliceRange(pk, cheat, big, r, rp, binding), binding), false);
});

test("MtA/MtAwc: Bob's proof accepts honest values and rejects out-of-range or mismatched ones", () => {
  const pk = alice!.paillier;
  const rp = alice!.ringPedersen;
  const c1 = encrypt(pk, randomBelow(q)).c;
  const x = randomBelow(q);
  const X = G.multiply(x);
  const bobCipher = (y: bigint) => {
    const enc = encrypt(pk, y);
    return { c2: addCiphertexts(pk, multiplyCiphertext(pk, c1, x), enc.c), r: enc.r };
  };
  const y = randomBelow(q ** 5n);
  const { c2, r } = bobCipher(y);
  const mta = proveBob({ pk, c1, c2 }, x, y, r, rp, binding);
  assert.equal(verifyBob({ pk, c1, c2 }, rp, mta, binding), true);
  const publicPk = { n: pk.n, n2: pk.n2 };
  assert.equal(verifyBob({ pk: publicPk, c1, c2 }, publicParams(rp), mta, binding), true);
  const wc = proveBob({ pk, c1, c2, X }, x, y, r, rp, binding);
  assert.equal(verifyBob({ pk, c1, c2, X }, rp, wc, binding), true);
  assert.equal(verifyBob({ pk, c1, c2, X: G.multiply(x + 1n) }, rp, wc, binding), false);
  assert.equal(verifyBob({ pk, c1, c2, X }, rp, wc, otherProver), false);
  assert.equal(verifyBob({ pk, c1, c2, X }, rp, mta, binding), false);
  const hugeY = q ** 8n;
  const huge = bobCipher(hugeY);
  const st = { pk, c1, c2: huge.c2 };
  assert.equal(verifyBob(st, rp, proveBob(st, x, hugeY, huge.r, rp, binding), binding), false);
});

test('Schnorr proofs verify only for their statement and binding', () => {
  const x = randomBelow(q - 1n) + 1n;
  const X = G.multiply(x);
  const p = proveDlog(x, X, binding);
  assert.equal(verifyDlog(X, p, binding), true);
  assert.equal(verifyDlog(X.double(), p, binding), false);
  assert.equal(verifyDlog(X, p, otherSession), false);
  const R = G.multiply(7n);
  const s = randomBelow(q - 1n) + 1n;
  const l = randomBelow(q - 1n) + 1n;
  const V = R.multiply(s).add(G.multiply(l));
  const t = proveTwoBase(s, l, R, V, binding);
  assert.equal(verifyTwoBase(R, V, t, binding), true);
  assert.equal(verifyTwoBase(R, V.add(G), t, binding), false);
});
