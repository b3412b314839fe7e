import assert from 'node:assert/strict';
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { describe, it } from 'vitest';
import { ed25519, ed25519_FROST } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/curves/utils.js';
import type { PartyId } from '../types.ts';
import { ed25519Group } from './ed25519-group.ts';
import { evaluatePolynomial, interpolateAtZero } from './group.ts';
import { runParties, type Tamper } from './in-process-router.ts';
import { encodeKeyShare, encodePublicInfo } from './key-share.ts';
import { frostEd25519Scheme as scheme, FROST_ED25519_FORMATS } from './index.ts';
import { aggregate, commit, encodeScalar, signingPackage, signShare, verifyShare } from './rfc9591.ts';
import { assertAbort, combinations, schemeKeygen } from '../testing/helpers.ts';

const te = new TextEncoder();

/** Plain Ed25519 verification by OpenSSL, independent of noble. */
function opensslEd25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
  return opensslVerify(null, message, key, signature);
}

function signOutputs(
  keys: Map<PartyId, { secretShare: Uint8Array }>,
  holders: PartyId[],
  signers: PartyId[],
  threshold: number,
  message: Uint8Array,
  tamper?: Tamper,
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
    tamper,
  );
}

/**
 * RFC 9591 Appendix E.1, FROST(Ed25519, SHA-512): MIN_PARTICIPANTS 2, MAX_PARTICIPANTS 3,
 * participant_list 1,3, message "test". Values copied from the RFC text.
 */
const RFC9591_E1 = {
  groupSecretKey: '7b1c33d3f5291d85de664833beb1ad469f7fb6025a0ec78b3a790c6e13a98304',
  groupPublicKey: '15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673',
  message: '74657374',
  shareCoefficients: ['178199860edd8c62f5212ee91eff1295d0d670ab4ed4506866bae57e7030b204'],
  participantShares: {
    1: '929dcc590407aae7d388761cddb0c0db6f5627aea8e217f4a033f2ec83d93509',
    2: 'a91e66e012e4364ac9aaa405fcafd370402d9859f7b6685c07eed76bf409e80d',
    3: 'd3cb090a075eb154e82fdb4b3cb507f110040905468bb9c46da8bdea643a9a02',
  },
  round1: {
    1: {
      hidingNonceRandomness: '0fd2e39e111cdc266f6c0f4d0fd45c947761f1f5d3cb583dfcb9bbaf8d4c9fec',
      bindingNonceRandomness: '69cd85f631d5f7f2721ed5e40519b1366f340a87c2f6856363dbdcda348a7501',
      hidingNonce: '812d6104142944d5a55924de6d49940956206909f2acaeedecda2b726e630407',
      bindingNonce: 'b1110165fc2334149750b28dd813a39244f315cff14d4e89e6142f262ed83301',
      hidingNonceCommitment: 'b5aa8ab305882a6fc69cbee9327e5a45e54c08af61ae77cb8207be3d2ce13de3',
      bindingNonceCommitment: '67e98ab55aa310c3120418e5050c9cf76cf387cb20ac9e4b6fdb6f82a469f932',
    },
    3: {
      hidingNonceRandomness: '86d64a260059e495d0fb4fcc17ea3da7452391baa494d4b00321098ed2a0062f',
      bindingNonceRandomness: '13e6b25afb2eba51716a9a7d44130c0dbae0004a9ef8d7b5550c8a0e07c61775',
      hidingNonce: 'c256de65476204095ebdc01bd11dc10e57b36bc96284595b8215222374f99c0e',
      bindingNonce: '243d71944d929063bc51205714ae3c2218bd3451d0214dfb5aeec2a90c35180d',
      hidingNonceCommitment: 'cfbdb165bd8aad6eb79deb8d287bcc0ab6658ae57fdcc98ed12c0669e90aec91',
      bindingNonceCommitment: '7487bc41a6e712eea2f2af24681b58b1cf1da278ea11fe4e8b78398965f13552',
    },
  },
  sigShares: {
    1: '001719ab5a53ee1a12095cd088fd149702c0720ce5fd2f29dbecf24b7281b603',
    3: 'bd86125de990acc5e1f13781d8e32c03a9bbd4c53539bbc106058bfd14326007',
  },
  sig:
    '36282629c383bb820a88b71cae937d41f2f2adfcc3d02e55507e2fb9e2dd3cbe' +
    'bd9d2b0844e49ae0f3fa935161e1419aab7b47d21a37ebeae1f17d4987b3160b',
} as const;

describe('FROST(Ed25519, SHA-512): RFC 9591 Appendix E.1 vectors', () => {
  const V = RFC9591_E1;
  const scalar = (hex: string) => ed25519Group.decodeScalar(hexToBytes(hex));
  const message = hexToBytes(V.message);
  const id = (n: number) => ed25519_FROST.Identifier.fromNumber(n);

  it('our polynomial code reproduces the dealer shares, and shares 1,3 interpolate to the secret', () => {
    const coefficients = [scalar(V.groupSecretKey), ...V.shareCoefficients.map(scalar)];
    for (const [i, share] of Object.entries(V.participantShares)) {
      assert.equal(
        bytesToHex(ed25519Group.encodeScalar(evaluatePolynomial(coefficients, BigInt(i), ed25519Group.order))),
        share,
      );
    }
    const points = new Map([1n, 3n].map((i) => [i, scalar(V.participantShares[Number(i) as 1 | 3])]));
    assert.equal(interpolateAtZero(points, ed25519Group.order), scalar(V.groupSecretKey));
    assert.equal(bytesToHex(ed25519Group.generator.multiply(scalar(V.groupSecretKey)).toBytes()), V.groupPublicKey);
  });

  it('our RFC 9591 code reproduces round one, round two and the signature byte for byte', () => {
    const groupKey = ed25519Group.decodeElement(hexToBytes(V.groupPublicKey));
    const signers = ([1, 3] as const).map((i) => {
      const r = V.round1[i];
      const randomness = [r.hidingNonceRandomness, r.bindingNonceRandomness].map(hexToBytes);
      const secret = scalar(V.participantShares[i]);
      const { nonces, commitment } = commit(i, secret, () => randomness.shift()!);
      assert.equal(bytesToHex(encodeScalar(nonces.hiding)), r.hidingNonce);
      assert.equal(bytesToHex(encodeScalar(nonces.binding)), r.bindingNonce);
      assert.equal(bytesToHex(commitment.hiding.toBytes()), r.hidingNonceCommitment);
      assert.equal(bytesToHex(commitment.binding.toBytes()), r.bindingNonceCommitment);
      return { i, secret, nonces, commitment };
    });
    const pkg = signingPackage(
      groupKey,
      signers.map((s) => s.commitment),
      message,
    );
    const zs = signers.map((s) => {
      const z = signShare(s.i, s.secret, s.nonces, pkg);
      assert.equal(bytesToHex(encodeScalar(z)), V.sigShares[s.i]);
      const verificationShare = ed25519Group.generator.multiply(s.secret);
      assert.ok(verifyShare(s.commitment, z, verificationShare, pkg));
      assert.ok(!verifyShare(s.commitment, z + 1n, verificationShare, pkg));
      return z;
    });
    const sig = aggregate(pkg, zs);
    assert.equal(bytesToHex(sig), V.sig);
    const pk = hexToBytes(V.groupPublicKey);
    assert.ok(scheme.verify(sig, message, pk));
    assert.ok(ed25519.verify(sig, message, pk));
    assert.ok(opensslEd25519Verify(sig, message, pk));
  });

  it('noble-curves’ independent FROST implementation agrees on the same vectors', () => {
    const pub = {
      signers: { min: 2, max: 3 },
      commitments: [hexToBytes(V.groupPublicKey)],
      verifyingShares: Object.fromEntries(
        Object.entries(V.participantShares).map(([i, s]) => [
          id(Number(i)),
          ed25519Group.generator.multiply(scalar(s)).toBytes(),
        ]),
      ),
    };
    const rounds = ([1, 3] as const).map((i) => {
      const r = V.round1[i];
      const randomness = [r.hidingNonceRandomness, r.bindingNonceRandomness].map(hexToBytes);
      const secret = { identifier: id(i), signingShare: hexToBytes(V.participantShares[i]) };
      return { i, secret, nonce: ed25519_FROST.commit(secret, () => randomness.shift()!) };
    });
    const commitmentList = rounds.map((r) => r.nonce.commitments);
    const shares: Record<string, Uint8Array> = {};
    for (const r of rounds) {
      shares[id(r.i)] = ed25519_FROST.signShare(r.secret, pub, r.nonce.nonces, commitmentList, message);
      assert.equal(bytesToHex(shares[id(r.i)]!), V.sigShares[r.i]);
    }
    assert.equal(bytesToHex(ed25519_FROST.aggregate(pub, commitmentList, message, shares)), V.sig);
  });

  it('our sign/combine, given the RFC’s dealer shares, produces signatures valid under the RFC key', () => {
    const holders = ['tss1', 'tss2', 'tss3'];
    const shares = [1, 2, 3].map((i) => scalar(V.participantShares[i as 1 | 2 | 3]));
    const verificationShares = shares.map((s) => ed25519Group.generator.multiply(s));
    const groupKey = ed25519Group.decodeElement(hexToBytes(V.groupPublicKey));
    const info = { threshold: 2, holders, verificationShares };
    const keys = new Map(
      holders.map((h, i) => [
        h,
        {
          secretShare: encodeKeyShare(ed25519Group, FROST_ED25519_FORMATS.keyShare, {
            ...info,
            index: i + 1,
            secretShare: shares[i]!,
            groupKey,
          }),
        },
      ]),
    );
    const publicInfo = encodePublicInfo(ed25519Group, FROST_ED25519_FORMATS.publicInfo, info);
    const outputs = signOutputs(keys, holders, ['tss1', 'tss3'], 2, message);
    const sig = scheme.combine(outputs, publicInfo, groupKey.toBytes(), message, { holders, threshold: 2 });
    assert.ok(opensslEd25519Verify(sig, message, groupKey.toBytes()));
  });
});

describe('FROST(Ed25519) DKG and signing', () => {
  for (const [threshold, n] of [
    [2, 3],
    [3, 4],
  ] as const) {
    it(`${threshold}-of-${n}: every signer subset produces a standard Ed25519 signature`, () => {
      const holders = Array.from({ length: n }, (_, i) => `tss${i + 1}`);
      const keys = schemeKeygen(scheme, holders, threshold);
      const { publicKey, publicInfo } = keys.get('tss1')!;
      for (const k of keys.values()) {
        assert.deepEqual(k.publicKey, publicKey);
        assert.deepEqual(k.publicInfo, publicInfo);
      }
      const subsets = [...combinations(holders, threshold), holders];
      for (const signers of subsets) {
        const message = te.encode(`pay 1 to ${signers.join('+')}`);
        const sig = scheme.combine(
          signOutputs(keys, holders, signers, threshold, message),
          publicInfo,
          publicKey,
          message,
          {
            holders,
            threshold,
          },
        );
        assert.ok(ed25519.verify(sig, message, publicKey), signers.join());
        assert.ok(opensslEd25519Verify(sig, message, publicKey), signers.join());
        assert.ok(scheme.verify(sig, message, publicKey));
        assert.ok(!scheme.verify(sig, te.encode('another message'), publicKey));
      }
    });
  }

  it('signs the empty message (RFC 8032 defines Ed25519 over it; test 1 signs it)', () => {
    const holders = ['tss1', 'tss2', 'tss3'];
    const keys = schemeKeygen(scheme, holders, 2);
    const { publicKey, publicInfo } = keys.get('tss1')!;
    const empty = new Uint8Array(0);
    const signers = ['tss1', 'tss3'];
    const sig = scheme.combine(signOutputs(keys, holders, signers, 2, empty), publicInfo, publicKey, empty, {
      holders,
      threshold: 2,
    });
    assert.ok(ed25519.verify(sig, empty, publicKey));
    assert.ok(opensslEd25519Verify(sig, empty, publicKey));
    assert.ok(!scheme.verify(sig, Uint8Array.of(0), publicKey));
  });

  describe('cheating signers are named', () => {
    const holders = ['tss1', 'tss2', 'tss3'];
    const threshold = 2;
    const keys = schemeKeygen(scheme, holders, threshold);
    const { publicKey, publicInfo } = keys.get('tss1')!;
    const message = te.encode('withdraw');
    const signers = ['tss1', 'tss2'];
    const combine = (outputs: Map<PartyId, Uint8Array>) =>
      scheme.combine(outputs, publicInfo, publicKey, message, { holders, threshold });

    it('a signature share that does not verify', () => {
      const outputs = signOutputs(keys, holders, signers, threshold, message);
      const bad = outputs.get('tss2')!.slice();
      bad[bad.length - 32]! ^= 1; // low byte of z
      outputs.set('tss2', bad);
      assertAbort(() => combine(outputs), 'tss2', /invalid signature share/);
    });

    it('a misreported group commitment never reaches the signature: the gateway recomputes R and still verifies', () => {
      const outputs = signOutputs(keys, holders, signers, threshold, message);
      const fakeR = ed25519.Point.BASE.multiply(777n).toBytes();
      for (const liars of [['tss2'], signers]) {
        const tampered = new Map(outputs);
        for (const id of liars) {
          const bad = outputs.get(id)!.slice();
          bad.set(fakeR, bad.length - 64);
          tampered.set(id, bad);
        }
        const signature = combine(tampered);
        assert.notDeepEqual(signature.subarray(0, 32), fakeR);
        assert.ok(ed25519.verify(signature, message, publicKey, { zip215: false }));
        assert.deepEqual(signature, combine(outputs));
      }
    });

    it('a share computed for another message', () => {
      const honest = signOutputs(keys, holders, signers, threshold, message);
      const other = signOutputs(keys, holders, signers, threshold, te.encode('something else'));
      assertAbort(() => combine(new Map([...honest, ['tss1', other.get('tss1')!]])), 'tss1', /invalid signature share/);
    });

    it('a truncated or over-long output', () => {
      const outputs = signOutputs(keys, holders, signers, threshold, message);
      const good = outputs.get('tss1')!;
      assertAbort(
        () => combine(new Map([...outputs, ['tss1', good.subarray(0, good.length - 1)]])),
        'tss1',
        /malformed/,
      );
      assertAbort(() => combine(new Map([...outputs, ['tss1', Uint8Array.from([...good, 0])]])), 'tss1', /trailing/);
    });

    it('a malformed, off-curve or identity nonce commitment', () => {
      const replaceHiding = (bytes: Uint8Array) => (m: Parameters<Tamper>[0]) => {
        if (m.from !== 'tss2') return m.payload;
        const out = m.payload.slice();
        out.set(bytes, 2);
        return out;
      };
      const truncate: Tamper = (m) => (m.from === 'tss2' ? m.payload.subarray(1) : m.payload);
      assertAbort(() => signOutputs(keys, holders, signers, threshold, message, truncate), 'tss2', /malformed nonce/);
      assertAbort(
        () => signOutputs(keys, holders, signers, threshold, message, replaceHiding(ed25519.Point.ZERO.toBytes())),
        'tss2',
        /identity/,
      );
      const order2 = Uint8Array.from([0xec, ...new Uint8Array(30).fill(0xff), 0x7f]);
      assertAbort(
        () => signOutputs(keys, holders, signers, threshold, message, replaceHiding(order2)),
        'tss2',
        /subgroup/,
      );
    });

    it('equivocating nonce commitments abort without blaming an honest signer', () => {
      const fake = ed25519.Point.BASE.multiply(12345n).toBytes();
      const tamper: Tamper = (m) => {
        if (m.from !== 'tss1' || m.to !== 'tss2') return m.payload;
        const out = m.payload.slice();
        out.set(fake, 2);
        return out;
      };
      assertAbort(
        () => combine(signOutputs(keys, holders, signers, threshold, message, tamper)),
        undefined,
        /disagree on tss1’s nonce commitment/,
      );
    });

    it('outputs from fewer than threshold signers, or a key share used by the wrong holder', () => {
      const outputs = signOutputs(keys, holders, signers, threshold, message);
      assertAbort(() => combine(new Map([['tss1', outputs.get('tss1')!]])), undefined, /fewer than the threshold/);
      assert.throws(
        () =>
          scheme.sign(
            { sessionId: 's', keyId: 'key_test', self: 'tss1', parties: signers, holders, threshold },
            keys.get('tss2')!.secretShare,
            message,
          ),
        /another holder/,
      );
      const corrupted = keys.get('tss1')!.secretShare.slice();
      corrupted[corrupted.length - (holders.length + 2) * 32]! ^= 1; // low byte of the secret scalar
      assert.throws(
        () =>
          scheme.sign(
            { sessionId: 's', keyId: 'key_test', self: 'tss1', parties: signers, holders, threshold },
            corrupted,
            message,
          ),
        /stored key share/,
      );
    });
  });
});
