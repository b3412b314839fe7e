import assert from 'node:assert/strict';
import { test } from 'vitest';
import { fixtureKey } from './fixtures.ts';
import { createGg18Scheme } from './index.ts';
import { decodeSecretShare } from './share.ts';

const key = fixtureKey('2of3');

/** The stored share record of `id` with its secret x rewritten. */
function withX(id: string, edit: (x: bigint) => bigint): Uint8Array {
  const body = JSON.parse(new TextDecoder().decode(key.shares.get(id)!)) as Record<string, unknown>;
  body['x'] = edit(BigInt('0x' + (body['x'] as string))).toString(16);
  return new TextEncoder().encode(JSON.stringify(body));
}

test('decodeSecretShare accepts the fixture shares and checks x·G = X_self', () => {
  for (const id of key.holders) assert.equal(decodeSecretShare(key.shares.get(id)!).self, id);
  assert.throws(() => decodeSecretShare(withX('tss1', (x) => x + 1n)), /x·G does not match/);
  assert.throws(() => decodeSecretShare(withX('tss1', () => 0n)), /x·G does not match/);
  // Another holder's x under tss1's name: a swapped or rolled-back record.
  const other = BigInt('0x' + (JSON.parse(new TextDecoder().decode(key.shares.get('tss2')!)) as { x: string }).x);
  assert.throws(() => decodeSecretShare(withX('tss1', () => other)), /x·G does not match/);
});

test('signing refuses a tampered share record before any message is sent', () => {
  const scheme = createGg18Scheme();
  const ctx = {
    sessionId: 's',
    keyId: 'key_test',
    self: 'tss1',
    parties: ['tss1', 'tss2'],
    holders: key.holders,
    threshold: 2,
  };
  assert.throws(
    () =>
      scheme.sign(
        ctx,
        withX('tss1', (x) => x + 1n),
        new Uint8Array(32),
      ),
    /x·G does not match/,
  );
});
