import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { computeAddress, recoverAddress } from 'ethers';
import { ProtocolAbort, type OutboundMessage, type PartyId } from '../types.ts';
import { fixtureKey } from './fixtures.ts';
import { runParties, type Tamper } from './harness.ts';
import { createGg18Scheme } from './index.ts';
import { createNonceRegistry, finalSignature } from './sign.ts';

const scheme = createGg18Scheme();
const key23 = fixtureKey('2of3');
const key34 = fixtureKey('3of4');
const q = secp256k1.Point.CURVE().n;
const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

function digest(label: string): Uint8Array {
  return Uint8Array.from(Buffer.from(label.padEnd(32, '.').slice(0, 32)));
}

function sign(
  key: typeof key23,
  signers: PartyId[],
  message: Uint8Array,
  sessionId: string,
  tamper?: Tamper,
  cheater?: PartyId,
) {
  const parties = new Map(
    signers.map((id) => [
      id,
      scheme.sign(
        { sessionId, self: id, parties: signers, holders: key.holders, threshold: key.threshold },
        key.shares.get(id)!,
        message,
      ),
    ]),
  );
  return runParties(parties, tamper, cheater);
}

function combine(key: typeof key23, outputs: Map<PartyId, Uint8Array>, message: Uint8Array): Uint8Array {
  return scheme.combine(outputs, key.publicInfo, key.publicKey, message, {
    holders: key.holders,
    threshold: key.threshold,
  });
}

/** Rewrites one field of a JSON message sent by `cheater` in `round` (to `to`, if given). */
function rewrite(cheater: PartyId, round: number, edit: (body: Record<string, unknown>) => void, to?: PartyId): Tamper {
  return (r, from, m: OutboundMessage) => {
    if (r !== round || from !== cheater || (to !== undefined && m.to !== to)) return m;
    const body = JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown>;
    edit(body);
    return { ...m, payload: new TextEncoder().encode(JSON.stringify(body)) };
  };
}

function assertAbort(run: () => unknown, culprit: PartyId | undefined, pattern: RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ProtocolAbort, String(e));
    assert.equal(e.culprit, culprit);
    assert.match(e.message, pattern);
    return true;
  });
}

test('2-of-3 signatures verify with noble and recover to the key address with ethers, for every signer pair', () => {
  const address = computeAddress(hex(key23.publicKey));
  for (const [i, signers] of [
    ['tss1', 'tss2'],
    ['tss2', 'tss3'],
  ].entries()) {
    const message = digest(`message ${i}`);
    const outputs = sign(key23, signers, message, `sign-${i}`);
    const sig = combine(key23, outputs, message);
    assert.equal(sig.length, 65);
    assert.ok(scheme.verify(sig, message, key23.publicKey));
    assert.ok(secp256k1.verify(sig.subarray(0, 64), message, key23.publicKey, { prehash: false }));
    const s = BigInt(hex(sig.subarray(32, 64)));
    assert.ok(s <= q / 2n, 'low s');
    assert.ok(sig[64] === 27 || sig[64] === 28);
    assert.equal(recoverAddress(hex(message), hex(sig)), address);
  }
});

test('3-of-4 signing with three holders, and 2-of-3 signing with all three holders', () => {
  const message = digest('three signers');
  const sig = combine(key34, sign(key34, ['tss1', 'tss3', 'tss4'], message, 'sign-34'), message);
  assert.equal(recoverAddress(hex(message), hex(sig)), computeAddress(hex(key34.publicKey)));
  const all = combine(key23, sign(key23, ['tss1', 'tss2', 'tss3'], message, 'sign-all'), message);
  assert.ok(scheme.verify(all, message, key23.publicKey));
});

test('a wrong Alice range proof is caught and attributed', () => {
  const tamper = rewrite(
    'tss2',
    0,
    (b) => {
      const proof = b['proof'] as Record<string, string>;
      proof['s1'] = (BigInt('0x' + proof['s1']) + 1n).toString(16);
    },
    'tss1',
  );
  assertAbort(
    () => sign(key23, ['tss1', 'tss2'], digest('x'), 'cheat-alice', tamper, 'tss2'),
    'tss2',
    /Alice's MtA range proof/,
  );
});

test('a wrong Bob range proof (MtAwc) is caught and attributed', () => {
  const tamper = rewrite('tss1', 1, (b) => {
    const proof = b['proofW'] as Record<string, string>;
    proof['t1'] = (BigInt('0x' + proof['t1']) + 1n).toString(16);
  });
  assertAbort(
    () => sign(key23, ['tss1', 'tss2'], digest('x'), 'cheat-bob', tamper, 'tss1'),
    'tss1',
    /MtAwc range proof/,
  );
});

test('a range proof replayed from another session is rejected (CVE-2022-47930)', () => {
  let recorded: OutboundMessage | undefined;
  sign(key23, ['tss1', 'tss2'], digest('x'), 'session-A', (r, from, m) => {
    if (r === 0 && from === 'tss2' && m.to === 'tss1') recorded = m;
    return m;
  });
  assert.ok(recorded);
  const replay: Tamper = (r, from, m) => (r === 0 && from === 'tss2' && m.to === 'tss1' ? recorded! : m);
  assertAbort(() => sign(key23, ['tss1', 'tss2'], digest('x'), 'session-B', replay, 'tss2'), 'tss2', /range proof/);
});

test('a wrong commitment opening is caught and attributed', () => {
  const tamper = rewrite('tss3', 3, (b) => {
    b['opening'] = '00'.repeat(32);
  });
  assertAbort(
    () => sign(key23, ['tss2', 'tss3'], digest('x'), 'cheat-open', tamper, 'tss3'),
    'tss3',
    /opening does not match/,
  );
});

test('an inconsistent final share is caught and attributed', () => {
  const tamper = rewrite('tss2', 8, (b) => {
    b['s'] = ((BigInt('0x' + (b['s'] as string)) + 1n) % q).toString(16);
  });
  assertAbort(
    () => sign(key23, ['tss1', 'tss2'], digest('x'), 'cheat-final', tamper, 'tss2'),
    'tss2',
    /final signature share/,
  );
});

test('a party broadcasting different delta shares to different peers is caught by the echo and named', () => {
  const tamper = rewrite('tss1', 2, (b) => {
    b['delta'] = ((BigInt('0x' + (b['delta'] as string)) + 1n) % q).toString(16);
  });
  assertAbort(
    () => sign(key23, ['tss1', 'tss2'], digest('x'), 'cheat-delta', tamper, 'tss1'),
    'tss1',
    /saw different broadcasts from tss1/,
  );
});

test('a party whose phase 5D echo misreports a broadcast is named', () => {
  const tamper = rewrite('tss2', 7, (b) => {
    (b['echo'] as string[])[1] = '00'.repeat(32);
  });
  assertAbort(
    () => sign(key23, ['tss1', 'tss2'], digest('x'), 'cheat-echo', tamper, 'tss2'),
    'tss2',
    /saw different broadcasts from tss2/,
  );
});

test('signers given different digests fail the phase 5 check before any signature share is released', () => {
  const signers = ['tss1', 'tss2'];
  let released = false;
  const parties = new Map(
    signers.map((id) => [
      id,
      scheme.sign(
        { sessionId: 'split-view', self: id, parties: signers, holders: key23.holders, threshold: 2 },
        key23.shares.get(id)!,
        digest(`digest for ${id}`),
      ),
    ]),
  );
  const watch: Tamper = (r, _from, m) => {
    if (r === 8) released = true;
    return m;
  };
  assertAbort(() => runParties(parties, watch), undefined, /phase 5 consistency check failed/);
  assert.equal(released, false);
});

test('malformed and missing messages name the sender', () => {
  const garbage: Tamper = (r, from, m) =>
    r === 2 && from === 'tss3' ? { ...m, payload: new TextEncoder().encode('{"delta":"zz"}') } : m;
  assertAbort(() => sign(key23, ['tss1', 'tss3'], digest('x'), 'malformed', garbage), 'tss3', /malformed/);
  const party = scheme.sign(
    { sessionId: 'missing', self: 'tss1', parties: ['tss1', 'tss2'], holders: key23.holders, threshold: 2 },
    key23.shares.get('tss1')!,
    digest('x'),
  );
  party.round(0, []);
  assertAbort(() => party.round(1, []), 'tss2', /missing message/);
});

test('combine names a signer whose output differs or does not verify; verify rejects high s and bad v', () => {
  const message = digest('combine');
  const outputs = sign(key23, ['tss1', 'tss3'], message, 'combine');
  const good = outputs.get('tss1')!;
  const forged = Uint8Array.from(good);
  forged[40]! ^= 1;
  assertAbort(
    () =>
      combine(
        key23,
        new Map([
          ['tss1', good],
          ['tss3', forged],
        ]),
        message,
      ),
    'tss3',
    /not a valid signature/,
  );
  const s = BigInt(hex(good.subarray(32, 64)));
  const highS = Uint8Array.from(good);
  highS.set(Buffer.from((q - s).toString(16).padStart(64, '0'), 'hex'), 32);
  highS[64] = good[64] === 27 ? 28 : 27;
  assert.equal(scheme.verify(highS, message, key23.publicKey), false);
  const badV = Uint8Array.from(good);
  badV[64] = good[64] === 27 ? 28 : 27;
  assert.equal(scheme.verify(badV, message, key23.publicKey), false);
  assert.equal(scheme.verify(good, message, key23.publicKey), true);
});

test('finalSignature: low s and the right recovery id over 1000 random nonces and digests', () => {
  const x = BigInt(hex(randomBytes(31))) + 1n;
  const Y = secp256k1.Point.BASE.multiply(x);
  const address = computeAddress(hex(Y.toBytes(true)));
  let high = 0;
  for (let i = 0; i < 1000; i++) {
    const message = Uint8Array.from(randomBytes(32));
    const k = BigInt(hex(randomBytes(31))) + 1n;
    const R = secp256k1.Point.BASE.multiply(k);
    const r = R.toAffine().x % q;
    const s = ((BigInt(hex(message)) + r * x) * modInv(k)) % q;
    if (s > q / 2n) high++;
    const sig = finalSignature(R, r, s, message, Y);
    assert.ok(BigInt(hex(sig.subarray(32, 64))) <= q / 2n);
    const recovered = secp256k1.Signature.fromBytes(sig.subarray(0, 64))
      .addRecoveryBit(sig[64]! - 27)
      .recoverPublicKey(message);
    assert.ok(recovered.equals(Y));
    if (i < 20) assert.equal(recoverAddress(hex(message), hex(sig)), address);
  }
  assert.ok(high > 400, 'about half of the raw s values were high');
  const message = digest('normalise');
  assertAbort(() => finalSignature(secp256k1.Point.BASE, 5n, 7n, message, Y), undefined, /does not verify/);
});

function modInv(a: bigint): bigint {
  let [oldR, r, oldS, s] = [a % q, q, 1n, 0n];
  while (r !== 0n) {
    const t = oldR / r;
    [oldR, r] = [r, oldR - t * r];
    [oldS, s] = [s, oldS - t * s];
  }
  return ((oldS % q) + q) % q;
}

test('the nonce registry refuses a repeated R per party', () => {
  const registry = createNonceRegistry(2);
  const R = secp256k1.Point.BASE.multiply(99n);
  assert.equal(registry.claim('tss1', R), true);
  assert.equal(registry.claim('tss1', R), false);
  assert.equal(registry.claim('tss2', R), true);
});

test('signing refuses a context that does not match the share', () => {
  assert.throws(() =>
    scheme.sign(
      { sessionId: 's', self: 'tss1', parties: ['tss1'], holders: key23.holders, threshold: 2 },
      key23.shares.get('tss1')!,
      digest('x'),
    ),
  );
  assert.throws(() =>
    scheme.sign(
      { sessionId: 's', self: 'tss1', parties: ['tss1', 'tss2'], holders: key23.holders, threshold: 2 },
      key23.shares.get('tss2')!,
      digest('x'),
    ),
  );
});
