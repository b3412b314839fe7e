import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { startTestGateway, type TestGateway } from '../testing/http-harness.ts';
import { adminAccessKeyGate } from './admin-access-keys.ts';
import { createApprovalService } from './service.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => gw.close());

test('an admin access key is created only once another approver approved, exactly once', async () => {
  const approvals = createApprovalService({ db: gw.db, audit: gw.audit, expirySeconds: 600 });
  const gate = adminAccessKeyGate(approvals, 1);
  const created: string[] = [];
  gate.onApproved(async (payload, requester) => {
    created.push(`${String(payload.name)} by ${requester}`);
    return { access_key: 'AK_new_admin' };
  });
  const ctx = (userId: string) => ({ requestId: 'req_test', userId, trail: {} });
  const pending = await gate.request({ name: 'ops-admin', roles: ['admin'] }, { ...ctx('alice'), reason: 'on-call' });
  assert.equal(pending.operation, 'ACCESS_KEY_CREATE');
  assert.equal(pending.status, 'PENDING');
  assert.deepEqual(created, []);
  await assert.rejects(approvals.decide(pending.approval_id, 'APPROVE', null, ctx('alice')), { status: 403 });
  const done = await approvals.decide(pending.approval_id, 'APPROVE', null, ctx('bob'));
  assert.equal(done.status, 'EXECUTED');
  assert.deepEqual(done.result, { access_key: 'AK_new_admin' });
  await approvals.execute(pending.approval_id, ctx('carol'));
  assert.deepEqual(created, ['ops-admin by alice']);
});
