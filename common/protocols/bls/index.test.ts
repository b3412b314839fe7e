import assert from 'node:assert/strict';
import { describe, it, beforeAll } from 'vitest';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToHex, hexToBytes } from '@noble/curves/utils.js';
import herumi from 'bls-eth-wasm';
import { evaluatePolynomial } from '../frost/group.ts';
import { runParties } from '../frost/in-process-router.ts';
import { encodeKeyShare, encodePublicInfo } from '../frost/key-share.ts';
import type { PartyId } from '../types.ts';
import { g1Group } from './g1-group.ts';
import { BLS_FORMATS, BLS_POP_DST, blsScheme as scheme, hashMessage } from './index.ts';
import { assertAbort, combinations, schemeKeygen } from '../testing/helpers.ts';

const te = new TextEncoder();

/** Verification by herumi's mcl (compiled to WebAssembly), independent of noble. */
function herumiVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const pk = herumi.deserializeHexStrToPublicKey(bytesToHex(publicKey));
  return pk.verify(herumi.deserializeHexStrToSignature(bytesToHex(signature)), message);
}

function partials(
  keys: ReadonlyMap<PartyId, { secretShare: Uint8Array }>,
  holders: PartyId[],
  signers: PartyId[],
  threshold: number,
  message: Uint8Array,
): Map<PartyId, Uint8Array> {
  return runParties(
    new Map(
      signers.map((self) => [
        self,
        scheme.sign(
          { sessionId: 'sig', keyId: 'key_test', self, parties: signers, holders, threshold },
          keys.get(self)!.secretShare,
          message,
        ),
      ]),
    ),
  );
}

/**
 * Ethereum consensus-specs BLS sign test cases (tests/generators/bls, `sign_case_c82df61aa3ee60fb`
 * and `sign_case_8cd3d4d0d9a5b265`), ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_.
 */
const SPEC_SIGN_CASES = [
  {
    privkey: '263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3',
    pubkey: 'a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a',
    message: '0000000000000000000000000000000000000000000000000000000000000000',
    signature:
      'b6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55',
  },
  {
    privkey: '328388aff0d4a5b7dc9205abd374e7e98f3cd9f3418edb4eafda5fb16473d216',
    message: '5656565656565656565656565656565656565656565656565656565656565656',
    signature:
      'a4efa926610b8bd1c8330c918b7a5e9bf374e53435ef8b7ec186abf62e1b1f65aeaaeb365677ac1d1172a1f5b44b4e6d022c252c58486c0a759fbdc7de15a756acc4d343064035667a594b4c2a6f0b0b421975977f297dba63ee2f63ffe47bb6',
  },
] as const;

beforeAll(() => herumi.init(herumi.BLS12_381));

describe('BLS ciphersuite', () => {
  it('noble with our DST reproduces the consensus-spec sign cases; herumi agrees', () => {
    for (const c of SPEC_SIGN_CASES) {
      const sk = hexToBytes(c.privkey);
      const pk = bls12_381.longSignatures.getPublicKey(sk).toBytes(true);
      if ('pubkey' in c) assert.equal(bytesToHex(pk), c.pubkey);
      const sig = bls12_381.longSignatures.sign(bls12_381.longSignatures.hash(hexToBytes(c.message), BLS_POP_DST), sk);
      assert.equal(bytesToHex(sig.toBytes(true)), c.signature);
      assert.ok(scheme.verify(hexToBytes(c.signature), hexToBytes(c.message), pk));
      assert.ok(herumiVerify(hexToBytes(c.signature), hexToBytes(c.message), pk));
    }
  });

  it('threshold signing with Shamir shares of a spec key yields the spec signature byte for byte', () => {
    const c = SPEC_SIGN_CASES[0];
    const holders = ['tss1', 'tss2', 'tss3'];
    const secret = g1Group.decodeScalar(hexToBytes(c.privkey));
    const coefficients = [secret, g1Group.randomScalar()];
    const shares = holders.map((_, i) => evaluatePolynomial(coefficients, BigInt(i + 1), g1Group.order));
    const info = { threshold: 2, holders, verificationShares: shares.map((s) => g1Group.generator.multiply(s)) };
    const groupKey = g1Group.generator.multiply(secret);
    const keys = new Map(
      holders.map((h, i) => [
        h,
        {
          secretShare: encodeKeyShare(g1Group, BLS_FORMATS.keyShare, {
            ...info,
            index: i + 1,
            secretShare: shares[i]!,
            groupKey,
          }),
        },
      ]),
    );
    const publicInfo = encodePublicInfo(g1Group, BLS_FORMATS.publicInfo, info);
    const message = hexToBytes(c.message);
    for (const signers of combinations(holders, 2)) {
      const sig = scheme.combine(
        partials(keys, holders, signers, 2, message),
        publicInfo,
        hexToBytes(c.pubkey),
        message,
        {
          holders,
          threshold: 2,
        },
      );
      assert.equal(bytesToHex(sig), c.signature, signers.join());
    }
  });

  it('verify rejects malformed signatures and keys instead of throwing', () => {
    const c = SPEC_SIGN_CASES[0];
    const [sig, msg, pk] = [hexToBytes(c.signature), hexToBytes(c.message), hexToBytes(c.pubkey)];
    assert.equal(scheme.verify(sig.subarray(1), msg, pk), false);
    assert.equal(scheme.verify(sig, msg, pk.subarray(1)), false);
    assert.equal(scheme.verify(Uint8Array.from([0xc0, ...new Uint8Array(95)]), msg, pk), false);
    assert.equal(scheme.verify(sig, Uint8Array.of(1), pk), false);
  });
});

describe('threshold BLS DKG and signing', () => {
  it('signs the empty message (BLS signatures are defined over any octet string, empty included)', () => {
    const holders = ['tss1', 'tss2', 'tss3'];
    const keys = schemeKeygen(scheme, holders, 2);
    const { publicKey, publicInfo } = keys.get('tss1')!;
    const empty = new Uint8Array(0);
    const sig = scheme.combine(partials(keys, holders, ['tss2', 'tss3'], 2, empty), publicInfo, publicKey, empty, {
      holders,
      threshold: 2,
    });
    assert.ok(bls12_381.longSignatures.verify(sig, hashMessage(empty), publicKey));
    assert.ok(herumiVerify(sig, empty, publicKey));
    assert.ok(!scheme.verify(sig, Uint8Array.of(0), publicKey));
  });

  for (const [threshold, n] of [
    [2, 3],
    [3, 4],
  ] as const) {
    it(`${threshold}-of-${n}: every signer subset produces a standard BLS signature`, () => {
      const holders = Array.from({ length: n }, (_, i) => `tss${i + 1}`);
      const keys = schemeKeygen(scheme, holders, threshold);
      const { publicKey, publicInfo } = keys.get('tss1')!;
      assert.equal(publicKey.length, 48);
      for (const k of keys.values()) {
        assert.deepEqual(k.publicKey, publicKey);
        assert.deepEqual(k.publicInfo, publicInfo);
      }
      for (const signers of [...combinations(holders, threshold), holders]) {
        const message = te.encode(`attest ${signers.join('+')}`);
        const sig = scheme.combine(
          partials(keys, holders, signers, threshold, message),
          publicInfo,
          publicKey,
          message,
          {
            holders,
            threshold,
          },
        );
        assert.equal(sig.length, 96);
        assert.ok(bls12_381.longSignatures.verify(sig, hashMessage(message), publicKey), signers.join());
        assert.ok(herumiVerify(sig, message, publicKey), signers.join());
        assert.ok(scheme.verify(sig, message, publicKey));
        assert.ok(!scheme.verify(sig, te.encode('other'), publicKey));
      }
    });
  }

  describe('cheating signers are named', () => {
    const holders = ['tss1', 'tss2', 'tss3'];
    const threshold = 2;
    const keys = schemeKeygen(scheme, holders, threshold);
    const { publicKey, publicInfo } = keys.get('tss1')!;
    const message = te.encode('exit validator');
    const signers = ['tss1', 'tss2'];
    const honest = partials(keys, holders, signers, threshold, message);
    const combine = (outputs: ReadonlyMap<PartyId, Uint8Array>) =>
      scheme.combine(outputs, publicInfo, publicKey, message, { holders, threshold });

    it('a partial over another message', () => {
      const other = partials(keys, holders, signers, threshold, te.encode('other'));
      assertAbort(() => combine(new Map([...honest, ['tss2', other.get('tss2')!]])), 'tss2', /does not verify/);
    });

    it('another signer’s partial presented as its own', () => {
      assertAbort(() => combine(new Map([...honest, ['tss2', honest.get('tss1')!]])), 'tss2', /does not verify/);
    });

    it('a truncated partial, the point at infinity, or a point not on the curve', () => {
      const good = honest.get('tss1')!;
      assertAbort(
        () => combine(new Map([...honest, ['tss1', good.subarray(0, good.length - 1)]])),
        'tss1',
        /malformed/,
      );
      const infinity = Uint8Array.from([good[0]!, good[1]!, 0xc0, ...new Uint8Array(95)]);
      assertAbort(() => combine(new Map([...honest, ['tss1', infinity]])), 'tss1', /infinity/);
      const garbage = good.slice();
      garbage.fill(0x11, 3);
      assertAbort(() => combine(new Map([...honest, ['tss1', garbage]])), 'tss1', /malformed/);
    });

    it('a message in the zero-round protocol, too few partials, or a share used by the wrong holder', () => {
      const party = scheme.sign(
        { sessionId: 's', keyId: 'key_test', self: 'tss1', parties: signers, holders, threshold },
        keys.get('tss1')!.secretShare,
        message,
      );
      assertAbort(
        () => party.finish([{ from: 'tss2', broadcast: true, payload: new Uint8Array(1) }]),
        'tss2',
        /unexpected/,
      );
      assertAbort(() => combine(new Map([['tss1', honest.get('tss1')!]])), undefined, /fewer than the threshold/);
      assert.throws(
        () =>
          scheme.sign(
            { sessionId: 's', keyId: 'key_test', self: 'tss1', parties: signers, holders, threshold },
            keys.get('tss2')!.secretShare,
            message,
          ),
        /another holder/,
      );
    });
  });
});
