import assert from 'node:assert/strict';
import { test, vi } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { computeAddress, recoverAddress } from 'ethers';
import { bitLength } from '../../crypto/bigint/index.ts';
import { secretKeyFromPrimes } from '../../crypto/paillier/index.ts';
import { ringPedersenFromPrimes } from '../../crypto/zk/ring-pedersen.ts';
import { ProtocolAbort, type KeygenOutput, type OutboundMessage, type PartyId } from '../types.ts';
import { lagrangeAtZero, ORDER } from './common.ts';
import { fixtureKey, fixturePreParams } from './fixtures.ts';
import { runParties, type Tamper } from './harness.ts';
import { createGg18Scheme } from './index.ts';
import type { PreParams } from './preparams.ts';
import { decodePublicInfo, decodeSecretShare } from './share.ts';

// Synchronous 2048-bit Paillier work (Πmod, Πprm, Πfac per holder): tens of seconds on 2 shared cores.
vi.setConfig({ testTimeout: 600_000 });

const scheme = createGg18Scheme();
const key = fixtureKey('2of3');
const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

/**
 * Pre-params the 2-of-3 fixture key does not use: the fixture holds 5 items and the key uses the
 * first 3, so the 8 safe primes of items 3 and 4 are paired up into 6 fresh 2048-bit moduli.
 */
function freshPreParams(): PreParams[] {
  const items = fixturePreParams().slice(3);
  const primes = items.flatMap((p) => [p.paillier.p, p.paillier.q, p.ringPedersen.p, p.ringPedersen.q]);
  const pairs: [bigint, bigint][] = [];
  for (let i = 0; i < primes.length; i++) {
    for (let j = i + 1; j < primes.length; j++) {
      if (bitLength(primes[i]! * primes[j]!) === 2048) pairs.push([primes[i]!, primes[j]!]);
    }
  }
  // Distinct moduli; sharing a prime across parties does not matter to these tests.
  const chosen = pairs.slice(0, 6);
  assert.equal(chosen.length, 6, 'not enough 2048-bit prime pairs in the fixture');
  return [0, 1, 2].map((k) => ({
    paillier: secretKeyFromPrimes(...chosen[2 * k]!),
    ringPedersen: ringPedersenFromPrimes(...chosen[2 * k + 1]!),
  }));
}

const fresh = freshPreParams();

function refresh(tamper?: Tamper, cheater?: PartyId, pre = fresh): Map<PartyId, KeygenOutput> {
  return runParties(
    new Map(
      key.holders.map((id, i) => [
        id,
        scheme.refreshWith(
          {
            sessionId: 'refresh-test',
            keyId: 'key_test',
            self: id,
            parties: key.holders,
            holders: key.holders,
            threshold: 2,
          },
          key.shares.get(id)!,
          pre[i]!,
        ),
      ]),
    ),
    tamper,
    cheater,
  );
}

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
    assert.equal(e.culprit, culprit, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('refresh keeps the key and address, replaces every Paillier key, and the new shares sign (ethers recovers the address)', () => {
  const out = refresh();
  const info = decodePublicInfo(out.get('tss1')!.publicInfo);
  const before = decodePublicInfo(key.publicInfo);
  for (const o of out.values()) {
    assert.deepEqual(o.publicKey, key.publicKey);
    assert.deepEqual(o.publicInfo, out.get('tss1')!.publicInfo);
  }
  info.holders.forEach((h, k) => {
    assert.notEqual(h.paillierN, before.holders[k]!.paillierN);
    assert.notEqual(h.ringPedersen.nTilde, before.holders[k]!.ringPedersen.nTilde);
    assert.ok(!h.X.equals(before.holders[k]!.X));
  });
  const shares = new Map([...out].map(([id, o]) => [id, decodeSecretShare(o.secretShare)]));
  for (const id of key.holders) assert.notEqual(shares.get(id)!.x, decodeSecretShare(key.shares.get(id)!).x);

  // Old and new shares of the same holders do not interpolate to the key; two new ones do.
  const Y = secp256k1.Point.fromBytes(key.publicKey);
  const combine = (a: bigint, b: bigint) => {
    const s = (lagrangeAtZero(1n, [1n, 2n]) * a + lagrangeAtZero(2n, [1n, 2n]) * b) % ORDER;
    return secp256k1.Point.BASE.multiply(s);
  };
  assert.ok(combine(shares.get('tss1')!.x, shares.get('tss2')!.x).equals(Y));
  assert.ok(!combine(decodeSecretShare(key.shares.get('tss1')!).x, shares.get('tss2')!.x).equals(Y));

  const digest = Uint8Array.from(Buffer.from('refreshed gg18 key signs'.padEnd(32, '.')));
  const signers = ['tss2', 'tss3'];
  const outputs = runParties(
    new Map(
      signers.map((id) => [
        id,
        scheme.sign(
          {
            sessionId: 'sign-after-refresh',
            keyId: 'key_test',
            self: id,
            parties: signers,
            holders: key.holders,
            threshold: 2,
          },
          out.get(id)!.secretShare,
          digest,
        ),
      ]),
    ),
  );
  const sig = scheme.combine(outputs, out.get('tss1')!.publicInfo, key.publicKey, digest, {
    holders: key.holders,
    threshold: 2,
  });
  assert.equal(recoverAddress(hex(digest), hex(sig)), computeAddress(hex(key.publicKey)));
});

test('a holder that keeps its old Paillier modulus is named', () => {
  const old = decodePublicInfo(key.publicInfo).holders[2]!.paillierN;
  assertAbort(
    () =>
      refresh(
        rewrite('tss3', 0, (b) => (b.paillierN = old.toString(16))),
        'tss3',
      ),
    'tss3',
    /old Paillier/,
  );
});

test('a Πmod proof made for another modulus is named', () => {
  let other: unknown;
  const tamper: Tamper = (r, from, m) => {
    if (r !== 0 || m.to !== undefined) return m;
    const body = JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown>;
    if (from === 'tss1') other = body.modProof;
    if (from !== 'tss3') return m;
    body.modProof = other;
    return { ...m, payload: new TextEncoder().encode(JSON.stringify(body)) };
  };
  assertAbort(() => refresh(tamper, 'tss3'), 'tss3', /Πmod/);
});

test('a bad zero share and a bad Πfac to one holder are named', () => {
  assertAbort(
    () =>
      refresh(
        rewrite(
          'tss3',
          1,
          (b) => {
            const proof = b.facProof as Record<string, string>;
            [proof.z1, proof.z2] = [proof.z2!, proof.z1!];
          },
          'tss1',
        ),
        'tss3',
      ),
    'tss3',
    /Πfac/,
  );
  assertAbort(
    () =>
      refresh(
        rewrite(
          'tss3',
          1,
          (b) => {
            const share = Buffer.from(b.zeroShare as string, 'hex');
            share.writeUInt8(share.readUInt8(share.length - 1) ^ 1, share.length - 1);
            b.zeroShare = share.toString('hex');
          },
          'tss1',
        ),
        'tss3',
      ),
    'tss3',
    /refresh share does not match/,
  );
});
