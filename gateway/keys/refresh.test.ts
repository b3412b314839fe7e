import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { eventually } from '../../test/support/eventually.ts';
import { MpcSessionError } from '../coordinator/types.ts';
import { nowIso } from '../db/index.ts';
import { auditRows, insertKey, signedRequest, startTestGateway, type TestGateway } from '../testing/http-harness.ts';
import { newOperationId } from './refresh.ts';

describe('POST /api/v1/keys/{key_id}/refresh', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw.close());

  async function expectError(res: Awaited<ReturnType<typeof signedRequest>>, status: number, code: string) {
    assert.equal(res.statusCode, status, res.body);
    assert.equal((res.json() as { error: { code: string } }).error.code, code);
  }

  test('frozen, archived and unknown keys are refused with their codes, before any session', async () => {
    const frozen = await insertKey(gw.db, { status: 'FROZEN' });
    const archived = await insertKey(gw.db, { status: 'ARCHIVED' });
    await expectError(await signedRequest(gw, 'POST', `/api/v1/keys/${frozen.key_id}/refresh`), 409, 'KEY_FROZEN');
    await expectError(await signedRequest(gw, 'POST', `/api/v1/keys/${archived.key_id}/refresh`), 409, 'KEY_ARCHIVED');
    await expectError(await signedRequest(gw, 'POST', `/api/v1/keys/key_${'0'.repeat(32)}/refresh`), 404, 'NOT_FOUND');
    await expectError(await signedRequest(gw, 'POST', '/api/v1/keys/nope/refresh'), 400, 'VALIDATION_FAILED');
    await expectError(await signedRequest(gw, 'GET', `/api/v1/operations/${newOperationId()}`), 404, 'NOT_FOUND');
    await expectError(await signedRequest(gw, 'GET', '/api/v1/operations/op_1'), 400, 'VALIDATION_FAILED');
    assert.equal(gw.coordinator.refreshCalls.length, 0);
  });

  test('202 with an operation that ends FAILED with the reason; the key keeps its share version', async () => {
    gw.coordinator.failure = new MpcSessionError('tss2 dropped the session', 'tss2', 'unavailable');
    const key = await insertKey(gw.db);
    const res = await signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/refresh`);
    assert.equal(res.statusCode, 202, res.body);
    const op = res.json() as { operation_id: string; status: string; from_version: number; to_version: number };
    assert.equal(op.status, 'PENDING');
    assert.deepEqual([op.from_version, op.to_version], [1, 2]);
    assert.equal(res.headers.location, `/api/v1/operations/${op.operation_id}`);
    const done = await eventually(
      'the refresh to fail',
      async () => {
        const got = (await signedRequest(gw, 'GET', `/api/v1/operations/${op.operation_id}`)).json() as {
          status: string;
          reason: string;
        };
        return got.status === 'FAILED' ? got : undefined;
      },
      10_000,
    );
    assert.match(done.reason, /tss2 dropped the session/);
    const row = await gw.db.selectFrom('keys').selectAll().where('key_id', '=', key.key_id).executeTakeFirstOrThrow();
    assert.equal(Number(row.share_version), 1);
    const audited = (await auditRows(gw.db)).filter((r) => r.operation === 'KEY_REFRESH' && r.key_id === key.key_id);
    assert.deepEqual(
      audited.map((r) => r.result),
      ['FAILURE'],
    );
  });

  test('a second refresh while one is running is refused with OPERATION_IN_PROGRESS', async () => {
    const key = await insertKey(gw.db);
    const now = nowIso();
    await gw.db
      .insertInto('key_operations')
      .values({
        operation_id: newOperationId(),
        kind: 'REFRESH',
        key_id: key.key_id,
        status: 'RUNNING',
        reason: null,
        from_version: 1,
        to_version: 2,
        decided: 1,
        request_id: null,
        user_id: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await expectError(
      await signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/refresh`),
      409,
      'OPERATION_IN_PROGRESS',
    );
  });
});
