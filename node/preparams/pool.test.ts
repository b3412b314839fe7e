import assert from 'node:assert/strict';
import { test, vi } from 'vitest';
import { decodePreParams, encodePreParams, validatePreParams } from '../../common/protocols/gg18/preparams.ts';
import { fixturePreParams } from '../../common/protocols/gg18/fixtures.ts';
import { PreParamsPool, type PreParamsStore } from './pool.ts';

// Generating GG18 pre-params means finding 2048-bit safe primes: random time, minutes on shared cores
// (120 s was not enough at load ~35).
vi.setConfig({ testTimeout: 600_000 });

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
    const first = await pool.take();
    assert.equal(first.paillier.n, fixtures[0]!.paillier.n);
    const second = await pool.take();
    assert.equal(second.paillier.n, fixtures[1]!.paillier.n);
    assert.equal(pool.size, 0);
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

/**
 * A store whose saves stay pending until released, so a test can "crash" the node between the
 * moment an item leaves the pool and the moment its removal is on disk: the durable content is
 * what a restarted node loads.
 */
class StallingStore implements PreParamsStore {
  durable: Uint8Array[];
  saveStarted: Promise<void>;
  private started!: () => void;
  private pending: { items: Uint8Array[]; release: (ok: boolean) => void }[] = [];
  constructor(items: Uint8Array[]) {
    this.durable = items.map((i) => Uint8Array.from(i));
    this.saveStarted = new Promise((resolve) => (this.started = resolve));
  }
  async load(): Promise<Uint8Array[]> {
    return this.durable.map((i) => Uint8Array.from(i));
  }
  save(items: Uint8Array[]): Promise<void> {
    const copy = items.map((i) => Uint8Array.from(i));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        items: copy,
        release: (ok) => {
          if (!ok) return reject(new Error('disk full'));
          this.durable = copy;
          resolve();
        },
      });
      this.started();
    });
  }
  release(ok: boolean): void {
    for (const p of this.pending.splice(0)) p.release(ok);
  }
}

test(
  'a crash between handing out an item and persisting its removal never reuses the item',
  { timeout: 60_000 },
  async () => {
    const store = new StallingStore([encodePreParams(fixtures[0]!), encodePreParams(fixtures[1]!)]);
    const handedOut: bigint[] = [];
    const first = await PreParamsPool.open({ target: 0, store });
    let firstReturned = false;
    const taking = first.take().then((p) => {
      firstReturned = true;
      handedOut.push(p.paillier.n);
    });
    await store.saveStarted;
    // Let every ready continuation run: the item must still be held back while its removal is unsaved.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(firstReturned, false, 'an item was handed out before its removal was persisted');

    // Crash: the process dies with the save unfinished; a restarted node loads what is durable.
    const restarted = await PreParamsPool.open({
      target: 0,
      store: { load: () => store.load(), save: async () => {} },
    });
    try {
      handedOut.push((await restarted.take()).paillier.n);
      handedOut.push((await restarted.take()).paillier.n);
    } finally {
      await restarted.close();
    }
    store.release(false); // the dead process's write never lands
    await assert.rejects(taking, /could not persist the removal/);
    await first.close();
    assert.equal(new Set(handedOut).size, handedOut.length, 'one Paillier key was handed out twice');
    assert.equal(handedOut.length, 2);
  },
);

test('take returns once the removal is durable', { timeout: 60_000 }, async () => {
  const store = new StallingStore([encodePreParams(fixtures[0]!), encodePreParams(fixtures[1]!)]);
  const pool = await PreParamsPool.open({ target: 0, store });
  try {
    const taking = pool.take();
    await store.saveStarted;
    store.release(true);
    assert.equal((await taking).paillier.n, fixtures[0]!.paillier.n);
    assert.equal(store.durable.length, 1);
    assert.equal(validatePreParams(decodePreParams(store.durable[0]!)), true);
  } finally {
    await pool.close();
  }
});
