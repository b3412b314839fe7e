import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { createAccessKeyStore, provisionBootstrapKey } from '../auth/access-keys.ts';
import { migrateToLatest, openDatabase, type Db } from './index.ts';

describe('metadata database (SQLite)', () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-db-'));
    db = openDatabase({ home: dir });
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('migrations are idempotent and create every table', async () => {
    await migrateToLatest(db);
    const tables = (await db.introspection.getTables()).map((t) => t.name).sort();
    for (const t of ['access_keys', 'audit_checkpoints', 'audit_log', 'keys']) assert.ok(tables.includes(t), t);
  });

  test('access key secrets are sealed: the plaintext is in no file on disk', async () => {
    const secret = `sk_${randomBytes(24).toString('hex')}`;
    const store = createAccessKeyStore(db, randomBytes(32));
    await store.upsert({ accessKey: 'AK_disk', secretKey: secret, enabled: true, allowedCidrs: ['10.0.0.0/8'] });
    assert.equal((await store.get('AK_disk'))?.secretKey, secret);
    const gwDir = join(dir, 'gateway');
    const files = readdirSync(gwDir);
    assert.ok(files.includes('custos.db'));
    assert.ok(files.includes('custos.db-wal'), 'WAL mode');
    assert.equal(statSync(join(gwDir, 'custos.db')).mode & 0o777, 0o600);
    for (const f of files) {
      const bytes = readFileSync(join(gwDir, f));
      assert.equal(bytes.indexOf(Buffer.from(secret)), -1, `${f} holds the secret`);
      assert.equal(bytes.indexOf(Buffer.from(Buffer.from(secret).toString('base64'))), -1);
    }
  });

  test('a sealed secret moved to another row or read under another master key does not open', async () => {
    const master = randomBytes(32);
    const store = createAccessKeyStore(db, master);
    await store.upsert({ accessKey: 'AK_a', secretKey: 'secret-a', enabled: true, allowedCidrs: [] });
    await store.upsert({ accessKey: 'AK_b', secretKey: 'secret-b', enabled: true, allowedCidrs: [] });
    const a = await db
      .selectFrom('access_keys')
      .select('secret_key_enc')
      .where('access_key', '=', 'AK_a')
      .executeTakeFirstOrThrow();
    await db
      .updateTable('access_keys')
      .set({ secret_key_enc: a.secret_key_enc })
      .where('access_key', '=', 'AK_b')
      .execute();
    await assert.rejects(store.get('AK_b'));
    await assert.rejects(createAccessKeyStore(db, randomBytes(32)).get('AK_a'));
    assert.equal((await store.get('AK_a'))?.secretKey, 'secret-a');
  });

  test('upsert replaces the secret and flags of an existing key', async () => {
    const store = createAccessKeyStore(db, randomBytes(32));
    await store.upsert({ accessKey: 'AK_up', secretKey: 'one', enabled: true, allowedCidrs: [] });
    await store.upsert({ accessKey: 'AK_up', secretKey: 'two', enabled: false, allowedCidrs: ['::1/128'] });
    const { createdAt, ...got } = (await store.get('AK_up'))!;
    assert.match(createdAt, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(got, {
      accessKey: 'AK_up',
      secretKey: 'two',
      enabled: false,
      allowedCidrs: ['::1/128'],
      description: null,
      roles: ['admin'],
      name: null,
      scopes: [],
    });
  });

  test('bootstrap credentials are upserted, keeping an operator-set allow-list and enabled flag', async () => {
    const store = createAccessKeyStore(db, randomBytes(32));
    const file = join(dir, 'bootstrap.json');
    writeFileSync(
      file,
      JSON.stringify({ base_url: 'http://x', access_key: 'AK_boot', secret_key: 'first-secret-0123' }),
    );
    assert.equal(await provisionBootstrapKey(store, file), 'AK_boot');
    assert.equal((await store.get('AK_boot'))?.enabled, true);
    await store.upsert({
      accessKey: 'AK_boot',
      secretKey: 'first-secret-0123',
      enabled: false,
      allowedCidrs: ['10.0.0.0/8'],
    });
    writeFileSync(file, JSON.stringify({ access_key: 'AK_boot', secret_key: 'second-secret-456' }));
    await provisionBootstrapKey(store, file);
    const key = await store.get('AK_boot');
    assert.deepEqual([key?.secretKey, key?.enabled, key?.allowedCidrs], ['second-secret-456', false, ['10.0.0.0/8']]);
    writeFileSync(file, JSON.stringify({ access_key: 'AK_boot' }));
    await assert.rejects(provisionBootstrapKey(store, file));
  });
});
