import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShareStore } from '../storage/share-store.ts';
import { decodeItems, encodeItems, preParamsStoreIn } from './encrypted-store.ts';

test('items round-trip; truncated or oversized blobs are refused', () => {
  const items = [randomBytes(40), randomBytes(1), new Uint8Array()].map((b) => Uint8Array.from(b));
  assert.deepEqual(decodeItems(encodeItems(items)), items);
  const blob = encodeItems(items);
  assert.throws(() => decodeItems(blob.subarray(0, blob.length - 1)));
  assert.throws(() => decodeItems(Uint8Array.from([...blob, 0])));
  assert.throws(() => decodeItems(Uint8Array.from([0xff, 0xff])), /more than/);
});

test('the pool persists through the encrypted store and survives a reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-preparams-'));
  const dek = Uint8Array.from(randomBytes(32));
  const items = [Uint8Array.from(randomBytes(64)), Uint8Array.from(randomBytes(64))];
  let store = await ShareStore.open(dir, 'tss1', dek);
  assert.deepEqual(await preParamsStoreIn(store).load(), []);
  await preParamsStoreIn(store).save(items);
  await store.close();
  store = await ShareStore.open(dir, 'tss1', dek);
  assert.deepEqual(await preParamsStoreIn(store).load(), items);
  await preParamsStoreIn(store).save([]);
  assert.deepEqual(await preParamsStoreIn(store).load(), []);
  await store.close();
});
