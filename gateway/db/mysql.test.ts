/**
 * The MySQL dialect against a real MariaDB: the same schema and query layer as SQLite, exercised
 * through the same code paths (migrations, sealed access keys, audit chain, key API).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { GenerateKeyRequestSchema } from '../../common/api/schemas.ts';
import { createAuditLog } from '../audit/audit-log.ts';
import { verifyAuditLog } from '../audit/verify.ts';
import { createAccessKeyStore } from '../auth/access-keys.ts';
import { auditRows, insertKey, keyCount, newNonce, signedRequest, startTestGateway } from '../testing/http-harness.ts';
import { requestHash } from '../keys/service.ts';
import { migrateToLatest, openDatabase } from './index.ts';
import { dropAuditTriggers } from '../testing/audit-tamper.ts';
import { mariadbAvailable, startMariaDb, type MariaDbServer } from '../../test/support/mariadb-server.ts';

describe('metadata database on MariaDB (MySQL dialect)', () => {
  let server: MariaDbServer;
  let n = 0;
  const freshUrl = () => server.createDatabase(`custos_t${++n}`);

  beforeAll(async () => {
    // A real server, never a skip: make test installs it (hack/setup.d/10-mariadb.sh).
    assert.ok(mariadbAvailable(), 'mariadbd is not installed: run hack/test-deps.sh');
    server = await startMariaDb();
  });
  afterAll(async () => server?.stop());

  test('migrations run twice; access key secrets are sealed in the table', async () => {
    const db = openDatabase({ url: await freshUrl(), home: '/nonexistent' });
    try {
      await migrateToLatest(db);
      await migrateToLatest(db);
      const store = createAccessKeyStore(db, randomBytes(32));
      await store.upsert({
        accessKey: 'AK_my',
        secretKey: 'mysql-secret-value',
        enabled: true,
        allowedCidrs: ['::1'],
      });
      assert.equal((await store.get('AK_my'))?.secretKey, 'mysql-secret-value');
      assert.equal(await store.get('ak_my'), undefined, 'ids compare byte for byte');
      const raw = await db.selectFrom('access_keys').selectAll().execute();
      assert.ok(!JSON.stringify(raw).includes('mysql-secret-value'));
    } finally {
      await db.destroy();
    }
  });

  test('audit chain: concurrent appends, verification, tamper detection', async () => {
    const db = openDatabase({ url: await freshUrl(), home: '/nonexistent' });
    try {
      await migrateToLatest(db);
      const audit = createAuditLog({ db, signingKey: randomBytes(32), checkpointEvery: 5 });
      await Promise.all(
        Array.from({ length: 12 }, (_, i) => audit.record({ operation: 'KEY_SIGN', result: 'SUCCESS', durationMs: i })),
      );
      const opts = { publicKeyHex: audit.publicKeyHex, checkpointEvery: 5 };
      assert.deepEqual(await verifyAuditLog(db, opts), { ok: true, entries: 12, checkpoints: 2 });
      assert.equal(await audit.length(), 12);
      await assert.rejects(
        db.updateTable('audit_log').set({ duration_ms: 999 }).where('seq', '=', 7).execute(),
        /append-only: UPDATE refused/,
      );
      await assert.rejects(db.deleteFrom('audit_log').where('seq', '=', 3).execute(), /append-only: DELETE refused/);
      await assert.rejects(db.deleteFrom('audit_checkpoints').execute(), /append-only: DELETE refused/);
      assert.deepEqual(await verifyAuditLog(db, opts), { ok: true, entries: 12, checkpoints: 2 });
      await dropAuditTriggers(db);
      await db.updateTable('audit_log').set({ duration_ms: 999 }).where('seq', '=', 7).execute();
      assert.equal(((await verifyAuditLog(db, opts)) as { firstBadSeq: number }).firstBadSeq, 7);
      await db.deleteFrom('audit_log').where('seq', '=', 3).execute();
      assert.equal(((await verifyAuditLog(db, opts)) as { firstBadSeq: number }).firstBadSeq, 3);
    } finally {
      await db.destroy();
    }
  });

  test('key API over MySQL: list, filters, status, idempotency, auth, bad input', async () => {
    const gw = await startTestGateway({}, await freshUrl());
    try {
      const made = [];
      for (let i = 0; i < 3; i++) {
        made.push(await insertKey(gw.db, { label: 'Team', created_at: `2030-01-01T00:00:0${i}.000Z` }));
      }
      await insertKey(gw.db, { label: 'team' });
      const page1 = (await signedRequest(gw, 'GET', '/api/v1/keys?limit=2&label=Team')).json();
      const page2 = (
        await signedRequest(gw, 'GET', `/api/v1/keys?limit=2&label=Team&cursor=${page1.next_cursor}`)
      ).json();
      assert.deepEqual(
        [...page1.keys, ...page2.keys].map((k: { key_id: string }) => k.key_id),
        [made[2]!.key_id, made[1]!.key_id, made[0]!.key_id],
      );
      assert.equal(page2.next_cursor, null);

      const key = made[0]!;
      const put = (status: string) =>
        signedRequest(gw, 'PUT', `/api/v1/keys/${key.key_id}/status`, { body: { status } });
      assert.equal((await put('FROZEN')).statusCode, 200);
      const refused = await signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/sign`, {
        body: { data: '0x01', data_type: 'RAW' },
      });
      assert.equal(refused.json().error.code, 'KEY_NOT_ACTIVE');
      assert.equal((await put('ARCHIVED')).statusCode, 200);
      assert.equal((await put('ACTIVE')).statusCode, 409);
      const got = (await signedRequest(gw, 'GET', `/api/v1/keys/${key.key_id}`)).json();
      assert.equal(got.status, 'ARCHIVED');
      assert.deepEqual(got.shard_nodes, ['tss1', 'tss2', 'tss3']);

      const body = { format: { algo_type: 'EDDSA' } };
      const stored = await insertKey(gw.db, {
        idempotency_key: 'idem-1',
        request_hash: requestHash(GenerateKeyRequestSchema.parse({ format: { algo_type: 'EDDSA', curve: 'ED25519' } })),
      });
      const replay = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
        body,
        headers: { 'idempotency-key': 'idem-1' },
      });
      assert.equal(replay.statusCode, 200, replay.body);
      assert.equal(replay.json().key_id, stored.key_id);
      const other = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
        body: { ...body, label: 'x' },
        headers: { 'idempotency-key': 'idem-1' },
      });
      assert.equal(other.statusCode, 409);

      const nonce = newNonce();
      assert.equal((await signedRequest(gw, 'GET', '/api/v1/keys', { nonce })).statusCode, 200);
      assert.equal((await signedRequest(gw, 'GET', '/api/v1/keys', { nonce })).statusCode, 401);

      const before = await keyCount(gw.db);
      const bad = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
        body: { format: { algo_type: 'EDDSA' }, shard_properties: { shard_count: 3, threshold: 4 } },
      });
      assert.equal(bad.json().error.code, 'INVALID_SHARD_PROPERTIES');
      assert.equal(await keyCount(gw.db), before);
      const rows = await auditRows(gw.db);
      assert.deepEqual(
        rows.map((r) => r.seq),
        rows.map((_, i) => i + 1),
      );
      assert.equal(rows.at(-1)!.error_code, 'INVALID_SHARD_PROPERTIES');
      assert.equal(rows.find((r) => r.error_code === 'UNAUTHENTICATED')?.operation, 'AUTH_REJECTED');
    } finally {
      await gw.close();
    }
  });
});
