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

  test('two replicas appending at once: no insert fails, the chain never forks, timer checkpoints agree', async () => {
    const url = await freshUrl();
    const dbs = [openDatabase({ url, home: '/nonexistent' }), openDatabase({ url, home: '/nonexistent' })];
    try {
      await migrateToLatest(dbs[0]!);
      const signingKey = randomBytes(32);
      const logs = dbs.map((db) => createAuditLog({ db, signingKey, checkpointEvery: 7 }));
      const writes = logs.flatMap((log, r) =>
        Array.from({ length: 40 }, (_, i) =>
          i % 10 === 9
            ? log.sealHead()
            : log.record({ operation: 'KEY_SIGN', result: 'SUCCESS', nodeId: `r${r}-${i}` }),
        ),
      );
      const settled = await Promise.allSettled(writes);
      assert.deepEqual(
        settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason)),
        [],
      );
      const seqs = (await dbs[0]!.selectFrom('audit_log').select('seq').orderBy('seq').execute()).map((r) =>
        Number(r.seq),
      );
      assert.deepEqual(
        seqs,
        Array.from({ length: 72 }, (_, i) => i + 1),
      );
      const verified = await verifyAuditLog(dbs[1]!, { publicKeyHex: logs[0]!.publicKeyHex, checkpointEvery: 7 });
      assert.equal(verified.ok, true, JSON.stringify(verified));
    } finally {
      for (const db of dbs) await db.destroy();
    }
  });

  test('access keys, scopes, rotation and the audit query over MySQL', async () => {
    const gw = await startTestGateway({}, await freshUrl());
    try {
      const created = await signedRequest(gw, 'POST', '/api/v1/access-keys', {
        body: {
          name: 'my',
          roles: ['signer', 'auditor'],
          scopes: [{ label: 'Team' }],
          allowed_cidrs: ['::1', '127.0.0.0/8'],
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const as = { accessKey: created.json().access_key, secretKey: created.json().secret_key };
      const inside = await insertKey(gw.db, { label: 'Team' });
      const outside = await insertKey(gw.db, { label: 'team' });
      assert.equal((await signedRequest(gw, 'GET', `/api/v1/keys/${inside.key_id}`, as)).statusCode, 200);
      assert.equal((await signedRequest(gw, 'GET', `/api/v1/keys/${outside.key_id}`, as)).statusCode, 403);
      const rotated = await signedRequest(gw, 'POST', `/api/v1/access-keys/${as.accessKey}/rotate`, { body: {} });
      assert.equal(rotated.statusCode, 200, rotated.body);
      assert.equal(
        (await signedRequest(gw, 'GET', '/api/v1/keys', as)).statusCode,
        200,
        'old secret in its grace period',
      );
      const fresh = { ...as, secretKey: rotated.json().secret_key };
      const page1 = (await signedRequest(gw, 'GET', '/api/v1/audit?operation=CONFIG_CHANGE&limit=1', fresh)).json();
      assert.equal(page1.items[0].audit_trail.change, 'CREATE');
      const page2 = (
        await signedRequest(
          gw,
          'GET',
          `/api/v1/audit?operation=CONFIG_CHANGE&limit=1&cursor=${page1.next_cursor}`,
          fresh,
        )
      ).json();
      assert.equal(page2.items[0].audit_trail.change, 'ROTATE');
      const verify = (await signedRequest(gw, 'GET', '/api/v1/audit/verify', fresh)).json();
      assert.equal(verify.ok, true, JSON.stringify(verify));
    } finally {
      await gw.close();
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
