/**
 * Policies, approvals and key destruction through the gateway's HTTP API, on a real SQLite file
 * with the real audit log and auth. MPC sessions are scripted (http-harness.ts); signing and
 * destruction against real node processes are in test/integration/key-destruction.test.ts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import {
  ACCESS_KEY,
  auditRows,
  healthyNodes,
  insertKey,
  signedRequest,
  startTestGateway,
  type TestGateway,
} from '../testing/http-harness.ts';
import type { Role } from '../auth/roles.ts';
import { MpcSessionError } from '../coordinator/types.ts';

const PEOPLE: Record<string, Role[]> = {
  AK_approver_1: ['approver'],
  AK_approver_2: ['approver'],
  AK_approver_3: ['approver'],
  AK_signer: ['signer'],
  AK_auditor: ['auditor'],
};
const secretOf = (ak: string) => `sk_${ak}_secret_value_0001`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
  for (const [accessKey, roles] of Object.entries(PEOPLE)) {
    await gw.accessKeys.upsert({ accessKey, secretKey: secretOf(accessKey), enabled: true, allowedCidrs: [], roles });
  }
});
afterAll(async () => gw.close());
beforeEach(async () => {
  gw.coordinator.health_ = healthyNodes();
  gw.coordinator.failure = new MpcSessionError('no cluster in unit tests', undefined, 'unavailable');
  gw.coordinator.confirmingHolders = new Set();
  gw.coordinator.signCalls = [];
  await gw.db.deleteFrom('policies').execute();
});

/** A request as `who` (the harness's admin key by default). */
const as = (who: string | undefined, method: string, url: string, body?: unknown) =>
  signedRequest(gw, method, url, {
    ...(body === undefined ? {} : { body }),
    ...(who && who !== ACCESS_KEY ? { accessKey: who, secretKey: secretOf(who) } : {}),
  });

async function createPolicy(doc: unknown) {
  const res = await as(undefined, 'POST', '/api/v1/policies', doc);
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

const approve = (id: string, who: string, reason?: string) =>
  as(who, 'POST', `/api/v1/approvals/${id}/approve`, reason ? { reason } : undefined);

describe('policies API', () => {
  test('create, list, get, update, delete; every change audited as CONFIG_CHANGE', async () => {
    const doc = {
      name: 'no-weekend',
      rules: [{ id: 'r1', match: { time_window: { days: ['SAT', 'SUN'] } }, action: 'deny' }],
    };
    const created = await createPolicy(doc);
    assert.match(created.policy_id, /^pol_[0-9a-f]{32}$/);
    assert.equal(created.version, 1);
    assert.equal(created.document.rules[0].operations[0], 'KEY_SIGN', 'defaults applied');
    const list = (await as(undefined, 'GET', '/api/v1/policies')).json();
    assert.deepEqual(
      list.policies.map((p: { policy_id: string }) => p.policy_id),
      [created.policy_id],
    );
    assert.equal(
      (await as('AK_auditor', 'GET', `/api/v1/policies/${created.policy_id}`)).json().document.name,
      'no-weekend',
    );
    const dup = await as(undefined, 'POST', '/api/v1/policies', doc);
    assert.equal(dup.statusCode, 409);
    const updated = await as(undefined, 'PUT', `/api/v1/policies/${created.policy_id}`, { ...doc, enabled: false });
    assert.equal(updated.statusCode, 200, updated.body);
    assert.equal(updated.json().version, 2);
    assert.equal(updated.json().document.enabled, false);
    const signerTry = await as('AK_signer', 'DELETE', `/api/v1/policies/${created.policy_id}`);
    assert.equal(signerTry.statusCode, 403);
    const del = await as(undefined, 'DELETE', `/api/v1/policies/${created.policy_id}`);
    assert.equal(del.statusCode, 204);
    assert.equal((await as(undefined, 'GET', `/api/v1/policies/${created.policy_id}`)).statusCode, 404);
    const changes = (await auditRows(gw.db)).filter((r) => r.operation === 'CONFIG_CHANGE');
    assert.deepEqual(
      changes.slice(-3).map((r) => JSON.parse(r.audit_trail).change),
      ['create', 'update', 'delete'],
    );
  });

  test('any document, valid or not: never a 5xx, a refused one changes nothing, an accepted one is stored whole (property)', async () => {
    const rule = fc.record(
      {
        id: fc.oneof(fc.constantFrom('r1', 'r2', 'r3'), fc.string({ maxLength: 70 })),
        operations: fc.array(fc.constantFrom('KEY_SIGN', 'KEY_STATUS_CHANGE', 'KEY_DESTROY', 'POLICY_CHANGE', 'NOPE'), {
          maxLength: 3,
        }),
        match: fc.record(
          {
            labels: fc.array(fc.constantFrom('treasury', 'ops', '', 'a b'), { maxLength: 2 }),
            data_types: fc.array(fc.constantFrom('HASH', 'EIP712', 'BOGUS'), { maxLength: 2 }),
            time_window: fc.record({
              from: fc.constantFrom('09:00', '25:00', '23:59'),
              to: fc.constantFrom('17:00', 'x'),
            }),
          },
          { requiredKeys: [] },
        ),
        conditions: fc.record(
          {
            velocity: fc.record({
              per: fc.constantFrom('key', 'access_key', 'moon'),
              window_seconds: fc.integer({ min: -5, max: 4_000_000 }),
              max: fc.integer({ min: -1, max: 10 }),
            }),
            eip191_message_matches: fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 }),
          },
          { requiredKeys: [] },
        ),
        action: fc.constantFrom('allow', 'deny', 'require_approval', 'maybe'),
        approval: fc.record(
          {
            required: fc.integer({ min: 0, max: 4 }),
            approvers: fc.uniqueArray(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }),
          },
          { requiredKeys: ['required'] },
        ),
      },
      { requiredKeys: ['id', 'action'] },
    );
    const doc = fc.oneof(
      fc.record(
        {
          name: fc.oneof(fc.constantFrom('p1', 'p2', 'p3'), fc.string({ maxLength: 5 })),
          rules: fc.array(rule, { maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    );
    await fc.assert(
      fc.asyncProperty(doc, async (body) => {
        const before = await gw.db.selectFrom('policies').selectAll().execute();
        const res = await as(undefined, 'POST', '/api/v1/policies', body === undefined ? null : body);
        assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
        const after = await gw.db.selectFrom('policies').selectAll().execute();
        if (res.statusCode === 201) {
          assert.equal(after.length, before.length + 1);
          const stored = after.find((r) => r.policy_id === res.json().policy_id)!;
          assert.deepEqual(JSON.parse(stored.document), res.json().document);
        } else {
          assert.ok([400, 409].includes(res.statusCode), `${res.statusCode} ${res.body}`);
          assert.deepEqual(after, before, 'a refused document left the table as it was');
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});

describe('sign policies', () => {
  test('whatever valid policies are loaded, governed requests never answer 5xx (property)', async () => {
    const key = await insertKey(gw.db, { label: 'treasury/hot' });
    const rule = fc.record({
      id: fc.constantFrom('a', 'b', 'c'),
      operations: fc.constantFrom(
        ['KEY_SIGN'],
        ['KEY_STATUS_CHANGE'],
        ['KEY_DESTROY'],
        ['KEY_STATUS_CHANGE', 'KEY_DESTROY'],
      ),
      match: fc.record(
        {
          label_prefixes: fc.constant(['treasury/']),
          access_keys: fc.constantFrom([ACCESS_KEY], ['AK_other']),
          time_window: fc.record({ from: fc.constantFrom('00:00', '12:00'), to: fc.constantFrom('06:00', '23:59') }),
        },
        { requiredKeys: [] },
      ),
      action: fc.constantFrom('allow' as const, 'deny' as const, 'require_approval' as const),
      velocity: fc.option(
        fc.record({
          per: fc.constantFrom('key', 'access_key'),
          window_seconds: fc.integer({ min: 1, max: 600 }),
          max: fc.integer({ min: 0, max: 3 }),
        }),
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(rule, { minLength: 1, maxLength: 3, selector: (r) => r.id }), async (rules) => {
        await gw.db.deleteFrom('policies').execute();
        const doc = {
          name: 'prop-sign',
          rules: rules.map(({ velocity, ...r }) => ({
            ...r,
            ...(velocity && r.operations.length === 1 && r.operations[0] === 'KEY_SIGN'
              ? { conditions: { velocity } }
              : {}),
            ...(r.action === 'require_approval' ? { approval: { required: 1 } } : {}),
          })),
        };
        const created = await as(undefined, 'POST', '/api/v1/policies', doc);
        assert.equal(created.statusCode, 201, created.body);
        const sign = await as(undefined, 'POST', `/api/v1/keys/${key.key_id}/sign`, { data: '0x01', data_type: 'RAW' });
        assert.ok([202, 403, 503].includes(sign.statusCode), sign.body);
        const status = await as(undefined, 'PUT', `/api/v1/keys/${key.key_id}/status`, { status: 'ACTIVE' });
        assert.ok([200, 202, 403].includes(status.statusCode), status.body);
        await gw.db.deleteFrom('approvals').where('key_id', '=', key.key_id).execute();
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  test('deny: 403 POLICY_DENIED before any MPC, audited with the rule', async () => {
    const key = await insertKey(gw.db, { label: 'treasury/cold' });
    await createPolicy({
      name: 'cold',
      rules: [{ id: 'no-cold', match: { label_prefixes: ['treasury/'] }, action: 'deny' }],
    });
    const res = await as(undefined, 'POST', `/api/v1/keys/${key.key_id}/sign`, { data: '0x01', data_type: 'RAW' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'POLICY_DENIED');
    assert.match(res.json().error.message, /cold\/no-cold/);
    assert.equal(gw.coordinator.signCalls.length, 0);
    const audited = (await auditRows(gw.db)).filter((r) => r.request_id === res.json().error.request_id);
    assert.equal(audited.length, 1);
    assert.equal(audited[0]!.operation, 'KEY_SIGN');
    assert.equal(audited[0]!.result, 'REJECTED');
    assert.deepEqual(JSON.parse(audited[0]!.audit_trail).policy, { action: 'deny', rules: ['cold/no-cold:deny'] });
  });

  test('velocity per key is shared by two gateway replicas on one database', async () => {
    const key = await insertKey(gw.db);
    await createPolicy({
      name: 'slow',
      rules: [
        { id: 'two-per-minute', conditions: { velocity: { per: 'key', window_seconds: 60, max: 2 } }, action: 'deny' },
      ],
    });
    const replica = await gw.replica();
    try {
      const sign = (app: 'a' | 'b') =>
        signedRequest(app === 'a' ? gw : replica, 'POST', `/api/v1/keys/${key.key_id}/sign`, {
          body: { data: '0x01', data_type: 'RAW' },
        });
      assert.equal((await sign('a')).statusCode, 503, 'allowed: reaches the (scripted, unavailable) cluster');
      assert.equal((await sign('b')).statusCode, 503);
      const third = await sign('a');
      assert.equal(third.statusCode, 403);
      assert.equal(third.json().error.code, 'POLICY_DENIED');
      assert.equal((await sign('b')).statusCode, 403, 'the other replica counts the same signs');
    } finally {
      await replica.close();
    }
  });

  test('a sign routed to approval: 202, requester refused, runs exactly once when approved, result on the approval', async () => {
    const key = await insertKey(gw.db);
    await createPolicy({
      name: 'big',
      rules: [
        {
          id: 'four-eyes',
          action: 'require_approval',
          approval: { required: 2, approvers: ['AK_approver_1', 'AK_approver_2', 'AK_approver_3'] },
        },
      ],
    });
    const res = await as(undefined, 'POST', `/api/v1/keys/${key.key_id}/sign`, { data: '0xabcd', data_type: 'RAW' });
    assert.equal(res.statusCode, 202, res.body);
    const approval = res.json();
    assert.match(approval.approval_id, /^apr_[0-9a-f]{32}$/);
    assert.equal(approval.status, 'PENDING');
    assert.deepEqual(approval.request, { key_id: key.key_id, data: '0xabcd', data_type: 'RAW' });
    assert.equal(gw.coordinator.signCalls.length, 0);

    const self = await approve(approval.approval_id, 'AK_test_0001');
    assert.equal(self.statusCode, 403, 'the requester (an admin) cannot approve their own request');
    assert.equal((await approve(approval.approval_id, 'AK_signer')).statusCode, 403, 'a signer has no approver role');
    const one = await approve(approval.approval_id, 'AK_approver_1', 'looks right');
    assert.equal(one.statusCode, 200, one.body);
    assert.equal(one.json().status, 'PENDING');
    assert.equal((await approve(approval.approval_id, 'AK_approver_1')).statusCode, 409, 'one decision per approver');
    const two = await approve(approval.approval_id, 'AK_approver_2');
    assert.equal(two.statusCode, 200, two.body);
    // The scripted cluster is unavailable: the approved sign ran once and failed, recorded on the approval.
    assert.equal(two.json().status, 'FAILED');
    assert.equal(two.json().error.code, 'CLUSTER_UNAVAILABLE');
    assert.equal(gw.coordinator.signCalls.length, 1);
    assert.equal((await approve(approval.approval_id, 'AK_approver_3')).statusCode, 409);
    assert.equal(gw.coordinator.signCalls.length, 1, 'never a second run');
    const fetched = (await as('AK_auditor', 'GET', `/api/v1/approvals/${approval.approval_id}`)).json();
    assert.equal(fetched.status, 'FAILED');
    assert.deepEqual(
      fetched.decisions.map((d: { access_key: string }) => d.access_key),
      ['AK_approver_1', 'AK_approver_2'],
    );
    const ops = (await auditRows(gw.db)).filter((r) => JSON.parse(r.audit_trail).approval_id === approval.approval_id);
    assert.deepEqual(
      ops.map((r) => `${r.operation}:${r.result}`),
      ['APPROVAL_REQUEST:SUCCESS', 'APPROVAL_RESULT:SUCCESS', 'APPROVAL_RESULT:SUCCESS', 'KEY_SIGN:FAILURE'],
    );
    const listed = (await as(undefined, 'GET', `/api/v1/approvals?key_id=${key.key_id}&status=FAILED`)).json();
    assert.deepEqual(
      listed.items.map((a: { approval_id: string }) => a.approval_id),
      [approval.approval_id],
    );
  });

  test('reject needs a reason and ends the request without running it', async () => {
    const key = await insertKey(gw.db);
    await createPolicy({ name: 'all', rules: [{ id: 'r', action: 'require_approval', approval: { required: 1 } }] });
    const id = (
      await as(undefined, 'POST', `/api/v1/keys/${key.key_id}/sign`, { data: '0x01', data_type: 'RAW' })
    ).json().approval_id;
    assert.equal((await as('AK_approver_1', 'POST', `/api/v1/approvals/${id}/reject`, {})).statusCode, 400);
    const rejected = await as('AK_approver_1', 'POST', `/api/v1/approvals/${id}/reject`, { reason: 'unknown payee' });
    assert.equal(rejected.statusCode, 200, rejected.body);
    assert.equal(rejected.json().status, 'REJECTED');
    assert.equal((await approve(id, 'AK_approver_2')).statusCode, 409);
    assert.equal(gw.coordinator.signCalls.length, 0);
    assert.equal((await as(undefined, 'GET', '/api/v1/approvals/apr_nope')).statusCode, 400);
    assert.equal((await as(undefined, 'GET', `/api/v1/approvals?cursor=bad`)).statusCode, 400);
  });
});

describe('approval-gated key status and policy changes', () => {
  test('status change of a key a policy protects waits for approval, then applies', async () => {
    const key = await insertKey(gw.db, { label: 'treasury' });
    const other = await insertKey(gw.db, { label: 'ops' });
    await createPolicy({
      name: 'protect',
      rules: [
        {
          id: 'r',
          operations: ['KEY_STATUS_CHANGE'],
          match: { labels: ['treasury'] },
          action: 'require_approval',
          approval: { required: 1 },
        },
      ],
    });
    assert.equal(
      (await as(undefined, 'PUT', `/api/v1/keys/${other.key_id}/status`, { status: 'FROZEN' })).statusCode,
      200,
    );
    const res = await as(undefined, 'PUT', `/api/v1/keys/${key.key_id}/status`, {
      status: 'FROZEN',
      reason: 'incident',
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(
      (await gw.db.selectFrom('keys').select('status').where('key_id', '=', key.key_id).executeTakeFirstOrThrow())
        .status,
      'ACTIVE',
    );
    const done = await approve(res.json().approval_id, 'AK_approver_3');
    assert.equal(done.json().status, 'EXECUTED', done.body);
    assert.equal(done.json().result.status, 'FROZEN');
    assert.equal(
      (await gw.db.selectFrom('keys').select('status').where('key_id', '=', key.key_id).executeTakeFirstOrThrow())
        .status,
      'FROZEN',
    );
  });

  test('policy changes go through approval when a POLICY_CHANGE rule says so', async () => {
    const gov = await createPolicy({
      name: 'governance',
      rules: [{ id: 'r', operations: ['POLICY_CHANGE'], action: 'require_approval', approval: { required: 1 } }],
    });
    const res = await as(undefined, 'POST', '/api/v1/policies', {
      name: 'later',
      rules: [{ id: 'x', action: 'deny' }],
    });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal((await as(undefined, 'GET', '/api/v1/policies')).json().policies.length, 1, 'nothing applied yet');
    const done = await approve(res.json().approval_id, 'AK_approver_1');
    assert.equal(done.json().status, 'EXECUTED', done.body);
    assert.equal((await as(undefined, 'GET', '/api/v1/policies')).json().policies.length, 2);
    const change = (await auditRows(gw.db)).filter((r) => r.operation === 'CONFIG_CHANGE').at(-1)!;
    assert.equal(JSON.parse(change.audit_trail).approval_id, res.json().approval_id);
    // Removing the governance policy itself needs approval too.
    const del = await as(undefined, 'DELETE', `/api/v1/policies/${gov.policy_id}`);
    assert.equal(del.statusCode, 202);
  });
});

describe('key destruction', () => {
  test('always through approval; every holder confirms; tombstone status; never signs again', async () => {
    const key = await insertKey(gw.db);
    const res = await as(undefined, 'DELETE', `/api/v1/keys/${key.key_id}?reason=retired`);
    assert.equal(res.statusCode, 202, res.body);
    const { approval_id: id } = res.json();
    assert.equal(res.json().operation, 'KEY_DESTROY');
    assert.equal(
      (await as(undefined, 'DELETE', `/api/v1/keys/${key.key_id}`)).statusCode,
      409,
      'one request at a time',
    );
    assert.equal(
      (await as('AK_signer', 'DELETE', `/api/v1/keys/${key.key_id}`)).statusCode,
      403,
      'signers cannot destroy',
    );
    assert.equal((await approve(id, 'AK_test_0001')).statusCode, 403);

    // tss3 is down: the key is tombstoned at once, the approval fails naming the missing node.
    gw.coordinator.confirmingHolders = new Set(['tss1', 'tss2']);
    const partial = await approve(id, 'AK_approver_1');
    assert.equal(partial.json().status, 'FAILED', partial.body);
    assert.deepEqual(
      partial.json().error.details.missing.map((m: { node_id: string }) => m.node_id),
      ['tss3'],
    );
    const row = await gw.db
      .selectFrom('keys')
      .select('status')
      .where('key_id', '=', key.key_id)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'DESTROYED');
    const sign = await as(undefined, 'POST', `/api/v1/keys/${key.key_id}/sign`, { data: '0x01', data_type: 'RAW' });
    assert.equal(sign.statusCode, 409);
    assert.equal(sign.json().error.code, 'KEY_NOT_ACTIVE');
    const revive = await as(undefined, 'PUT', `/api/v1/keys/${key.key_id}/status`, { status: 'ACTIVE' });
    assert.equal(revive.statusCode, 409);
    assert.equal(
      (await as(undefined, 'PUT', `/api/v1/keys/${key.key_id}/status`, { status: 'DESTROYED' })).statusCode,
      400,
    );

    // Finishing: a new request, approved once tss3 answers.
    gw.coordinator.confirmingHolders = new Set(['tss1', 'tss2', 'tss3']);
    const again = await as(undefined, 'DELETE', `/api/v1/keys/${key.key_id}`);
    assert.equal(again.statusCode, 202);
    const done = await approve(again.json().approval_id, 'AK_approver_2');
    assert.equal(done.json().status, 'EXECUTED', done.body);
    assert.deepEqual(
      done.json().result.confirmations.map((c: { node_id: string }) => c.node_id),
      ['tss1', 'tss2', 'tss3'],
    );
    assert.equal((await as(undefined, 'DELETE', `/api/v1/keys/${key.key_id}`)).statusCode, 409, 'fully destroyed');
    assert.equal((await as(undefined, 'GET', `/api/v1/keys/${key.key_id}`)).json().status, 'DESTROYED');
    const destroys = (await auditRows(gw.db)).filter((r) => r.operation === 'KEY_DESTROY' && r.key_id === key.key_id);
    assert.deepEqual(
      destroys.map((r) => r.result),
      ['FAILURE', 'SUCCESS'],
    );
    assert.equal(JSON.parse(destroys[1]!.audit_trail).confirmations.length, 3);
  });

  test('a deny rule on KEY_DESTROY protects a key from destruction requests', async () => {
    const key = await insertKey(gw.db, { label: 'genesis' });
    await createPolicy({
      name: 'keep',
      rules: [{ id: 'r', operations: ['KEY_DESTROY'], match: { labels: ['genesis'] }, action: 'deny' }],
    });
    const res = await as(undefined, 'DELETE', `/api/v1/keys/${key.key_id}`);
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'POLICY_DENIED');
  });

  test('any sequence of approve/reject calls by anyone: never a 5xx, and the stored state is what the rules say (property)', async () => {
    const key = await insertKey(gw.db, { label: 'prop' });
    await createPolicy({
      name: 'prop',
      rules: [
        {
          id: 'r',
          operations: ['KEY_STATUS_CHANGE'],
          match: { labels: ['prop'] },
          action: 'require_approval',
          approval: { required: 2 },
        },
      ],
    });
    const actor = fc.constantFrom(
      'AK_test_0001',
      'AK_approver_1',
      'AK_approver_2',
      'AK_approver_3',
      'AK_signer',
      'AK_auditor',
    );
    const call = fc.record({
      actor,
      kind: fc.constantFrom('approve', 'reject', 'reject-no-reason', 'approve-bad-body'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 6 }), async (calls) => {
        const res = await as(undefined, 'PUT', `/api/v1/keys/${key.key_id}/status`, { status: 'FROZEN' });
        assert.equal(res.statusCode, 202, res.body);
        const id = res.json().approval_id as string;
        const approvals = new Set<string>();
        let rejected = false;
        for (const c of calls) {
          const url = `/api/v1/approvals/${id}/${c.kind.startsWith('approve') ? 'approve' : 'reject'}`;
          const body =
            c.kind === 'reject'
              ? { reason: 'no' }
              : c.kind === 'approve-bad-body'
                ? { reason: 7 }
                : c.kind === 'reject-no-reason'
                  ? {}
                  : undefined;
          const r = await as(c.actor, 'POST', url, body);
          assert.ok(r.statusCode < 500, r.body);
          const eligible = ['AK_approver_1', 'AK_approver_2', 'AK_approver_3'].includes(c.actor);
          const hasRole = eligible || c.actor === 'AK_test_0001';
          const open = !rejected && approvals.size < 2;
          // The role is checked before the body, the body before the request's state, then who decides.
          if (!hasRole) assert.equal(r.statusCode, 403);
          else if (c.kind === 'approve-bad-body' || c.kind === 'reject-no-reason') assert.equal(r.statusCode, 400);
          else if (!open) assert.equal(r.statusCode, 409);
          else if (!eligible) assert.equal(r.statusCode, 403);
          else if (approvals.has(c.actor)) assert.equal(r.statusCode, 409);
          else {
            assert.equal(r.statusCode, 200, r.body);
            if (c.kind === 'reject') rejected = true;
            else approvals.add(c.actor);
          }
        }
        const stored = (await as(undefined, 'GET', `/api/v1/approvals/${id}`)).json();
        const expected = rejected ? 'REJECTED' : approvals.size >= 2 ? 'EXECUTED' : 'PENDING';
        assert.equal(stored.status, expected);
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
