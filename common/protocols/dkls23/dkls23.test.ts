import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { computeAddress, recoverAddress, verifyMessage } from 'ethers';
import { describe, test } from 'vitest';
import { digestFor } from '../../chains/digests.ts';
import { runParties, type Tamper } from '../frost/in-process-router.ts';
import { assertAbort, schemeKeygen } from '../testing/helpers.ts';
import { G, ORDER, modq } from '../threshold/scalars.ts';
import type { KeygenOutput, MpcParty, PartyId, SessionContext } from '../types.ts';
import { decodeAll } from '../encoding.ts';
import type { ExtReceiverMessage } from '../ot/kos.ts';
import { dkls23Scheme as scheme } from './index.ts';
import { readExtMessage } from './multiply.ts';
import { decodePublicInfo, decodeSecretShare, type SecretShare } from './share.ts';
import {
  createSignParty,
  decodeRound2,
  decodeRound3,
  encodeRound1Mul,
  encodeRound2,
  encodeRound3,
  type Round2Message,
  type Round3Message,
} from './sign.ts';

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');
const digest = (text: string): Uint8Array => sha256(new TextEncoder().encode(text));
const holders = ['tss1', 'tss2', 'tss3'];

function ctxFor(key: Map<PartyId, KeygenOutput>, self: PartyId, parties: PartyId[], sessionId: string): SessionContext {
  const info = decodePublicInfo(key.values().next().value!.publicInfo);
  return { sessionId, keyId: 'key_test', self, parties, holders: [...info.holders], threshold: info.threshold };
}

function signParties(
  key: Map<PartyId, KeygenOutput>,
  signers: PartyId[],
  message: Uint8Array,
  sessionId: string,
  cheat?: { party: PartyId; share: (s: SecretShare) => SecretShare },
): Map<PartyId, MpcParty<Uint8Array>> {
  return new Map(
    signers.map((self) => {
      const ctx = ctxFor(key, self, signers, sessionId);
      const share = decodeSecretShare(key.get(self)!.secretShare);
      const party =
        cheat?.party === self
          ? createSignParty(ctx, cheat.share(share), message)
          : scheme.sign(ctx, key.get(self)!.secretShare, message);
      return [self, party];
    }),
  );
}

function sign(
  key: Map<PartyId, KeygenOutput>,
  signers: PartyId[],
  message: Uint8Array,
  sessionId: string,
  tamper?: Tamper,
) {
  return runParties(signParties(key, signers, message, sessionId), tamper);
}

function combine(key: Map<PartyId, KeygenOutput>, outputs: Map<PartyId, Uint8Array>, message: Uint8Array): Uint8Array {
  const out = key.values().next().value!;
  const info = decodePublicInfo(out.publicInfo);
  return scheme.combine(outputs, out.publicInfo, out.publicKey, message, {
    holders: info.holders,
    threshold: info.threshold,
  });
}

/** Rewrites the message `from` sends to `to` in `round` (any recipient when `to` is undefined). */
function rewrite<M>(
  round: number,
  from: PartyId,
  to: PartyId | undefined,
  decode: (from: PartyId, b: Uint8Array) => M,
  encode: (m: M) => Uint8Array,
  change: (m: M) => M,
): Tamper {
  return (msg) =>
    msg.round === round && msg.from === from && (to === undefined || msg.to === to)
      ? encode(change(decode(from, msg.payload)))
      : msg.payload;
}
const round1Mul = (from: PartyId, to: PartyId, change: (m: ExtReceiverMessage) => ExtReceiverMessage): Tamper => {
  const p2p = rewrite(0, from, to, (_f, b) => decodeAll(b, readExtMessage), encodeRound1Mul, change);
  return (msg) => (msg.broadcast ? msg.payload : p2p(msg));
};
const round2 = (from: PartyId, to: PartyId, change: (m: Round2Message) => Round2Message) =>
  rewrite(1, from, to, decodeRound2, encodeRound2, change);
const round3 = (from: PartyId, change: (m: Round3Message) => Round3Message) =>
  rewrite(2, from, undefined, decodeRound3, encodeRound3, change);

describe('DKLS23', { timeout: 120_000 }, () => {
  const key = schemeKeygen(scheme, holders, 2);

  test('keygen: every holder agrees on the public key and public info; shares decode', () => {
    const first = key.get('tss1')!;
    for (const out of key.values()) {
      assert.deepEqual(out.publicKey, first.publicKey);
      assert.deepEqual(out.publicInfo, first.publicInfo);
    }
    for (const h of holders) assert.equal(decodeSecretShare(key.get(h)!.secretShare).self, h);
  });

  test('2-of-3 signatures verify with noble and recover to the key address with ethers, for every signer pair', () => {
    const address = computeAddress(hex(key.get('tss1')!.publicKey));
    for (const [i, signers] of [
      ['tss1', 'tss2'],
      ['tss1', 'tss3'],
      ['tss2', 'tss3'],
    ].entries()) {
      const message = digest(`message ${i}`);
      const sig = combine(key, sign(key, signers, message, `sign-${i}`), message);
      assert.ok(scheme.verify(sig, message, key.get('tss1')!.publicKey));
      assert.ok(secp256k1.verify(sig.subarray(0, 64), message, key.get('tss1')!.publicKey, { prehash: false }));
      assert.ok(BigInt(hex(sig.subarray(32, 64))) <= ORDER / 2n, 'low s');
      assert.ok(sig[64] === 27 || sig[64] === 28);
      assert.equal(recoverAddress(hex(message), hex(sig)), address);
    }
  });

  test('EIP191 data signed with all three holders verifies with ethers verifyMessage', () => {
    const text = 'hello custos';
    const message = digestFor('EIP191', hex(new TextEncoder().encode(text)));
    const sig = combine(key, sign(key, holders, message, 'sign-eip191'), message);
    assert.equal(
      verifyMessage(new TextEncoder().encode(text), hex(sig)),
      computeAddress(hex(key.get('tss1')!.publicKey)),
    );
  });

  test('a 3-of-4 key signs with three holders', { timeout: 300_000 }, () => {
    const key34 = schemeKeygen(scheme, ['tss1', 'tss2', 'tss3', 'tss4'], 3);
    const message = digest('3-of-4');
    const sig = combine(key34, sign(key34, ['tss1', 'tss3', 'tss4'], message, 'sign-34'), message);
    assert.equal(recoverAddress(hex(message), hex(sig)), computeAddress(hex(key34.get('tss1')!.publicKey)));
  });

  const m = digest('attacked');
  const run = (tamper: Tamper) => () => sign(key, ['tss1', 'tss2'], m, 'sign-attack', tamper);

  test('R_j that does not open its commitment names j (step 8, decommitment)', () => {
    assertAbort(run(round2('tss2', 'tss1', (x) => ({ ...x, R: x.R.add(G) }))), 'tss2', /open/);
  });

  test('inconsistent OT extension columns from Bob are caught by Alice (KOS check)', () => {
    const flipAll = (x: ExtReceiverMessage): ExtReceiverMessage => ({
      ...x,
      u: x.u.map((c) => c.map((b, k) => (k === 0 ? b ^ 1 : b))),
    });
    assertAbort(run(round1Mul('tss1', 'tss2', flipAll)), 'tss1', /KOS/);
  });

  test("Alice's OT correlations that differ between OTs are caught by Bob (multiplication check)", () => {
    assertAbort(
      run(
        round2('tss2', 'tss1', (x) => ({
          ...x,
          mul: { ...x.mul, tau: x.mul.tau.map((row, k) => (k === 0 ? row.map((t) => modq(t + 1n)) : row)) },
        })),
      ),
      'tss2',
      /multiplication check/,
    );
  });

  test('Alice multiplying another instance key than R_j commits to fails χ·R_j = Γ^u + d^u·G', () => {
    assertAbort(
      run(
        round2('tss2', 'tss1', (x) => ({
          ...x,
          mul: { ...x.mul, gamma: [modq(x.mul.gamma[0]! + 1n), x.mul.gamma[1]!] },
        })),
      ),
      'tss2',
      /Γ\^u/,
    );
    assertAbort(run(round2('tss1', 'tss2', (x) => ({ ...x, gammaU: x.gammaU.add(G) }))), 'tss1', /Γ\^u/);
  });

  test('Alice multiplying another key share than pk_j fails χ·pk_j = Γ^v + d^v·G', () => {
    assertAbort(
      run(
        round2('tss2', 'tss1', (x) => ({
          ...x,
          mul: { ...x.mul, gamma: [x.mul.gamma[0]!, modq(x.mul.gamma[1]! + 1n)] },
        })),
      ),
      'tss2',
      /Γ\^v/,
    );
    assertAbort(run(round2('tss2', 'tss1', (x) => ({ ...x, pk: x.pk.add(G) }))), 'tss2', /Γ\^v/);
  });

  test('a signer using a wrong key share consistently is caught by pk_j = λ_j·X_j', () => {
    const parties = signParties(key, ['tss1', 'tss2'], m, 'sign-wrong-share', {
      party: 'tss2',
      share: (s) => ({ ...s, x: modq(s.x + 1n) }),
    });
    assertAbort(() => runParties(parties), 'tss2', /λ_j·X_j/);
  });

  test('a bad final share (u or w) fails the final verification (step 10; not attributable)', () => {
    assertAbort(run(round3('tss2', (x) => ({ ...x, w: modq(x.w + 1n) }))), undefined, /does not verify/);
  });

  test('a round 1 message replayed from another session is refused', () => {
    let recorded: Uint8Array | undefined;
    sign(key, ['tss1', 'tss2'], m, 'sign-recorded', (msg) => {
      if (msg.round === 0 && msg.from === 'tss1' && !msg.broadcast) recorded = msg.payload;
      return msg.payload;
    });
    assertAbort(
      run((msg) => (msg.round === 0 && msg.from === 'tss1' && !msg.broadcast ? recorded! : msg.payload)),
      'tss1',
      /KOS/,
    );
  });

  test('a malformed commitment names its sender', () => {
    assertAbort(
      run((msg) => (msg.round === 0 && msg.broadcast && msg.from === 'tss1' ? msg.payload.subarray(1) : msg.payload)),
      'tss1',
      /malformed/,
    );
  });

  test('malformed messages name their sender', () => {
    assertAbort(
      run((msg) => (msg.round === 1 && msg.from === 'tss2' ? msg.payload.subarray(1) : msg.payload)),
      'tss2',
      /malformed/,
    );
  });
});
