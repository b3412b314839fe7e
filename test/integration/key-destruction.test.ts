/**
 * Governance against real processes: four TSS nodes and the gateway over mTLS on loopback. A sign
 * that a policy routes to approval runs once approved and its signature verifies; a destroyed
 * key's holders erase their shares and confirm; the nodes refuse the key from then on, even when
 * asked directly with the gateway's certificate and after a restart.
 */
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import Sqlite from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, test } from 'vitest';
import { AUTH_HEADERS, signRequest } from '../../common/auth/request-signing.ts';
import { builtinSchemes } from '../../common/protocols/registry.ts';
import { createGrpcCoordinator } from '../../gateway/coordinator/grpc-coordinator.ts';
import { MpcSessionError, type MpcCoordinator } from '../../gateway/coordinator/types.ts';
import { CustosApprovalPending, CustosClient } from '../../sdk/index.ts';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';

const APPROVER = { access_key: 'AK_it_approver', secret_key: 'sk_it_approver_secret_value_01', roles: ['approver'] };

let cluster: LocalCluster;
let direct: MpcCoordinator;

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'custos-destroy-it-'));
  mkdirSync(join(home, 'gateway'), { recursive: true, mode: 0o700 });
  const approverFile = join(home, 'approver-credentials.json');
  writeFileSync(approverFile, JSON.stringify(APPROVER), { mode: 0o600 });
  cluster = await startLocalCluster({
    home,
    gg18PoolSize: 0,
    algorithms: ['EDDSA'],
    gatewayEnv: {
      CUSTOS_BOOTSTRAP_CREDENTIALS_FILE: `${join(home, 'gateway', 'bootstrap-credentials.json')},${approverFile}`,
    },
  });
  // What a compromised gateway could do: talk to the nodes directly with the gateway's certificate.
  direct = createGrpcCoordinator({
    home: cluster.home,
    nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address })),
    logger: pino({ level: 'silent' }),
    schemes: builtinSchemes(),
    healthTtlMs: 0,
  });
}, 180_000);
afterAll(async () => {
  await direct?.close();
  await cluster?.stop();
});

/** A signed API call as the admin (default) or as the approver. */
async function call(method: string, path: string, body?: unknown, who = { access_key: '', secret_key: '' }) {
  const accessKey = who.access_key || cluster.accessKey;
  const secretKey = who.secret_key || cluster.secretKey;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const timestampMs = Date.now();
  const nonce = randomBytes(16).toString('hex');
  const res = await cluster.fetch(`${cluster.baseUrl}${path}`, {
    method,
    headers: {
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      [AUTH_HEADERS.accessKey]: accessKey,
      [AUTH_HEADERS.timestamp]: String(timestampMs),
      [AUTH_HEADERS.nonce]: nonce,
      [AUTH_HEADERS.signature]: signRequest(secretKey, {
        method,
        pathWithQuery: path,
        timestampMs,
        nonce,
        body: payload,
      }),
    },
    ...(payload === undefined ? {} : { body: payload }),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads response JSON loosely
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
}

/** Each node's share count, asked of the nodes themselves (no cached health view). */
async function shareCounts(): Promise<Record<string, number>> {
  return Object.fromEntries((await direct.health()).map((n) => [n.nodeId, n.shareCount]));
}

test(
  'an approval-routed sign runs once approved; destruction erases every share, is audited with confirmations, and the nodes refuse the key for good',
  { timeout: 240_000 },
  async () => {
    const gen = await call('POST', '/api/v1/keys/generate', { format: { curve: 'ED25519', algo_type: 'EDDSA' } });
    assert.equal(gen.status, 201, JSON.stringify(gen.body));
    const key = gen.body;
    const holders = key.shard_nodes as string[];

    // A policy routes every sign with this key to approval.
    const pol = await call('POST', '/api/v1/policies', {
      name: 'it-four-eyes',
      rules: [{ id: 'all', match: { key_ids: [key.key_id] }, action: 'require_approval', approval: { required: 1 } }],
    });
    assert.equal(pol.status, 201, JSON.stringify(pol.body));
    const message = new TextEncoder().encode('release 10 SOL');
    const asked = await call('POST', `/api/v1/keys/${key.key_id}/sign`, {
      data: `0x${bytesToHex(message)}`,
      data_type: 'RAW',
    });
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    const approvalId = asked.body.approval_id as string;
    assert.equal((await call('POST', `/api/v1/approvals/${approvalId}/approve`)).status, 403, 'not by the requester');
    const approved = await call('POST', `/api/v1/approvals/${approvalId}/approve`, { reason: 'checked' }, APPROVER);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.status, 'EXECUTED', JSON.stringify(approved.body));
    const fetched = await call('GET', `/api/v1/approvals/${approvalId}`);
    const signature = fetched.body.result.signature as string;
    assert.ok(ed25519.verify(hexToBytes(signature.slice(2)), message, hexToBytes(key.public_key.slice(2))));
    assert.equal((await call('DELETE', `/api/v1/policies/${pol.body.policy_id}`)).status, 204);

    const before = await shareCounts();
    const del = await call('DELETE', `/api/v1/keys/${key.key_id}?reason=retired`);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    assert.equal(
      (await call('GET', `/api/v1/keys/${key.key_id}`)).body.status,
      'ACTIVE',
      'nothing happens before approval',
    );
    const destroyed = await call('POST', `/api/v1/approvals/${del.body.approval_id}/approve`, undefined, APPROVER);
    assert.equal(destroyed.body.status, 'EXECUTED', JSON.stringify(destroyed.body));
    assert.deepEqual(
      destroyed.body.result.confirmations.map((c: { node_id: string; had_share: boolean }) => [c.node_id, c.had_share]),
      [...holders].sort().map((h) => [h, true]),
    );
    const after = await shareCounts();
    for (const h of holders) assert.equal(after[h], before[h]! - 1, `${h} still counts the share`);
    assert.equal((await call('GET', `/api/v1/keys/${key.key_id}`)).body.status, 'DESTROYED');
    const refused = await call('POST', `/api/v1/keys/${key.key_id}/sign`, { data: '0x01', data_type: 'RAW' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'KEY_NOT_ACTIVE');

    // The audit entry lists every holder's confirmation.
    const db = new Sqlite(join(cluster.home, 'gateway', 'custos.db'), { readonly: true });
    let publicInfo: Uint8Array;
    try {
      const row = db
        .prepare("SELECT result, audit_trail FROM audit_log WHERE operation = 'KEY_DESTROY' AND key_id = ?")
        .get(key.key_id) as { result: string; audit_trail: string };
      assert.equal(row.result, 'SUCCESS');
      const trail = JSON.parse(row.audit_trail);
      assert.deepEqual(
        trail.confirmations.map((c: { node_id: string }) => c.node_id),
        [...holders].sort(),
      );
      assert.equal(trail.approval_id, del.body.approval_id);
      publicInfo = (
        db.prepare('SELECT public_info FROM keys WHERE key_id = ?').get(key.key_id) as { public_info: Buffer }
      ).public_info;
    } finally {
      db.close();
    }

    // Asked directly, bypassing the gateway's tombstone, the holders refuse; also after a restart.
    const signDirect = () =>
      direct.sign({
        keyId: key.key_id,
        algo: 'EDDSA',
        holders,
        signers: holders.slice(0, 2),
        threshold: 2,
        publicKey: hexToBytes(key.public_key.slice(2)),
        publicInfo,
        message,
      });
    await assert.rejects(signDirect(), (e: unknown) => e instanceof MpcSessionError);
    await cluster.killNode(holders[0]!);
    await cluster.startNode(holders[0]!);
    await assert.rejects(signDirect(), (e: unknown) => e instanceof MpcSessionError && /destroyed/i.test(e.message));
  },
);

test(
  'the SDK: a pending sign throws CustosApprovalPending; an approver approves; the result and the destruction follow',
  {
    timeout: 120_000,
  },
  async () => {
    const admin = new CustosClient({
      baseUrl: cluster.baseUrl,
      accessKey: cluster.accessKey,
      secretKey: cluster.secretKey,
    });
    const approver = new CustosClient({
      baseUrl: cluster.baseUrl,
      accessKey: APPROVER.access_key,
      secretKey: APPROVER.secret_key,
    });
    const key = await admin.generateKey({ format: { curve: 'ED25519', algo_type: 'EDDSA' } });
    const policy = await admin.createPolicy({
      name: 'it-sdk',
      rules: [{ id: 'r', match: { key_ids: [key.key_id] }, action: 'require_approval', approval: { required: 1 } }],
    });
    const message = new TextEncoder().encode('sdk says hi');
    const pending = await admin.sign(key.key_id, { data: `0x${bytesToHex(message)}`, data_type: 'RAW' }).then(
      () => assert.fail('signed without approval'),
      (e: unknown) => {
        assert.ok(e instanceof CustosApprovalPending, String(e));
        return e.approval;
      },
    );
    const done = await approver.approve(pending.approval_id, 'ok');
    assert.equal(done.status, 'EXECUTED');
    const { signature } = (await admin.getApproval(pending.approval_id)).result as { signature: string };
    assert.ok(ed25519.verify(hexToBytes(signature.slice(2)), message, hexToBytes(key.public_key.slice(2))));
    await admin.deletePolicy(policy.policy_id);
    const destroy = await admin.destroyKey(key.key_id, 'sdk test');
    assert.equal((await approver.approve(destroy.approval_id)).status, 'EXECUTED');
    assert.equal((await admin.getKey(key.key_id)).status, 'DESTROYED');
    const listed = await admin.listApprovals({ key_id: key.key_id });
    assert.deepEqual(listed.items.map((a) => a.operation).sort(), ['KEY_DESTROY', 'KEY_SIGN']);
  },
);
