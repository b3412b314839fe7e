import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { g1Group } from '../bls/g1-group.ts';
import type { PartyId, SessionContext } from '../types.ts';
import { ed25519Group } from './ed25519-group.ts';
import { baseMultiply, interpolateAtZero, type GroupElement, type PrimeOrderGroup } from './group.ts';
import { runParties, type Tamper } from './in-process-router.ts';
import {
  createDkgParty,
  decodeCommitmentMessage,
  decodeShareMessage,
  encodeCommitmentMessage,
  encodeShareMessage,
  pokChallenge,
  type DkgResult,
} from './keygen.ts';
import { assertAbort, combinations } from '../testing/helpers.ts';

const SUITE = 'TEST-SUITE';

function context(holders: readonly PartyId[], self: PartyId, threshold: number, sessionId = 'dkg-1'): SessionContext {
  return { sessionId, self, parties: holders, holders, threshold };
}

function runDkg<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  holders: readonly PartyId[],
  threshold: number,
  tamper?: Tamper,
): Map<PartyId, DkgResult<P>> {
  return runParties(
    new Map(holders.map((h) => [h, createDkgParty(group, SUITE, context(holders, h, threshold))])),
    tamper,
  );
}

/** Replaces `from`'s payload in `round` (round 1: the point-to-point shares) with `edit(payload)`. */
const tamperFrom =
  (round: number, from: PartyId, edit: (payload: Uint8Array, to: PartyId) => Uint8Array): Tamper =>
  (m) =>
    m.round === round && m.from === from && m.broadcast === (round === 0) ? edit(m.payload, m.to) : m.payload;

/** Deterministic encodings that fail to decode as a curve point (not on the curve). */
const offCurve = {
  ed25519: (() => {
    for (let y = 2; ; y++) {
      const bytes = new Uint8Array(32);
      bytes[0] = y;
      try {
        ed25519.Point.fromBytes(bytes);
      } catch {
        return bytes;
      }
    }
  })(),
  g1: (() => {
    for (let x = 1; ; x++) {
      const bytes = new Uint8Array(48);
      bytes[0] = 0x80;
      bytes[47] = x;
      try {
        bls12_381.G1.Point.fromBytes(bytes);
      } catch {
        return bytes;
      }
    }
  })(),
};

describe('group encodings', () => {
  it('Ed25519 rejects identity, small-order, non-canonical, off-curve and wrong-length elements', () => {
    const g = ed25519Group;
    const order2 = Uint8Array.from([0xec, ...new Uint8Array(30).fill(0xff), 0x7f]); // (0, -1)
    const nonCanonicalY = Uint8Array.from([0xee, ...new Uint8Array(30).fill(0xff), 0x7f]); // y = p + 1
    for (const bad of [ed25519.Point.ZERO.toBytes(), order2, nonCanonicalY, offCurve.ed25519, new Uint8Array(31)]) {
      assert.throws(() => g.decodeElement(bad));
    }
    assert.ok(g.decodeElement(g.generator.toBytes()).equals(g.generator));
  });

  it('scalars must be canonical', () => {
    const checks = [
      { order: ed25519Group.order, decode: ed25519Group.decodeScalar, encode: numberToLE },
      { order: g1Group.order, decode: g1Group.decodeScalar, encode: numberToBE },
    ];
    for (const { order, decode, encode } of checks) {
      assert.throws(() => decode(encode(order, 32)), /not reduced/);
      assert.equal(decode(encode(order - 1n, 32)), order - 1n);
      assert.throws(() => decode(new Uint8Array(31)), /32-byte/);
    }
  });
});

function dkgSuite<P extends GroupElement<P>>(
  name: string,
  group: PrimeOrderGroup<P>,
  identity: Uint8Array,
  notOnCurve: Uint8Array,
): void {
  describe(`FROST KeyGen over ${name}`, () => {
    for (const [t, n] of [
      [2, 3],
      [3, 4],
    ] as const) {
      it(`${t}-of-${n}: consistent key, shares on one polynomial, fewer than t shares reveal a different secret`, () => {
        const holders = Array.from({ length: n }, (_, i) => `tss${i + 1}`);
        const results = runDkg(group, holders, t);
        const first = results.get('tss1')!;
        for (const r of results.values()) {
          assert.ok(r.groupKey.equals(first.groupKey));
          r.verificationShares.forEach((v, i) => assert.ok(v.equals(first.verificationShares[i]!)));
          assert.ok(baseMultiply(group, r.secretShare).equals(first.verificationShares[r.index - 1]!));
        }
        const shares = [...results.values()];
        const secretFrom = (subset: typeof shares) =>
          interpolateAtZero(new Map(subset.map((r) => [BigInt(r.index), r.secretShare])), group.order);
        for (const subset of combinations(shares, t)) {
          assert.ok(baseMultiply(group, secretFrom(subset)).equals(first.groupKey), 'any t shares give the key');
        }
        for (const subset of combinations(shares, t - 1)) {
          assert.ok(!baseMultiply(group, secretFrom(subset)).equals(first.groupKey), 't-1 shares must not');
        }
      });
    }

    const holders = ['tss1', 'tss2', 'tss3'];
    const t = 2;
    type Commitment = ReturnType<typeof decodeCommitmentMessage<P>>;
    const reencode = (payload: Uint8Array, edit: (m: Commitment) => Commitment) =>
      encodeCommitmentMessage(group, edit(decodeCommitmentMessage(group, payload, t)));

    it('names a party whose proof of knowledge is invalid', () => {
      const tamper = tamperFrom(0, 'tss2', (p) =>
        reencode(p, (m) => ({ ...m, proofZ: (m.proofZ + 1n) % group.order })),
      );
      assertAbort(() => runDkg(group, holders, t, tamper), 'tss2', /proof of knowledge/);
    });

    it('names a party that replays its commitments and proof from another session', () => {
      const other = createDkgParty(group, SUITE, context(holders, 'tss3', t, 'dkg-other'));
      const replayed = other.round(0, [])[0]!.payload;
      assertAbort(
        () =>
          runDkg(
            group,
            holders,
            t,
            tamperFrom(0, 'tss3', () => replayed),
          ),
        'tss3',
        /proof of knowledge/,
      );
    });

    it('names a party that copies another party’s commitments and proof', () => {
      let copied: Uint8Array | undefined;
      const tamper: Tamper = (m) => {
        if (m.round === 0 && m.from === 'tss1') copied = m.payload;
        return m.round === 0 && m.from === 'tss3' ? copied! : m.payload;
      };
      assertAbort(() => runDkg(group, holders, t, tamper), 'tss3', /proof of knowledge/);
    });

    it('names the later of two parties that publish the same constant-term commitment', () => {
      // Colluders who both know a0 can give valid proofs for the same C_0.
      const a0 = group.randomScalar();
      const forge = (index: number): Uint8Array => {
        const commitments = [a0, group.randomScalar()].map((a) => group.generator.multiply(a));
        const k = group.randomScalar();
        const proofR = group.generator.multiply(k);
        const c = pokChallenge(group, SUITE, context(holders, 'tss1', t), index, commitments, proofR);
        return encodeCommitmentMessage(group, { commitments, proofR, proofZ: (k + a0 * c) % group.order });
      };
      const forged = new Map([
        ['tss2', forge(2)],
        ['tss3', forge(3)],
      ]);
      const tamper: Tamper = (m) => (m.round === 0 && forged.has(m.from) ? forged.get(m.from)! : m.payload);
      assertAbort(() => runDkg(group, holders, t, tamper), 'tss3', /duplicates the one of tss2/);
    });

    it('names a party whose secret share does not match its commitments', () => {
      const tamper = tamperFrom(1, 'tss1', (p, to) =>
        to === 'tss3' ? encodeShareMessage(group, (decodeShareMessage(group, p) + 1n) % group.order) : p,
      );
      assertAbort(() => runDkg(group, holders, t, tamper), 'tss1', /does not match/);
    });

    it('names a party that sends truncated commitments or a truncated share', () => {
      assertAbort(
        () =>
          runDkg(
            group,
            holders,
            t,
            tamperFrom(0, 'tss2', (p) => p.subarray(0, p.length - 1)),
          ),
        'tss2',
        /malformed/,
      );
      assertAbort(
        () =>
          runDkg(
            group,
            holders,
            t,
            tamperFrom(1, 'tss2', (p) => p.subarray(0, p.length - 1)),
          ),
        'tss2',
        /malformed share/,
      );
      assertAbort(
        () =>
          runDkg(
            group,
            holders,
            t,
            tamperFrom(1, 'tss2', (p) => Uint8Array.from([...p, 0])),
          ),
        'tss2',
        /trailing/,
      );
    });

    it('names a party that sends a point not on the curve, or the identity', () => {
      const replaceCommitment = (bytes: Uint8Array) => (p: Uint8Array) => {
        const out = p.slice();
        out.set(bytes, 4 + group.elementLength); // commitment 1, after version, kind and count
        return out;
      };
      assertAbort(
        () => runDkg(group, holders, t, tamperFrom(0, 'tss3', replaceCommitment(notOnCurve))),
        'tss3',
        /commitment 1/,
      );
      assertAbort(
        () => runDkg(group, holders, t, tamperFrom(0, 'tss3', replaceCommitment(identity))),
        'tss3',
        /commitment 1/,
      );
    });

    it('names a party that sends the wrong number of commitments or a non-canonical scalar', () => {
      const fewer = tamperFrom(0, 'tss1', (p) =>
        reencode(p, (m) => ({ ...m, commitments: m.commitments.slice(0, 1) })),
      );
      assertAbort(() => runDkg(group, holders, t, fewer), 'tss1', /expected 2 commitments/);
      const unreduced = tamperFrom(1, 'tss2', (p) => {
        const out = p.slice();
        out.fill(0xff, 2);
        return out;
      });
      assertAbort(() => runDkg(group, holders, t, unreduced), 'tss2', /not reduced/);
    });

    it('aborts when a dealer shows different commitments to different holders', () => {
      // A second instance of tss2 in the same session: its round-0 message carries a valid proof.
      const twin = createDkgParty(group, SUITE, context(holders, 'tss2', t)).round(0, [])[0]!.payload;
      const tamper: Tamper = (m) => (m.round === 0 && m.from === 'tss2' && m.to === 'tss3' ? twin : m.payload);
      assertAbort(() => runDkg(group, holders, t, tamper), undefined, /seen differently by tss3/);
    });

    it('names a party whose transcript echo is malformed', () => {
      const tamper: Tamper = (m) =>
        m.round === 1 && m.from === 'tss3' && m.broadcast ? m.payload.subarray(1) : m.payload;
      assertAbort(() => runDkg(group, holders, t, tamper), 'tss3', /malformed echo/);
    });

    it('zeroes the received secret shares once finished', () => {
      const parties = holders.map((h) => createDkgParty(group, SUITE, context(holders, h, t)));
      const round0 = parties.map((p, i) => ({
        from: holders[i]!,
        broadcast: true,
        payload: p.round(0, [])[0]!.payload,
      }));
      const round1 = parties.map((p, i) =>
        p.round(
          1,
          round0.filter((m) => m.from !== holders[i]),
        ),
      );
      const toTss1 = round1
        .slice(1)
        .flatMap((out, k) =>
          out
            .filter((m) => m.to === undefined || m.to === 'tss1')
            .map((m) => ({ from: holders[k + 1]!, broadcast: m.to === undefined, payload: m.payload.slice() })),
        );
      const shares = toTss1.filter((m) => !m.broadcast);
      assert.ok(shares.every((m) => m.payload.slice(2).some((b) => b !== 0)));
      parties[0]!.finish(toTss1);
      assert.ok(shares.every((m) => m.payload.every((b) => b === 0)));
    });

    it('names a party whose message arrives twice, and an unexpected sender', () => {
      const parties = holders.map((h) => createDkgParty(group, SUITE, context(holders, h, t)));
      const round0 = parties.map((p, i) => ({
        from: holders[i]!,
        broadcast: true,
        payload: p.round(0, [])[0]!.payload,
      }));
      const [, fromTss2, fromTss3] = round0;
      assertAbort(() => parties[0]!.round(1, [fromTss2!, fromTss3!, fromTss3!]), 'tss3', /duplicate/);
      const parties2 = holders.map((h) => createDkgParty(group, SUITE, context(holders, h, t)));
      parties2[0]!.round(0, []);
      assertAbort(
        () =>
          parties2[0]!.round(1, [fromTss2!, fromTss3!, { from: 'tss9', broadcast: true, payload: fromTss3!.payload }]),
        'tss9',
        /not expected/,
      );
    });
  });
}

dkgSuite('Ed25519', ed25519Group, ed25519.Point.ZERO.toBytes(), offCurve.ed25519);
dkgSuite('BLS12-381 G1', g1Group, Uint8Array.from([0xc0, ...new Uint8Array(47)]), offCurve.g1);

function numberToLE(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

function numberToBE(n: bigint, len: number): Uint8Array {
  return numberToLE(n, len).reverse();
}
