import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, test } from 'vitest';
import { restoreNodeStore, RestoreRefusedError, sharesNewerThanBackup } from './restore.ts';
import { ShareStore, type ShareRecord } from './share-store.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'custos-restore-'));
  dirs.push(d);
  return d;
};

function record(keyId: string, version: number): ShareRecord {
  return {
    keyId,
    algo: 'EDDSA',
    version,
    threshold: 2,
    holders: ['tss1', 'tss2'],
    publicKey: new Uint8Array([1]),
    publicInfo: new Uint8Array([2]),
    secretShare: randomBytes(32),
  };
}

describe('node store restore', { timeout: 30_000 }, () => {
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('share versions decide: newer or extra shares in the node block the restore', () => {
    const backup = new Map([
      ['key_a', 2],
      ['key_b', 1],
    ]);
    assert.deepEqual(sharesNewerThanBackup(new Map([['key_a', 2]]), backup), []);
    assert.deepEqual(sharesNewerThanBackup(new Map([['key_a', 1]]), backup), []);
    assert.deepEqual(sharesNewerThanBackup(new Map([['key_a', 3]]), backup), ['key_a v3 (backup: v2)']);
    assert.deepEqual(sharesNewerThanBackup(new Map([['key_c', 0]]), backup), ['key_c v0 (backup: none)']);
  });

  test('a snapshot restored into a wiped data dir opens with the same DEK and serves every share', async () => {
    const home = tmp();
    const dir = join(home, 'leveldb_tss1');
    const dek = randomBytes(32);
    const store = await ShareStore.open(dir, 'tss1', dek);
    await store.put(record('key_a', 0));
    await store.put(record('key_b', 0));
    const snap = await store.snapshot();
    await store.put(record('key_c', 0)); // after the snapshot: not in it
    await store.close();
    rmSync(dir, { recursive: true });
    rmSync(`${dir}.anchor`);
    const dekPath = join(home, 'tss1.dek');
    await restoreNodeStore({
      dataDir: dir,
      anchorPath: `${dir}.anchor`,
      dekPath,
      entries: snap.entries,
      anchor: snap.anchor,
      wrappedDek: Buffer.from('wrapped'),
    });
    assert.equal(readFileSync(dekPath, 'utf8'), 'wrapped');
    const reopened = await ShareStore.open(dir, 'tss1', dek);
    assert.deepEqual(await reopened.keyIds(), ['key_a', 'key_b']);
    assert.equal((await reopened.get('key_a'))?.version, 0);
    await reopened.close();
  });

  test('a restore over a node with newer shares is refused and changes nothing', async () => {
    const home = tmp();
    const dir = join(home, 'leveldb_tss1');
    const dek = randomBytes(32);
    const store = await ShareStore.open(dir, 'tss1', dek);
    await store.put(record('key_a', 0));
    const old = await store.snapshot();
    await store.put(record('key_a', 1)); // a refresh after the backup
    await store.close();
    const dekPath = join(home, 'tss1.dek');
    writeFileSync(dekPath, 'current');
    const anchorBefore = readFileSync(`${dir}.anchor`);
    await assert.rejects(
      restoreNodeStore({ dataDir: dir, anchorPath: `${dir}.anchor`, dekPath, ...old, wrappedDek: Buffer.from('old') }),
      (e: unknown) =>
        e instanceof RestoreRefusedError && e.code === 'NEWER_SHARES' && /key_a v1 \(backup: v0\)/.test(e.message),
    );
    assert.equal(readFileSync(dekPath, 'utf8'), 'current');
    assert.deepEqual(readFileSync(`${dir}.anchor`), anchorBefore);
    assert.deepEqual(readdirSync(home).sort(), ['leveldb_tss1', 'leveldb_tss1.anchor', 'tss1.dek']);
    const reopened = await ShareStore.open(dir, 'tss1', dek);
    assert.equal((await reopened.get('key_a'))?.version, 1);
    await reopened.close();
  });

  test('a restore while the node runs is refused', async () => {
    const home = tmp();
    const dir = join(home, 'leveldb_tss1');
    const store = await ShareStore.open(dir, 'tss1', randomBytes(32));
    const snap = await store.snapshot();
    await assert.rejects(
      restoreNodeStore({
        dataDir: dir,
        anchorPath: `${dir}.anchor`,
        dekPath: join(home, 'x.dek'),
        ...snap,
        wrappedDek: Buffer.from('w'),
      }),
      (e: unknown) => e instanceof RestoreRefusedError && e.code === 'NODE_RUNNING',
    );
    await store.close();
    assert.equal(existsSync(`${dir}.restoring`), false);
  });
});
