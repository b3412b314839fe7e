import assert from 'node:assert/strict';
import { test } from 'vitest';
import { encodePreParams, validatePreParams } from '../../common/protocols/gg18/preparams.ts';
import { fixturePreParams } from '../../common/protocols/gg18/fixtures.ts';
import { PreParamsPool, type PreParamsStore } from './pool.ts';

class MemoryStore implements PreParamsStore {
  saves: number[] = [];
  constructor(private items: Uint8Array[]) {}
  async load(): Promise<Uint8Array[]> {
    return this.items.map((i) => Uint8Array.from(i));
  }
  async save(items: Uint8Array[]): Promise<void> {
    this.items = items.map((i) => Uint8Array.from(i));
    this.saves.push(items.length);
  }
  get count(): number {
    return this.items.length;
  }
}

const fixtures = fixturePreParams();

test('persisted items are served first, validated on load, and the store follows the pool', async () => {
  const corrupt = encodePreParams(fixtures[0]!);
  corrupt[20] = corrupt[20] === 0x31 ? 0x32 : 0x31;
  const store = new MemoryStore([encodePreParams(fixtures[0]!), corrupt, encodePreParams(fixtures[1]!)]);
  // target 0: no background generation in this test.
  const pool = await PreParamsPool.open({ target: 0, store });
  try {
    assert.equal(pool.size, 2);
    const first = pool.takeReady()!;
    assert.equal(first.paillier.n, fixtures[0]!.paillier.n);
    const second = await pool.take();
    assert.equal(second.paillier.n, fixtures[1]!.paillier.n);
    assert.equal(pool.takeReady(), undefined);
  } finally {
    await pool.close();
  }
  assert.equal(store.count, 0);
  assert.deepEqual(store.saves, [2, 1, 0]);
});

test('an empty pool generates fresh, valid pre-params on demand in its worker thread', async () => {
  const store = new MemoryStore([]);
  const pool = await PreParamsPool.open({ target: 1, store });
  try {
    const fresh = await pool.take();
    assert.equal(validatePreParams(fresh), true);
    assert.ok(!fixtures.some((f) => f.paillier.n === fresh.paillier.n));
    const broken = { ...fresh, ringPedersen: { ...fresh.ringPedersen, h2: fresh.ringPedersen.h1 } };
    assert.equal(validatePreParams(broken), false);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.take(), /closed/);
});
