import assert from 'node:assert/strict';
import { test } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { computeAddress, recoverAddress } from 'ethers';
import { isProbablePrime, randomBits } from '../../crypto/bigint/index.ts';
import { secretKeyFromPrimes, type PaillierSecretKey } from '../../crypto/paillier/index.ts';
import { proveNoSmallFactor } from '../../crypto/zk/no-small-factor.ts';
import { proveBlumModulus } from '../../crypto/zk/paillier-blum.ts';
import {
  ProtocolAbort,
  type InboundMessage,
  type KeygenOutput,
  type OutboundMessage,
  type PartyId,
  type SessionContext,
} from '../types.ts';
import { encode } from './codec.ts';
import { binding, lagrangeAtZero, ORDER } from './common.ts';
import { fixturePreParams } from './fixtures.ts';
import { runParties, type Tamper } from './harness.ts';
import { createGg18Scheme } from './index.ts';
import { decodePublicInfo, decodeSecretShare } from './share.ts';

const scheme = createGg18Scheme();
const pre = fixturePreParams();
const holders = ['tss1', 'tss2', 'tss3'];
const sessionId = 'keygen-test';
const ctxFor = (self: PartyId, hs: string[] = holders, threshold = 2): SessionContext => ({
  sessionId,
  self,
  parties: hs,
  holders: hs,
  threshold,
});

interface Sent {
  readonly round: number;
  readonly from: PartyId;
  readonly message: OutboundMessage;
}

/** An honest 2-of-3 keygen, recorded so that single-victim tests can replay peers' messages. */
const transcript: Sent[] = [];
const honest = runParties(
  new Map(holders.map((h, i) => [h, scheme.keygenWith(ctxFor(h), pre[i]!)])),
  (round, from, message) => {
    transcript.push({ round, from, message });
    return message;
  },
);

type Body = Record<string, unknown>;
type Edit = (round: number, from: PartyId, to: PartyId | undefined, body: Body) => void;

/** A fresh tss1 against the recorded messages of tss2 and tss3, edited by `edit`. */
function victimRun(edit: Edit): KeygenOutput {
  const victim = scheme.keygenWith(ctxFor('tss1'), pre[0]!);
  const inboundFor = (round: number): InboundMessage[] =>
    transcript
      .filter((s) => s.round === round && s.from !== 'tss1' && (s.message.to ?? 'tss1') === 'tss1')
      .map((s) => {
        const body = JSON.parse(new TextDecoder().decode(s.message.payload)) as Body;
        edit(s.round, s.from, s.message.to, body);
        return { from: s.from, broadcast: s.message.to === undefined, payload: encode(body) };
      });
  for (let r = 0; r < victim.rounds.length; r++) victim.round(r, r === 0 ? [] : inboundFor(r - 1));
  return victim.finish(inboundFor(victim.rounds.length - 1));
}

function assertAbort(run: () => unknown, culprit: PartyId, pattern: RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ProtocolAbort, String(e));
    assert.equal(e.culprit, culprit);
    assert.match(e.message, pattern);
    return true;
  });
}

function blumPrime(bits: number, residue: bigint): bigint {
  for (;;) {
    const p = randomBits(bits) | (3n << BigInt(bits - 2)); // top two bits: products keep full length
    const c = p - (p % 4n) + residue;
    if (isProbablePrime(c, 20)) return c;
  }
}

const hex = (x: bigint): string => x.toString(16);

test('honest 2-of-3 keygen: all parties agree, shares interpolate to the key, and the key signs', () => {
  const outputs = [...honest.values()];
  for (const o of outputs) {
    assert.deepEqual(o.publicKey, outputs[0]!.publicKey);
    assert.deepEqual(o.publicInfo, outputs[0]!.publicInfo);
  }
  const info = decodePublicInfo(outputs[0]!.publicInfo);
  const shares = holders.map((h) => decodeSecretShare(honest.get(h)!.secretShare));
  shares.forEach((s, i) => assert.ok(secp256k1.Point.BASE.multiply(s.x).equals(info.holders[i]!.X)));
  for (const pair of [
    [0, 1],
    [1, 2],
    [0, 2],
  ]) {
    const idx = pair.map((i) => BigInt(i + 1));
    const secret = pair.reduce((acc, i) => (acc + lagrangeAtZero(BigInt(i + 1), idx) * shares[i]!.x) % ORDER, 0n);
    assert.ok(secp256k1.Point.BASE.multiply(secret).equals(info.publicKey));
  }
  const digest = new Uint8Array(32).fill(0xab);
  const signers = ['tss2', 'tss3'];
  const sigs = runParties(
    new Map(
      signers.map((h) => [
        h,
        scheme.sign({ ...ctxFor(h), sessionId: 'fresh-sign', parties: signers }, honest.get(h)!.secretShare, digest),
      ]),
    ),
  );
  const sig = scheme.combine(sigs, outputs[0]!.publicInfo, outputs[0]!.publicKey, digest, { holders, threshold: 2 });
  const toHex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');
  assert.equal(recoverAddress(toHex(digest), toHex(sig)), computeAddress(toHex(outputs[0]!.publicKey)));
});

test('a replayed honest transcript is accepted by a fresh party up to its own contribution', () => {
  // Control for the tests below: without edits, the victim passes every peer check of rounds 0-2
  // and only rejects the peers' final proofs, made for the old victim's commitments.
  assertAbort(() => victimRun(() => {}), 'tss2', /Schnorr proof of knowledge/);
});

test('a Paillier modulus below 2048 bits is refused and attributed', () => {
  const short = pre[3]!.paillier.p * 3n;
  assertAbort(
    () =>
      victimRun((round, from, _to, body) => {
        if (round === 0 && from === 'tss2') body['paillierN'] = hex(short);
      }),
    'tss2',
    /below 2048 bits/,
  );
});

test('a reused modulus is refused and attributed', () => {
  assertAbort(
    () =>
      victimRun((round, from, _to, body) => {
        if (round === 0 && from === 'tss3') body['paillierN'] = hex(pre[1]!.paillier.n);
      }),
    'tss3',
    /reused/,
  );
});

test('a non-Blum Paillier modulus fails Πmod and is attributed', () => {
  const nonBlum: PaillierSecretKey = secretKeyFromPrimes(blumPrime(1024, 1n), blumPrime(1024, 1n));
  assertAbort(
    () =>
      victimRun((round, from, _to, body) => {
        if (round === 0 && from === 'tss2') body['paillierN'] = hex(nonBlum.n);
      }),
    'tss2',
    /Πmod/,
  );
});

test('bad ring-Pedersen parameters fail Πprm and are attributed', () => {
  assertAbort(
    () =>
      victimRun((round, from, _to, body) => {
        if (round === 0 && from === 'tss3')
          body['h2'] = hex(pre[3]!.ringPedersen.h1 % BigInt('0x' + (body['nTilde'] as string)));
      }),
    'tss3',
    /Πprm/,
  );
});

test('a Paillier–Blum modulus with a small factor passes Πmod but fails Πfac, attributed (CVE-2023-33241)', () => {
  // The product has at least 2048 bits, so only Πfac can refuse it.
  const weak = secretKeyFromPrimes(blumPrime(128, 3n), blumPrime(1921, 3n));
  const ctx = ctxFor('tss1');
  const modProof = proveBlumModulus(weak, binding(ctx, 'tss2'));
  const facProof = proveNoSmallFactor(weak, pre[0]!.ringPedersen, binding(ctx, 'tss2', 'tss1'));
  const asJson = (v: unknown): unknown => JSON.parse(new TextDecoder().decode(encode(v)));
  assertAbort(
    () =>
      victimRun((round, from, to, body) => {
        if (from !== 'tss2') return;
        if (round === 0) {
          body['paillierN'] = hex(weak.n);
          body['modProof'] = asJson(modProof);
        }
        if (round === 1 && to === 'tss1') body['facProof'] = asJson(facProof);
      }),
    'tss2',
    /Πfac/,
  );
});

test('a wrong commitment opening is caught and attributed', () => {
  assertAbort(
    () =>
      victimRun((round, from, to, body) => {
        if (round === 1 && from === 'tss3' && to === undefined) body['opening'] = '11'.repeat(32);
      }),
    'tss3',
    /opening does not match/,
  );
});

test('a share inconsistent with the Feldman commitments is caught and attributed', () => {
  assertAbort(
    () =>
      victimRun((round, from, to, body) => {
        if (round === 1 && from === 'tss2' && to === 'tss1') {
          body['share'] = hex((BigInt('0x' + (body['share'] as string)) + 1n) % ORDER);
        }
      }),
    'tss2',
    /Feldman/,
  );
});

test('a malformed message names its sender', () => {
  assertAbort(
    () =>
      victimRun((round, from, _to, body) => {
        if (round === 0 && from === 'tss3') body['h1'] = 'not hex';
      }),
    'tss3',
    /malformed/,
  );
});

test('a wrong proof of knowledge of the final share is caught and attributed (2-of-2)', () => {
  const two = ['tss1', 'tss2'];
  const tamper: Tamper = (round, from, m) => {
    if (round !== 2 || from !== 'tss2') return m;
    const body = JSON.parse(new TextDecoder().decode(m.payload)) as { proof: { z: string } };
    body.proof.z = hex((BigInt('0x' + body.proof.z) + 1n) % ORDER);
    return { ...m, payload: encode(body) };
  };
  assertAbort(
    () => runParties(new Map(two.map((h, i) => [h, scheme.keygenWith(ctxFor(h, two), pre[i]!)])), tamper, 'tss2'),
    'tss2',
    /Schnorr proof of knowledge/,
  );
});

test('keygen refuses bad thresholds and needs pre-params for keygen(ctx)', () => {
  assert.throws(() => scheme.keygenWith(ctxFor('tss1', holders, 1), pre[0]!), /threshold/);
  assert.throws(() => scheme.keygenWith(ctxFor('tss1', holders, 4), pre[0]!), /threshold/);
  assert.throws(() => scheme.keygen(ctxFor('tss1')), /pre-params/);
  const withPool = createGg18Scheme({ preParams: { takeReady: () => pre[0] } });
  assert.equal(withPool.keygen(ctxFor('tss1')).rounds.length, 3);
});
