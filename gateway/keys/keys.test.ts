import assert from 'node:assert/strict';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { GenerateKeyRequestSchema } from '../../common/api/schemas.ts';
import {
  auditRows,
  insertKey,
  keyCount,
  signedRequest,
  startTestGateway,
  type TestGateway,
} from '../testing/http-harness.ts';
import { requestHash } from './service.ts';

const BODY = { format: { curve: 'ED25519', algo_type: 'EDDSA' }, label: 'hot-wallet' };

describe('key lifecycle', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ mpc_timeout_ms: 200 });
  });
  afterAll(async () => gw.close());

  test('idempotent generate: same header and body returns the stored key with 200; another body is 409', async () => {
    const stored = await insertKey(gw.db, {
      label: 'hot-wallet',
      idempotency_key: 'order-42',
      request_hash: requestHash(GenerateKeyRequestSchema.parse(BODY)),
    });
    const before = await keyCount(gw.db);
    const replay = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
      body: BODY,
      headers: { 'idempotency-key': 'order-42' },
    });
    assert.equal(replay.statusCode, 200, replay.body);
    assert.equal(replay.json().key_id, stored.key_id);
    // The implied curve: naming only algo_type EDDSA is the same request as naming ED25519 too.
    const implied = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
      body: { format: { algo_type: 'EDDSA' }, label: 'hot-wallet' },
      headers: { 'idempotency-key': 'order-42' },
    });
    assert.equal(implied.statusCode, 200, implied.body);

    const conflict = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
      body: { ...BODY, label: 'cold-wallet' },
      headers: { 'idempotency-key': 'order-42' },
    });
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.json().error.code, 'CONFLICT');
    assert.equal(await keyCount(gw.db), before);
    assert.equal(gw.coordinator.keygenCalls.length, 0);
  });

  test('a concurrent generate with the same Idempotency-Key and another body is 409 while the first runs', async () => {
    gw.coordinator.hang = true;
    try {
      const first = signedRequest(gw, 'POST', '/api/v1/keys/generate', {
        body: BODY,
        headers: { 'idempotency-key': 'order-43' },
      });
      await new Promise((r) => setImmediate(r));
      const second = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
        body: { ...BODY, label: 'other' },
        headers: { 'idempotency-key': 'order-43' },
      });
      assert.equal(second.statusCode, 409, second.body);
      assert.equal((await first).statusCode, 503);
    } finally {
      gw.coordinator.hang = false;
    }
  });

  test('listing: cursor pagination, newest first, label and status filters', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        await insertKey(gw.db, {
          label: i % 2 ? 'odd' : 'even',
          status: i === 4 ? 'FROZEN' : 'ACTIVE',
          created_at: `2030-01-01T00:00:0${i}.000Z`,
        }),
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/keys?limit=2&label=${cursor ? 'even&cursor=' + cursor : 'even'}`;
      const res = await signedRequest(gw, 'GET', url);
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json();
      seen.push(...page.keys.map((k: { key_id: string }) => k.key_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, [made[4]!.key_id, made[2]!.key_id, made[0]!.key_id]);
    assert.equal(pages, 2);

    const frozen = (await signedRequest(gw, 'GET', '/api/v1/keys?status=FROZEN')).json();
    assert.deepEqual(
      frozen.keys.map((k: { key_id: string }) => k.key_id),
      [made[4]!.key_id],
    );
    const bad = await signedRequest(gw, 'GET', '/api/v1/keys?cursor=bogus');
    assert.equal(bad.statusCode, 400);
    const badLimit = await signedRequest(gw, 'GET', '/api/v1/keys?limit=1000');
    assert.equal(badLimit.statusCode, 400);
  });

  test('get returns the key in the API shape', async () => {
    const row = await insertKey(gw.db, { label: 'shape' });
    const res = await signedRequest(gw, 'GET', `/api/v1/keys/${row.key_id}`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      key_id: row.key_id,
      label: 'shape',
      status: 'ACTIVE',
      format: { type: 'ECC', curve: 'ED25519', algo_type: 'EDDSA', size: 32 },
      shard_properties: { shard_count: 3, threshold: 2 },
      public_key: row.public_key,
      address: 'addr',
      addresses: { SOLANA: 'addr' },
      shard_nodes: ['tss1', 'tss2', 'tss3'],
      created_at: row.created_at,
      updated_at: row.updated_at,
    });
  });

  test('status transitions: freeze refuses sign, unfreeze, archive is final', async () => {
    const key = await insertKey(gw.db);
    const setStatus = (status: string) =>
      signedRequest(gw, 'PUT', `/api/v1/keys/${key.key_id}/status`, { body: { status, reason: 'test' } });
    const sign = () =>
      signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/sign`, { body: { data: '0x01', data_type: 'RAW' } });

    const frozen = await setStatus('FROZEN');
    assert.equal(frozen.statusCode, 200);
    assert.equal(frozen.json().status, 'FROZEN');
    const refused = await sign();
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().error.code, 'KEY_NOT_ACTIVE');
    assert.equal(gw.coordinator.signCalls.length, 0);

    assert.equal((await setStatus('ACTIVE')).json().status, 'ACTIVE');
    assert.equal((await setStatus('ARCHIVED')).json().status, 'ARCHIVED');
    const archivedSign = await sign();
    assert.equal(archivedSign.json().error.code, 'KEY_NOT_ACTIVE');
    for (const status of ['ACTIVE', 'FROZEN']) {
      const res = await setStatus(status);
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().error.code, 'CONFLICT');
    }
    const changes = (await auditRows(gw.db)).filter(
      (r) => r.operation === 'KEY_STATUS_CHANGE' && r.key_id === key.key_id,
    );
    assert.deepEqual(
      changes.map((r) => JSON.parse(r.audit_trail).to),
      ['FROZEN', 'ACTIVE', 'ARCHIVED'],
    );
    const stored = await gw.db
      .selectFrom('keys')
      .select('status')
      .where('key_id', '=', key.key_id)
      .executeTakeFirstOrThrow();
    assert.equal(stored.status, 'ARCHIVED');
  });

  test('bad status value: 400 VALIDATION_FAILED', async () => {
    const key = await insertKey(gw.db);
    const res = await signedRequest(gw, 'PUT', `/api/v1/keys/${key.key_id}/status`, { body: { status: 'DELETED' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
  });
});
