/**
 * The share manifest against an attacker with write access to the node's disk: rolled-back,
 * deleted and injected records, an old manifest put back, and a tampered or missing anchor are
 * each refused with a clear error, never a silent success.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { checkRecords, ManifestError } from './manifest.ts';
import { ShareStore, ShareStoreError, type ShareRecord, type ShareStoreErrorCode } from './share-store.ts';

const T = { timeout: 60_000 };

function setup() {
  const dir = join(mkdtempSync(join(tmpdir(), 'custos-manifest-')), 'leveldb_tss1');
  return { dir, anchor: `${dir}.anchor`, dek: Uint8Array.from(randomBytes(32)) };
}

function record(keyId: string, version: number): ShareRecord {
  return {
    keyId,
    algo: 'EDDSA',
    version,
    threshold: 2,
    holders: ['tss1', 'tss2', 'tss3'],
    publicKey: Uint8Array.from(randomBytes(32)),
    publicInfo: Uint8Array.from(randomBytes(64)),
    secretShare: Uint8Array.from(randomBytes(32)),
  };
}

async function raw<R>(dir: string, fn: (db: ClassicLevel<string, Uint8Array>) => Promise<R>): Promise<R> {
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function openRefused(dir: string, dek: Uint8Array, code: ShareStoreErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(ShareStore.open(dir, 'tss1', dek), (err: unknown) => {
    assert.ok(err instanceof ShareStoreError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

async function withStore(dir: string, dek: Uint8Array, fn: (s: ShareStore) => Promise<void>): Promise<void> {
  const store = await ShareStore.open(dir, 'tss1', dek);
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

test('a share replaced by its older version (rollback) is refused at unseal', T, async () => {
  const { dir, dek } = setup();
  await withStore(dir, dek, (s) => s.put(record('key-a', 1)));
  const v1 = (await raw(dir, async (db) => db.get('share/key-a')))!;
  await withStore(dir, dek, async (s) => {
    await s.put(record('key-a', 2)); // a refresh
    await assert.rejects(s.put(record('key-a', 1)), /older than 2/);
  });
  await raw(dir, (db) => db.put('share/key-a', v1));
  await openRefused(dir, dek, 'ROLLED_BACK', /key-a is version 1, the manifest says 2/);
});

test('a deleted share is refused at unseal', T, async () => {
  const { dir, dek } = setup();
  await withStore(dir, dek, async (s) => {
    await s.put(record('key-a', 1));
    await s.put(record('key-b', 1));
  });
  await raw(dir, (db) => db.del('share/key-b'));
  await openRefused(dir, dek, 'DELETED', /key-b is missing/);
});

test('an old manifest put back with the records of its time is refused (anchor)', T, async () => {
  const { dir, dek } = setup();
  await withStore(dir, dek, (s) => s.put(record('key-a', 1)));
  const [oldManifest, oldShare] = await raw(dir, (db) => db.getMany(['meta/manifest', 'share/key-a']));
  await withStore(dir, dek, async (s) => {
    await s.put(record('key-a', 2));
    await s.put(record('key-b', 1));
  });
  // A consistent old state of the database: the old manifest, the old share, no key-b.
  await raw(dir, (db) =>
    db.batch([
      { type: 'put', key: 'meta/manifest', value: oldManifest! },
      { type: 'put', key: 'share/key-a', value: oldShare! },
      { type: 'del', key: 'share/key-b' },
    ]),
  );
  await openRefused(dir, dek, 'ROLLED_BACK', /an old manifest was restored/);
});

test('a deleted, forged, foreign or missing manifest or anchor is refused; bad bytes never crash', T, async () => {
  const { dir, anchor, dek } = setup();
  await withStore(dir, dek, (s) => s.put(record('key-a', 1)));
  const goodAnchor = readFileSync(anchor);
  const manifest = (await raw(dir, (db) => db.get('meta/manifest')))!;

  rmSync(anchor);
  await openRefused(dir, dek, 'DELETED', /anchor .* is missing/);
  for (const bad of [
    Buffer.alloc(0),
    Buffer.from('CSTA1'),
    randomBytes(45),
    Buffer.concat([goodAnchor.subarray(0, 13), randomBytes(32)]),
  ]) {
    writeFileSync(anchor, bad);
    await openRefused(dir, dek, 'TAMPERED', /anchor/);
  }
  // Another node's anchor, or one made under another DEK.
  const other = setup();
  await withStore(other.dir, other.dek, (s) => s.put(record('key-z', 1)));
  copyFileSync(other.anchor, anchor);
  await openRefused(dir, dek, 'TAMPERED', /anchor fails authentication/);
  writeFileSync(anchor, goodAnchor);

  for (const bad of [Uint8Array.of(1), Uint8Array.of(7, 1, 2), Uint8Array.from(randomBytes(60))]) {
    await raw(dir, (db) => db.put('meta/manifest', bad));
    await openRefused(dir, dek, 'TAMPERED', /manifest/);
  }
  await raw(dir, (db) => db.del('meta/manifest'));
  await openRefused(dir, dek, 'DELETED', /manifest of node tss1 is missing/);

  await raw(dir, (db) => db.put('meta/manifest', manifest));
  await withStore(dir, dek, async (s) => assert.equal((await s.get('key-a'))?.version, 1));
});

test(
  'a crash between the database write and the anchor update is recovered, not mistaken for tampering',
  T,
  async () => {
    const { dir, anchor, dek } = setup();
    await withStore(dir, dek, (s) => s.put(record('key-a', 1)));
    const behind = readFileSync(anchor);
    await withStore(dir, dek, (s) => s.put(record('key-b', 1)));
    writeFileSync(anchor, behind); // as if the process died before renaming the new anchor into place
    await withStore(dir, dek, async (s) => assert.deepEqual(await s.keyIds(), ['key-a', 'key-b']));
    assert.notDeepEqual(readFileSync(anchor), behind, 'the anchor caught up');
  },
);

test('a database from before manifests gets one; a record added behind the node’s back is refused', T, async () => {
  const { dir, anchor, dek } = setup();
  await withStore(dir, dek, (s) => s.put(record('key-a', 3)));
  await raw(dir, (db) => db.del('meta/manifest'));
  rmSync(anchor);
  await withStore(dir, dek, async (s) => assert.equal((await s.get('key-a'))?.version, 3));
  const copy = (await raw(dir, (db) => db.get('share/key-a')))!;
  await raw(dir, (db) => db.put('share/key-x', copy));
  await openRefused(dir, dek, 'TAMPERED', /key-x is not in the manifest/);
});

test('checkRecords names what disagrees', () => {
  const m = {
    counter: 5,
    shares: new Map([
      ['a', 2],
      ['b', 1],
    ]),
  };
  const code = (fn: () => void) => {
    try {
      fn();
      return 'ok';
    } catch (e) {
      return (e as ManifestError).code;
    }
  };
  assert.equal(
    code(() =>
      checkRecords(
        m,
        new Map([
          ['a', 2],
          ['b', 1],
        ]),
      ),
    ),
    'ok',
  );
  assert.equal(
    code(() =>
      checkRecords(
        m,
        new Map([
          ['a', 1],
          ['b', 1],
        ]),
      ),
    ),
    'ROLLED_BACK',
  );
  assert.equal(
    code(() =>
      checkRecords(
        m,
        new Map([
          ['a', 3],
          ['b', 1],
        ]),
      ),
    ),
    'ROLLED_BACK',
  );
  assert.equal(
    code(() => checkRecords(m, new Map([['a', 2]]))),
    'DELETED',
  );
  assert.equal(
    code(() =>
      checkRecords(
        m,
        new Map([
          ['a', 2],
          ['b', 1],
          ['c', 1],
        ]),
      ),
    ),
    'TAMPERED',
  );
});
