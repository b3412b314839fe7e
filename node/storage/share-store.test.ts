import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, afterAll } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { createDekFile } from './dek-file.ts';
import { dekFilePath, shareDbPath } from './paths.ts';
import { ShareStore, ShareStoreError, type ShareRecord, type ShareStoreErrorCode } from './share-store.ts';

const roots: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'custos-shares-'));
  roots.push(dir);
  return dir;
}
afterAll(() => roots.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const random = (n: number) => new Uint8Array(randomBytes(n));

function record(keyId: string, overrides: Partial<ShareRecord> = {}): ShareRecord {
  return {
    keyId,
    algo: 'EDDSA',
    version: 1,
    threshold: 2,
    holders: ['tss1', 'tss2', 'tss3'],
    publicKey: random(32),
    publicInfo: random(96),
    secretShare: random(32),
    ...overrides,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: ShareStoreErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ShareStoreError, `expected ShareStoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** Opens the store and reads `keyId`: one of the two must fail with one of `codes`. */
async function refusedAtOpenOrRead(
  dir: string,
  dek: Uint8Array,
  keyId: string,
  codes: ShareStoreErrorCode[],
): Promise<void> {
  let store: ShareStore | undefined;
  try {
    store = await ShareStore.open(dir, 'tss1', dek);
    await store.get(keyId);
    assert.fail(`reading ${keyId} succeeded`);
  } catch (err) {
    assert.ok(err instanceof ShareStoreError, `expected ShareStoreError, got ${String(err)}`);
    assert.ok(codes.includes(err.code), `${err.code}: ${err.message}`);
  } finally {
    await store?.close();
  }
}

/** Direct access to the LevelDB underneath, to play an attacker with write access to the disk. */
async function withRawDb<T>(dir: string, fn: (db: ClassicLevel<string, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The pattern in every encoding a careless implementation might have written it in. */
function encodingsOf(pattern: Uint8Array): Buffer[] {
  const b = Buffer.from(pattern);
  return [
    b,
    Buffer.from(b.toString('hex')),
    Buffer.from(b.toString('hex').toUpperCase()),
    Buffer.from(b.toString('base64').slice(0, 40)),
    Buffer.from(b.toString('base64url').slice(0, 40)),
    Buffer.from(JSON.stringify(Array.from(b))),
  ];
}

function filesContaining(dir: string, pattern: Uint8Array): string[] {
  const needles = encodingsOf(pattern);
  return allFiles(dir).filter((file) => {
    const content = readFileSync(file);
    return needles.some((needle) => content.includes(needle));
  });
}

describe('ShareStore', () => {
  test('stores, lists and returns shares; a refresh replaces a share', async () => {
    const dek = randomBytes(32);
    const store = await ShareStore.open(join(tempDir(), 'leveldb_tss1'), 'tss1', dek);
    try {
      const a = record('key-a');
      const b = record('key-b', { algo: 'BLS', threshold: 3, holders: ['tss2', 'tss1', 'tss4'] });
      await store.put(a);
      await store.put(b);
      await store.putSecret('paillier-0', randomBytes(64));
      assert.deepEqual(await store.get('key-a'), a);
      assert.deepEqual(await store.get('key-b'), b);
      assert.equal(await store.get('key-c'), undefined);
      assert.equal(await store.has('key-a'), true);
      assert.equal(await store.has('key-c'), false);
      assert.equal(await store.count(), 2);
      assert.deepEqual(await store.keyIds(), ['key-a', 'key-b']);
      const refreshed = record('key-a', { version: 2, publicKey: a.publicKey });
      await store.put(refreshed);
      assert.deepEqual(await store.get('key-a'), refreshed);
      assert.equal(await store.count(), 2);
    } finally {
      await store.close();
    }
  });

  test('shares survive a restart; another DEK cannot open the database', async () => {
    const dir = join(tempDir(), 'leveldb_tss1');
    const dek = randomBytes(32);
    const a = record('key-a');
    const first = await ShareStore.open(dir, 'tss1', dek);
    await first.put(a);
    await first.close();
    const second = await ShareStore.open(dir, 'tss1', Uint8Array.from(dek));
    assert.deepEqual(await second.get('key-a'), a);
    await second.close();
    await rejectsWith(ShareStore.open(dir, 'tss1', randomBytes(32)), 'WRONG_KEY');
    // The same DEK under another node's name does not open it either.
    await rejectsWith(ShareStore.open(dir, 'tss2', dek), 'WRONG_KEY');
  });

  test('a flipped bit in any part of a stored value is refused at unseal or read, never a wrong share', async () => {
    const dir = join(tempDir(), 'leveldb_tss1');
    const dek = randomBytes(32);
    const store = await ShareStore.open(dir, 'tss1', dek);
    await store.put(record('key-a'));
    await store.close();
    const original = await withRawDb(dir, async (db) => (await db.get('share/key-a'))!);
    // Format byte, each byte of the clear version, nonce ends, ciphertext ends and middle, tag ends.
    const end = original.length - 1;
    for (const i of [0, 1, 2, 3, 4, 5, 16, 17, Math.floor(end / 2), end - 16, end - 15, end]) {
      const corrupt = Uint8Array.from(original);
      corrupt[i] = (corrupt[i] as number) ^ 0x80;
      await withRawDb(dir, (db) => db.put('share/key-a', corrupt));
      // The clear version bytes disagree with the manifest; everything else fails authentication.
      await refusedAtOpenOrRead(dir, dek, 'key-a', i >= 1 && i <= 4 ? ['ROLLED_BACK'] : ['TAMPERED']);
    }
    for (const truncated of [original.subarray(0, 4), original.subarray(0, 20), new Uint8Array()]) {
      await withRawDb(dir, (db) => db.put('share/key-a', truncated));
      await refusedAtOpenOrRead(dir, dek, 'key-a', ['TAMPERED']);
    }
  });

  test('records swapped between key ids, or copied from another node, are TAMPERED', async () => {
    const home = tempDir();
    const dek = randomBytes(32); // one DEK on purpose: the AAD alone must tell the nodes apart
    const dir1 = shareDbPath(home, 'tss1');
    const dir2 = shareDbPath(home, 'tss2');
    const s1 = await ShareStore.open(dir1, 'tss1', dek);
    const s2 = await ShareStore.open(dir2, 'tss2', dek);
    await s1.put(record('key-a'));
    await s1.put(record('key-b'));
    await s2.put(record('key-c'));
    await s1.putSecret('blob-x', randomBytes(16));
    await s1.putSecret('blob-y', randomBytes(16));
    await s1.close();
    await s2.close();

    const fromOther = await withRawDb(dir2, async (db) => (await db.get('share/key-c'))!);
    const [a, b, x, y] = await withRawDb(dir1, (db) =>
      db.getMany(['share/key-a', 'share/key-b', 'secret/blob-x', 'secret/blob-y']),
    );
    await withRawDb(dir1, (db) =>
      db.batch([
        { type: 'put', key: 'share/key-a', value: b! },
        { type: 'put', key: 'share/key-b', value: a! },
        { type: 'put', key: 'secret/blob-x', value: y! },
      ]),
    );
    const store = await ShareStore.open(dir1, 'tss1', dek);
    try {
      for (const keyId of ['key-a', 'key-b']) await rejectsWith(store.get(keyId), 'TAMPERED');
      await rejectsWith(store.getSecret('blob-x'), 'TAMPERED');
      assert.equal((await store.getSecret('blob-y'))?.length, 16);
    } finally {
      await store.close();
    }
    // Records this node never wrote are not in its manifest: refused at unseal.
    for (const [keyId, value] of [
      ['key-c', fromOther],
      ['key-d', x!],
    ] as const) {
      await withRawDb(dir1, (db) => db.put(`share/${keyId}`, value));
      await rejectsWith(ShareStore.open(dir1, 'tss1', dek), 'TAMPERED');
      await withRawDb(dir1, (db) => db.del(`share/${keyId}`));
    }
  });

  test('no share, secret or DEK plaintext anywhere under the home directory', async () => {
    const home = tempDir();
    const dek = await createDekFile(dekFilePath(home, 'tss1'), 'tss1', Buffer.from('pw'), {
      kdf: { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 },
      allowWeakKdf: true,
    });
    // Random-looking, so LevelDB's snappy compression cannot hide a plaintext copy.
    const share = createHash('sha256').update('custos share canary').digest();
    const secret = createHash('sha256').update('custos secret canary').digest();
    const store = await ShareStore.open(shareDbPath(home, 'tss1'), 'tss1', dek);
    for (let i = 0; i < 50; i++) await store.put(record(`key-${i}`, { secretShare: Uint8Array.from(share) }));
    await store.putSecret('paillier', Uint8Array.from(secret));
    await store.close();
    // Reopening converts the write-ahead log into a table file: scan both generations.
    const reopened = await ShareStore.open(shareDbPath(home, 'tss1'), 'tss1', dek);
    assert.deepEqual((await reopened.get('key-7'))?.secretShare, new Uint8Array(share));
    await reopened.close();

    assert.ok(allFiles(home).some((f) => f.endsWith('.ldb') || f.endsWith('.log')));
    assert.deepEqual(filesContaining(home, share), []);
    assert.deepEqual(filesContaining(home, secret), []);
    assert.deepEqual(filesContaining(home, dek), []);

    // The scan itself must be able to see a plaintext value through LevelDB's files.
    const control = join(home, 'control');
    await withRawDb(control, (db) => db.put('k', share));
    assert.equal(filesContaining(control, share).length, 1);
  });

  test('secrets: stored encrypted, listed apart from shares, deletable', async () => {
    const store = await ShareStore.open(join(tempDir(), 'leveldb_tss2'), 'tss2', randomBytes(32));
    try {
      const blob = randomBytes(300);
      await store.putSecret('paillier-1', blob);
      assert.deepEqual(await store.getSecret('paillier-1'), new Uint8Array(blob));
      assert.equal(await store.count(), 0);
      assert.deepEqual(await store.keyIds(), []);
      await store.deleteSecret('paillier-1');
      assert.equal(await store.getSecret('paillier-1'), undefined);
    } finally {
      await store.close();
    }
  });

  test('refuses invalid records, ids and DEKs', async () => {
    const dir = join(tempDir(), 'leveldb_tss1');
    await rejectsWith(ShareStore.open(dir, 'tss1', randomBytes(16)), 'INVALID_ARGUMENT');
    await rejectsWith(ShareStore.open(dir, 'Bad/Id', randomBytes(32)), 'INVALID_ARGUMENT');
    const store = await ShareStore.open(dir, 'tss1', randomBytes(32));
    try {
      await rejectsWith(store.put(record('key-a', { holders: ['tss2', 'tss3'] })), 'INVALID_ARGUMENT');
      await rejectsWith(store.put(record('key-a', { threshold: 4 })), 'INVALID_ARGUMENT');
      await rejectsWith(store.put(record('key-a', { holders: ['tss1', 'tss1', 'tss2'] })), 'INVALID_ARGUMENT');
      await rejectsWith(store.put(record('../etc')), 'INVALID_ARGUMENT');
      await rejectsWith(store.get('a/b'), 'INVALID_ARGUMENT');
      await rejectsWith(store.putSecret('', new Uint8Array(1)), 'INVALID_ARGUMENT');
      assert.equal(await store.count(), 0);
    } finally {
      await store.close();
    }
  });

  test('a database with data but no DEK check is refused', async () => {
    const dir = join(tempDir(), 'leveldb_tss1');
    await withRawDb(dir, (db) => db.put('share/key-a', new Uint8Array(40)));
    await rejectsWith(ShareStore.open(dir, 'tss1', randomBytes(32)), 'TAMPERED');
  });

  test('opening a database another process holds fails with LOCKED', async () => {
    const dir = join(tempDir(), 'leveldb_tss1');
    await (await ShareStore.open(dir, 'tss1', randomBytes(32))).close();
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { ClassicLevel } from 'classic-level';
         const db = new ClassicLevel(${JSON.stringify(dir)});
         await db.open();
         process.stdout.write('open\\n');
         process.stdin.on('end', () => db.close());
         process.stdin.resume();`,
      ],
      { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      await once(holder.stdout, 'data');
      await rejectsWith(ShareStore.open(dir, 'tss1', randomBytes(32)), 'LOCKED');
    } finally {
      holder.stdin.end();
      await once(holder, 'exit');
    }
    assert.equal(statSync(dir).isDirectory(), true);
  });
});

describe('ShareStore: staged share versions (two-phase refresh)', () => {
  test('a staged version is kept beside the one in use, survives a restart, and becomes active only when named', async () => {
    const dir = tempDir();
    const dek = random(32);
    let store = await ShareStore.open(dir, 'tss1', dek);
    const v1 = record('key_a');
    await store.put(v1);
    const v2 = record('key_a', { version: 2 });
    await store.stage(v2);
    assert.deepEqual((await store.get('key_a'))!.secretShare, v1.secretShare);
    assert.equal(store.stagedVersion('key_a'), 2);
    assert.deepEqual((await store.getVersion('key_a', 2))!.secretShare, v2.secretShare);
    assert.deepEqual((await store.getVersion('key_a', 1))!.secretShare, v1.secretShare);
    assert.equal(await store.getVersion('key_a', 3), undefined);
    assert.deepEqual(await store.keyIds(), ['key_a']);
    // A crash here: both versions come back after the restart.
    await store.close();
    store = await ShareStore.open(dir, 'tss1', dek);
    assert.equal(store.activeVersion('key_a'), 1);
    assert.equal(store.stagedVersion('key_a'), 2);
    await rejectsWith(store.activate('key_a', 3), 'INVALID_ARGUMENT');
    assert.equal(await store.activate('key_a', 2), 'activated');
    assert.equal(await store.activate('key_a', 2), 'already-active');
    assert.deepEqual((await store.get('key_a'))!.secretShare, v2.secretShare);
    assert.equal(await store.getVersion('key_a', 1), undefined, 'the old version is erased');
    assert.equal(store.stagedVersion('key_a'), undefined);
    await store.close();
    store = await ShareStore.open(dir, 'tss1', dek);
    assert.equal((await store.get('key_a'))!.version, 2);
    await store.close();
  });

  test('a discarded stage leaves the version in use untouched; stages never go backwards', async () => {
    const dir = tempDir();
    const store = await ShareStore.open(dir, 'tss1', random(32));
    await store.put(record('key_b', { version: 3 }));
    await rejectsWith(store.stage(record('key_b', { version: 3 })), 'INVALID_ARGUMENT');
    await rejectsWith(store.stage(record('key_c', { version: 2 })), 'INVALID_ARGUMENT');
    await store.stage(record('key_b', { version: 4 }));
    assert.equal(await store.discard('key_b', 5), false);
    assert.equal(await store.discard('key_b', 4), true);
    assert.equal(store.stagedVersion('key_b'), undefined);
    assert.equal((await store.get('key_b'))!.version, 3);
    await rejectsWith(store.activate('key_b', 4), 'INVALID_ARGUMENT');
    await store.close();
  });

  test('a staged record deleted or rolled back on disk is refused at unseal', async () => {
    const dek = random(32);
    const deleted = tempDir();
    let store = await ShareStore.open(deleted, 'tss1', dek);
    await store.put(record('key_d'));
    await store.stage(record('key_d', { version: 2 }));
    await store.close();
    await withRawDb(deleted, (db) => db.del('staged/key_d'));
    await rejectsWith(ShareStore.open(deleted, 'tss1', dek), 'DELETED');

    const moved = tempDir();
    store = await ShareStore.open(moved, 'tss1', dek);
    await store.put(record('key_e'));
    await store.stage(record('key_e', { version: 2 }));
    await store.close();
    // The old version copied into the staged slot: same key id, older version.
    await withRawDb(moved, async (db) => db.put('staged/key_e', (await db.get('share/key_e'))!));
    await rejectsWith(ShareStore.open(moved, 'tss1', dek), 'ROLLED_BACK');
  });
});
