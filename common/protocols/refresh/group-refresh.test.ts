import assert from 'node:assert/strict';
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { beforeAll, describe, test } from 'vitest';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/curves/utils.js';
import herumi from 'bls-eth-wasm';
import { blsScheme, BLS_FORMATS, hashMessage } from '../bls/index.ts';
import { g1Group } from '../bls/g1-group.ts';
import { ed25519Group } from '../frost/ed25519-group.ts';
import { lagrangeAtZero, type GroupElement, type PrimeOrderGroup } from '../frost/group.ts';
import { runParties, type Tamper } from '../frost/in-process-router.ts';
import { frostEd25519Scheme, FROST_ED25519_FORMATS } from '../frost/index.ts';
import { decodeKeyShare } from '../frost/key-share.ts';
import { assertAbort, combinations, schemeKeygen } from '../testing/helpers.ts';
import type { KeygenOutput, PartyId, SessionContext, ThresholdScheme } from '../types.ts';
import { decodeZeroDeal, decodeZeroShare, encodeZeroDeal, encodeZeroShare } from './zero-sharing.ts';

beforeAll(() => herumi.init(herumi.BLS12_381));

const te = new TextEncoder();
const holders = ['tss1', 'tss2', 'tss3'];
const threshold = 2;

function refreshCtx(self: PartyId, sessionId = 'refresh-1', hs = holders, t = threshold): SessionContext {
  return { sessionId, keyId: 'key_test', self, parties: hs, holders: hs, threshold: t };
}

function refreshAll(
  scheme: ThresholdScheme,
  keys: ReadonlyMap<PartyId, KeygenOutput>,
  tamper?: Tamper,
  sessionId?: string,
): Map<PartyId, KeygenOutput> {
  return runParties(
    new Map([...keys].map(([id, k]) => [id, scheme.refresh!(refreshCtx(id, sessionId), k.secretShare.slice())])),
    tamper,
  );
}

function signWith(
  scheme: ThresholdScheme,
  keys: ReadonlyMap<PartyId, KeygenOutput>,
  signers: PartyId[],
  message: Uint8Array,
): Uint8Array {
  const parties = new Map(
    signers.map((self) => [
      self,
      scheme.sign(
        { sessionId: `sign-${signers.join('')}`, keyId: 'key_test', self, parties: signers, holders, threshold },
        keys.get(self)!.secretShare,
        message,
      ),
    ]),
  );
  const outputs = runParties(parties);
  const { publicKey, publicInfo } = keys.get(signers[0]!)!;
  return scheme.combine(outputs, publicInfo, publicKey, message, { holders, threshold });
}

/** λ_a·s_a + λ_b·s_b, as a group element: the group key only when both shares are of one sharing. */
function interpolate<P extends GroupElement<P>>(
  group: PrimeOrderGroup<P>,
  points: readonly { index: number; share: bigint }[],
): P {
  const indices = points.map((p) => BigInt(p.index));
  const secret = points.reduce(
    (acc, p) => (acc + lagrangeAtZero(indices, BigInt(p.index), group.order) * p.share) % group.order,
    0n,
  );
  return group.generator.multiply(secret);
}

const ed25519Verify = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean =>
  opensslVerify(
    null,
    msg,
    createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pk]),
      format: 'der',
      type: 'spki',
    }),
    sig,
  ) && ed25519.verify(sig, msg, pk, { zip215: false });

const blsVerify = (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean =>
  herumi
    .deserializeHexStrToPublicKey(bytesToHex(pk))
    .verify(herumi.deserializeHexStrToSignature(bytesToHex(sig)), msg) &&
  bls12_381.longSignatures.verify(sig, hashMessage(msg), pk);

const SUITES = [
  {
    name: 'EDDSA',
    scheme: frostEd25519Scheme,
    group: ed25519Group as unknown as PrimeOrderGroup<GroupElementAny>,
    formats: FROST_ED25519_FORMATS,
    verify: ed25519Verify,
  },
  {
    name: 'BLS',
    scheme: blsScheme,
    group: g1Group as unknown as PrimeOrderGroup<GroupElementAny>,
    formats: BLS_FORMATS,
    verify: blsVerify,
  },
];
// The suites' point types differ; the tests only use the common interface.
type GroupElementAny = GroupElement<GroupElementAny> & { readonly _any?: never };

for (const suite of SUITES) {
  describe(`${suite.name} refresh`, () => {
    const { scheme, group, formats } = suite;
    const old = schemeKeygen(scheme, holders, threshold);
    const fresh = refreshAll(scheme, old);
    const share = (keys: ReadonlyMap<PartyId, KeygenOutput>, id: PartyId) =>
      decodeKeyShare(group, formats.keyShare, keys.get(id)!.secretShare);

    test('keeps the public key, changes every share, and every holder agrees on the new public info', () => {
      const publicKey = old.get('tss1')!.publicKey;
      const publicInfo = fresh.get('tss1')!.publicInfo;
      assert.notDeepEqual(publicInfo, old.get('tss1')!.publicInfo);
      for (const id of holders) {
        assert.deepEqual(fresh.get(id)!.publicKey, publicKey);
        assert.deepEqual(fresh.get(id)!.publicInfo, publicInfo);
        assert.notEqual(share(fresh, id).secretShare, share(old, id).secretShare);
      }
    });

    test('signatures from refreshed shares verify with independent libraries, for every signer pair', () => {
      const publicKey = old.get('tss1')!.publicKey;
      for (const signers of combinations(holders, threshold)) {
        const message = te.encode(`after refresh ${signers.join('+')}`);
        const sig = signWith(scheme, fresh, signers, message);
        assert.ok(suite.verify(sig, message, publicKey), signers.join());
      }
    });

    test('an old share and a new share do not combine to the key; two of one generation do', () => {
      const Y = group.decodeElement(old.get('tss1')!.publicKey);
      const point = (keys: ReadonlyMap<PartyId, KeygenOutput>, id: PartyId) => ({
        index: share(keys, id).index,
        share: share(keys, id).secretShare,
      });
      assert.ok(interpolate(group, [point(old, 'tss1'), point(old, 'tss2')]).equals(Y));
      assert.ok(interpolate(group, [point(fresh, 'tss1'), point(fresh, 'tss2')]).equals(Y));
      assert.ok(!interpolate(group, [point(old, 'tss1'), point(fresh, 'tss2')]).equals(Y));
      assert.ok(!interpolate(group, [point(fresh, 'tss1'), point(old, 'tss3')]).equals(Y));
    });

    test('an old partial does not combine with new public info (the gateway names its signer)', () => {
      const message = te.encode('mixed');
      const signers = ['tss1', 'tss2'];
      const run = (keys: ReadonlyMap<PartyId, KeygenOutput>, self: PartyId) =>
        runParties(
          new Map(
            signers.map((s) => [
              s,
              scheme.sign(
                { sessionId: 'mix', keyId: 'key_test', self: s, parties: signers, holders, threshold },
                (s === self ? keys : fresh).get(s)!.secretShare,
                message,
              ),
            ]),
          ),
        );
      const { publicKey, publicInfo } = fresh.get('tss1')!;
      // tss2 signs with its old share while tss1 uses its new one.
      const outputs = run(old, 'tss2');
      assert.throws(() => scheme.combine(outputs, publicInfo, publicKey, message, { holders, threshold }));
    });

    describe('a cheating dealer is named', () => {
      const deal = (bytes: Uint8Array) => decodeZeroDeal(group, bytes, threshold);
      const cheat =
        (edit: (m: { round: number; to: PartyId; broadcast: boolean; payload: Uint8Array }) => Uint8Array): Tamper =>
        (m) =>
          m.from === 'tss3' ? edit(m) : m.payload;

      test('a proof of knowledge that does not verify', () => {
        const tamper = cheat((m) => {
          if (m.round !== 0) return m.payload;
          const d = deal(m.payload);
          return encodeZeroDeal(group, { ...d, proofZ: (d.proofZ + 1n) % group.order });
        });
        assertAbort(() => refreshAll(scheme, old, tamper), 'tss3', /proof of knowledge/);
      });

      test('a deal replayed from another session', () => {
        const recorded = new Map<PartyId, Uint8Array>();
        refreshAll(
          scheme,
          old,
          (m) => {
            if (m.round === 0 && m.from === 'tss3') recorded.set(m.to, m.payload);
            return m.payload;
          },
          'refresh-0',
        );
        const tamper = cheat((m) => (m.round === 0 ? recorded.get(m.to)! : m.payload));
        assertAbort(() => refreshAll(scheme, old, tamper), 'tss3', /proof of knowledge/);
      });

      test('a share off its committed polynomial (a non-zero constant term)', () => {
        const tamper = cheat((m) => {
          if (m.round !== 1 || m.broadcast) return m.payload;
          return encodeZeroShare(group, (decodeZeroShare(group, m.payload) + 5n) % group.order);
        });
        assertAbort(() => refreshAll(scheme, old, tamper), 'tss3', /does not match its sender/);
      });

      test('a deal with the wrong number of commitments', () => {
        const tamper = cheat((m) => {
          if (m.round !== 0) return m.payload;
          const d = deal(m.payload);
          return encodeZeroDeal(group, { ...d, commitments: [...d.commitments, d.commitments[0]!] });
        });
        assertAbort(() => refreshAll(scheme, old, tamper), 'tss3', /commitments/);
      });

      test('a deal that copies another dealer’s', () => {
        let tss1Deal: Uint8Array | undefined;
        const tamper: Tamper = (m) => {
          if (m.round === 0 && m.from === 'tss1') tss1Deal ??= m.payload;
          if (m.round === 0 && m.from === 'tss3') return tss1Deal!;
          return m.payload;
        };
        // The proof binds the dealer's index, so a copied deal fails it.
        assertAbort(() => refreshAll(scheme, old, tamper), 'tss3', /proof of knowledge/);
      });

      test('an equivocating dealer (different deals to different holders) aborts without a false culprit', () => {
        let firstDeal: Uint8Array | undefined;
        const tamper = cheat((m) => {
          if (m.round !== 0) return m.payload;
          // A second, valid deal of tss3 in this same session, shown to tss2 only.
          if (m.to === 'tss2') {
            const party = scheme.refresh!(refreshCtx('tss3'), old.get('tss3')!.secretShare.slice());
            firstDeal ??= party.round(0, [])[0]!.payload;
            return firstDeal;
          }
          return m.payload;
        });
        assertAbort(() => refreshAll(scheme, old, tamper), undefined, /seen differently/);
      });
    });

    test('holders that start from different key states cannot finish', () => {
      const parties = new Map(
        holders.map((id) => [
          id,
          scheme.refresh!(refreshCtx(id, 'refresh-2'), (id === 'tss3' ? fresh : old).get(id)!.secretShare.slice()),
        ]),
      );
      assert.throws(() => runParties(parties), /proof of knowledge|seen differently/);
    });

    test('a stored share for other holders or another threshold is refused before any message', () => {
      assertAbort(
        () => scheme.refresh!(refreshCtx('tss1', 'x', ['tss1', 'tss2', 'tss4']), old.get('tss1')!.secretShare),
        undefined,
        /do not match the stored key share/,
      );
      assertAbort(
        () => scheme.refresh!(refreshCtx('tss1', 'x', holders, 3), old.get('tss1')!.secretShare),
        undefined,
        /do not match the stored key share/,
      );
    });
  });
}
