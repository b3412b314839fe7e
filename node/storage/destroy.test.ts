/** Key destruction on a node: the share is erased, a tombstone stays, and the key id never takes a share again. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, test } from 'vitest';
import { ShareStore, ShareStoreError, type ShareRecord, type ShareStoreErrorCode } from './share-store.ts';

const roots: string[] = [];
afterAll(() => roots.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'custos-destroy-'));
  roots.push(dir);
  return dir;
}
const keyIdOf = () => `key_${randomBytes(16).toString('hex')}`;
function record(keyId: string): ShareRecord {
  return {
    keyId,
    algo: 'EDDSA',
    version: 1,
    threshold: 2,
    holders: ['tss1', 'tss2', 'tss3'],
    publicKey: new Uint8Array(randomBytes(32)),
    publicInfo: new Uint8Array(randomBytes(64)),
    secretShare: new Uint8Array(randomBytes(32)),
  };
}
async function rejectsWith(p: Promise<unknown>, code: ShareStoreErrorCode) {
  await assert.rejects(p, (e: unknown) => e instanceof ShareStoreError && e.code === code);
}
/** Every file under `dir` as one buffer, to look for bytes that must be gone. */
function allBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
}

describe('share destruction', () => {
  test(
    'erases the share, refuses reads and any later write, keeps the tombstone across reopen',
    { timeout: 30_000 },
    async () => {
      const dir = join(tempDir(), 'db');
      const dek = new Uint8Array(randomBytes(32));
      const keep = keyIdOf();
      const doomed = keyIdOf();
      let store = await ShareStore.open(dir, 'tss1', dek);
      const old = record(doomed);
      await store.put(old);
      await store.put(record(keep));
      assert.equal(await store.count(), 2);

      const first = await store.destroy(doomed, 1_700_000_000_000);
      assert.deepEqual(first, { hadShare: true, destroyedAtMs: 1_700_000_000_000 });
      await rejectsWith(store.get(doomed), 'DESTROYED');
      await rejectsWith(store.has(doomed), 'DESTROYED');
      // Putting the old share back (a restore, a replayed keygen commit) is refused.
      await rejectsWith(store.put({ ...old, version: 2 }), 'DESTROYED');
      assert.deepEqual(await store.keyIds(), [keep]);
      assert.ok(await store.get(keep), 'other keys are untouched');
      // Repeating answers the first destruction.
      assert.deepEqual(await store.destroy(doomed, 1_800_000_000_000), {
        hadShare: false,
        destroyedAtMs: 1_700_000_000_000,
      });
      await store.close();

      store = await ShareStore.open(dir, 'tss1', dek);
      await rejectsWith(store.get(doomed), 'DESTROYED');
      assert.equal(store.destroyedAt(doomed), 1_700_000_000_000);
      await store.close();
    },
  );

  test(
    'the old encrypted share copied back into the database is refused, never served',
    { timeout: 30_000 },
    async () => {
      const dir = join(tempDir(), 'db');
      const dek = new Uint8Array(randomBytes(32));
      const doomed = keyIdOf();
      let store = await ShareStore.open(dir, 'tss1', dek);
      await store.put(record(doomed));
      await store.close();
      // The attacker's copy of the share as stored (ciphertext under the DEK).
      const raw = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
      const saved = (await raw.get(`share/${doomed}`))!;
      await raw.close();

      store = await ShareStore.open(dir, 'tss1', dek);
      await store.destroy(doomed);
      await store.close();
      // The ciphertext left LevelDB's files too (compacted away), not only its index.
      assert.equal(allBytes(dir).indexOf(Buffer.from(saved.subarray(5, 45))), -1, 'old ciphertext still on disk');

      const back = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
      await back.put(`share/${doomed}`, saved);
      await back.close();
      let refused = false;
      try {
        store = await ShareStore.open(dir, 'tss1', dek);
        await store.get(doomed);
      } catch (e) {
        refused = e instanceof ShareStoreError && (e.code === 'DESTROYED' || e.code === 'TAMPERED');
      } finally {
        await store.close().catch(() => undefined);
      }
      assert.ok(refused, 'a restored old share must be refused');
    },
  );

  test(
    'an altered tombstone is TAMPERED at open; a node that never held the key still keeps one',
    { timeout: 30_000 },
    async () => {
      const dir = join(tempDir(), 'db');
      const dek = new Uint8Array(randomBytes(32));
      const never = keyIdOf();
      let store = await ShareStore.open(dir, 'tss1', dek);
      assert.deepEqual((await store.destroy(never, 5)).hadShare, false);
      await rejectsWith(store.put(record(never)), 'DESTROYED');
      await store.close();
      const raw = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
      const value = (await raw.get(`tomb/${never}`))!;
      const flipped = new Uint8Array(value);
      flipped[flipped.length - 1]! ^= 1;
      await raw.put(`tomb/${never}`, flipped);
      await raw.close();
      await rejectsWith(ShareStore.open(dir, 'tss1', dek), 'TAMPERED');
      store = undefined as unknown as ShareStore;
    },
  );
});
