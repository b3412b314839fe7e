import assert from 'node:assert/strict';
import { describe, test, beforeAll, afterAll, beforeEach } from 'vitest';
import { eventually } from '../../test/support/eventually.ts';
import { GatewayConfigSchema } from '../config.ts';
import { MpcSessionError } from '../coordinator/types.ts';
import {
  auditRows,
  healthyNodes,
  insertKey,
  keyCount,
  signedRequest,
  startTestGateway,
  type TestGateway,
} from '../testing/http-harness.ts';

const EDDSA = { format: { curve: 'ED25519', algo_type: 'EDDSA' }, shard_properties: { shard_count: 3, threshold: 2 } };

describe('gateway API: bad input', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ body_limit_bytes: 4096 });
  });
  afterAll(async () => gw.close());
  beforeEach(() => {
    gw.coordinator.health_ = healthyNodes();
    gw.coordinator.hang = false;
    gw.coordinator.failure = new MpcSessionError('no cluster in unit tests', undefined, 'unavailable');
  });

  /** Checks status, code, the error shape, that the rejection is audited, and that no key appeared. */
  async function expectError(res: Awaited<ReturnType<typeof signedRequest>>, status: number, code: string) {
    assert.equal(res.statusCode, status, res.body);
    const body = res.json();
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.message, 'string');
    assert.match(body.error.request_id, /^req_[0-9a-f]{24}$/);
    assert.equal(res.headers['x-request-id'], body.error.request_id);
    const audited = (await auditRows(gw.db)).filter((r) => r.request_id === body.error.request_id);
    assert.equal(audited.length, 1, 'exactly one audit entry for the rejection');
    assert.equal(audited[0]!.error_code, code);
    return body.error.message as string;
  }

  const generate = (body: unknown, headers?: Record<string, string>) =>
    signedRequest(gw, 'POST', '/api/v1/keys/generate', { body, headers });

  test('malformed JSON: 400 BAD_REQUEST', async () => {
    await expectError(
      await signedRequest(gw, 'POST', '/api/v1/keys/generate', { rawBody: '{"format": ' }),
      400,
      'BAD_REQUEST',
    );
  });

  test('non-JSON content type: 400 BAD_REQUEST', async () => {
    await expectError(
      await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
        rawBody: 'x=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      400,
      'BAD_REQUEST',
    );
  });

  test('unknown field: 400 VALIDATION_FAILED naming it', async () => {
    const msg = await expectError(await generate({ ...EDDSA, colour: 'red' }), 400, 'VALIDATION_FAILED');
    assert.match(msg, /colour/);
  });

  test('wrong type: 400 VALIDATION_FAILED naming the field', async () => {
    const msg = await expectError(
      await generate({ ...EDDSA, shard_properties: { shard_count: '3', threshold: 2 } }),
      400,
      'VALIDATION_FAILED',
    );
    assert.match(msg, /shard_properties\.shard_count/);
  });

  test('curve and algorithm that do not go together: 422 UNSUPPORTED_ALGORITHM', async () => {
    await expectError(
      await generate({ ...EDDSA, format: { curve: 'SECP256K1', algo_type: 'EDDSA' } }),
      422,
      'UNSUPPORTED_ALGORITHM',
    );
  });

  test('an algorithm the cluster does not serve yet: 422 UNSUPPORTED_ALGORITHM', async () => {
    const msg = await expectError(
      await generate({ format: { curve: 'SECP256K1', algo_type: 'DMZ21' } }),
      422,
      'UNSUPPORTED_ALGORITHM',
    );
    assert.match(msg, /GG18, DKLS23, EDDSA, BLS/);
  });

  test('threshold > shard_count and shard_count > nodes: 422 INVALID_SHARD_PROPERTIES', async () => {
    await expectError(
      await generate({ ...EDDSA, shard_properties: { shard_count: 3, threshold: 4 } }),
      422,
      'INVALID_SHARD_PROPERTIES',
    );
    await expectError(
      await generate({ ...EDDSA, shard_properties: { shard_count: 5, threshold: 2 } }),
      422,
      'INVALID_SHARD_PROPERTIES',
    );
  });

  test('oversized body: 413 PAYLOAD_TOO_LARGE', async () => {
    await expectError(await generate({ ...EDDSA, label: 'x'.repeat(5000) }), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('unknown route: 404 NOT_FOUND', async () => {
    await expectError(await signedRequest(gw, 'GET', '/api/v1/nothing'), 404, 'NOT_FOUND');
  });

  test('unknown key: 404 NOT_FOUND for get, sign and status', async () => {
    const id = 'key_0123456789abcdef0123456789abcdef';
    await expectError(await signedRequest(gw, 'GET', `/api/v1/keys/${id}`), 404, 'NOT_FOUND');
    await expectError(
      await signedRequest(gw, 'POST', `/api/v1/keys/${id}/sign`, { body: { data: '0x00', data_type: 'RAW' } }),
      404,
      'NOT_FOUND',
    );
    await expectError(
      await signedRequest(gw, 'PUT', `/api/v1/keys/${id}/status`, { body: { status: 'FROZEN' } }),
      404,
      'NOT_FOUND',
    );
  });

  test('malformed key id: 400 VALIDATION_FAILED', async () => {
    await expectError(await signedRequest(gw, 'GET', '/api/v1/keys/not-a-key'), 400, 'VALIDATION_FAILED');
  });

  test('wrong data_type for the algorithm: 422 INVALID_SIGN_DATA', async () => {
    const key = await insertKey(gw.db);
    const msg = await expectError(
      await signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/sign`, {
        body: { data: `0x${'ab'.repeat(32)}`, data_type: 'HASH' },
      }),
      422,
      'INVALID_SIGN_DATA',
    );
    assert.match(msg, /RAW/);
    assert.equal(gw.coordinator.signCalls.length, 0);
  });

  test('non-hex data: 422 INVALID_SIGN_DATA', async () => {
    const key = await insertKey(gw.db, { algo: 'BLS', curve: 'BLS12_381' });
    for (const data of ['hello', '0xabc', '0xzz']) {
      await expectError(
        await signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/sign`, { body: { data, data_type: 'RAW' } }),
        422,
        'INVALID_SIGN_DATA',
      );
    }
  });

  test('unknown data_type: 400 VALIDATION_FAILED', async () => {
    const key = await insertKey(gw.db);
    await expectError(
      await signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/sign`, { body: { data: '0x00', data_type: 'TEXT' } }),
      400,
      'VALIDATION_FAILED',
    );
  });

  test('not enough healthy nodes for keygen: 503 CLUSTER_UNAVAILABLE, no key, no session', async () => {
    gw.coordinator.health_ = healthyNodes().map((n, i) => (i < 2 ? { ...n, sealed: true } : n));
    const before = await keyCount(gw.db);
    const calls = gw.coordinator.keygenCalls.length;
    const res = await generate(EDDSA);
    await expectError(res, 503, 'CLUSTER_UNAVAILABLE');
    assert.ok(res.headers['retry-after']);
    assert.equal(await keyCount(gw.db), before);
    assert.equal(gw.coordinator.keygenCalls.length, calls);
  });

  test('keygen session that aborts names the culprit: 502 MPC_SESSION_FAILED, no key stored', async () => {
    gw.coordinator.failure = new MpcSessionError('bad proof of knowledge', 'tss2', 'abort');
    const before = await keyCount(gw.db);
    const res = await generate(EDDSA);
    const msg = await expectError(res, 502, 'MPC_SESSION_FAILED');
    assert.match(msg, /tss2/);
    assert.equal(await keyCount(gw.db), before);
    const entry = (await auditRows(gw.db)).at(-1)!;
    assert.equal(entry.operation, 'KEY_GENERATE');
    assert.equal(entry.result, 'FAILURE');
    assert.equal(entry.node_id, 'tss2');
    assert.equal(JSON.parse(entry.audit_trail).abort.outcome, 'guilty');
  });

  test('keygen session that times out or finds a node gone: 503 CLUSTER_UNAVAILABLE', async () => {
    gw.coordinator.failure = new MpcSessionError('tss3 did not answer', 'tss3', 'timeout');
    await expectError(await generate(EDDSA), 503, 'CLUSTER_UNAVAILABLE');
    gw.coordinator.failure = new MpcSessionError('tss3 unreachable', 'tss3', 'unavailable');
    await expectError(await generate(EDDSA), 503, 'CLUSTER_UNAVAILABLE');
  });

  test('keygen picks the three healthiest nodes, spreading by share count then latency', async () => {
    gw.coordinator.health_ = [
      { nodeId: 'tss1', reachable: true, sealed: false, shareCount: 9, version: 't', latencyMs: 1 },
      { nodeId: 'tss2', reachable: true, sealed: false, shareCount: 1, version: 't', latencyMs: 5 },
      { nodeId: 'tss3', reachable: true, sealed: false, shareCount: 1, version: 't', latencyMs: 2 },
      { nodeId: 'tss4', reachable: true, sealed: false, shareCount: 2, version: 't', latencyMs: 1 },
    ];
    await generate(EDDSA);
    assert.deepEqual(gw.coordinator.keygenCalls.at(-1)!.holders, ['tss2', 'tss3', 'tss4']);
  });

  test('sign with too few healthy holders: 503; signers are healthy holders only', async () => {
    const key = await insertKey(gw.db, { shard_nodes: JSON.stringify(['tss1', 'tss2', 'tss4']) });
    gw.coordinator.health_ = healthyNodes().map((n) =>
      n.nodeId === 'tss1' || n.nodeId === 'tss2' ? { ...n, reachable: false } : n,
    );
    const url = `/api/v1/keys/${key.key_id}/sign`;
    await expectError(
      await signedRequest(gw, 'POST', url, { body: { data: '0x01', data_type: 'RAW' } }),
      503,
      'CLUSTER_UNAVAILABLE',
    );
    gw.coordinator.health_ = healthyNodes().map((n) => (n.nodeId === 'tss1' ? { ...n, sealed: true } : n));
    gw.coordinator.failure = new MpcSessionError('partial signature invalid', 'tss4', 'abort');
    const msg = await expectError(
      await signedRequest(gw, 'POST', url, { body: { data: '0x01', data_type: 'RAW' } }),
      502,
      'MPC_SESSION_FAILED',
    );
    assert.match(msg, /tss4/);
    const call = gw.coordinator.signCalls.at(-1)!;
    assert.deepEqual(call.signers, ['tss2', 'tss4']);
    assert.deepEqual([...call.message], [1]);
  });

  test('a session that never finishes is cut at the deadline: 503', async () => {
    const fast = await startTestGateway({ mpc_timeout_ms: 100 });
    try {
      fast.coordinator.hang = true;
      const res = await signedRequest(fast, 'POST', '/api/v1/keys/generate', { body: EDDSA });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().error.code, 'CLUSTER_UNAVAILABLE');
      assert.equal(await keyCount(fast.db), 0);
    } finally {
      await fast.close();
    }
  });

  test('admission control: beyond the running and queued sessions of an algorithm, 429 with Retry-After before any node is asked', async () => {
    const busy = await startTestGateway({
      mpc_timeout_ms: 1000,
      admission: { ...GatewayConfigSchema.parse({}).admission, EDDSA: { concurrency: 1, queue: 1 } },
    });
    try {
      busy.coordinator.hang = true;
      const first = signedRequest(busy, 'POST', '/api/v1/keys/generate', { body: EDDSA });
      const queued = signedRequest(busy, 'POST', '/api/v1/keys/generate', { body: EDDSA });
      await eventually(
        'the first session reaches the nodes',
        async () => busy.coordinator.keygenCalls.length === 1,
        10_000,
        20,
      );
      const refused = await signedRequest(busy, 'POST', '/api/v1/keys/generate', { body: EDDSA });
      assert.equal(refused.statusCode, 429, refused.body);
      assert.equal(refused.json().error.code, 'RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(busy.coordinator.keygenCalls.length, 1, 'the refused request never reached the nodes');
      assert.equal((await first).statusCode, 503);
      assert.equal((await queued).statusCode, 503);
      assert.equal(busy.coordinator.keygenCalls.length, 2, 'the queued request ran once a slot was free');
    } finally {
      await busy.close();
    }
  });

  test('rate limit: 429 RATE_LIMITED with Retry-After', async () => {
    const limited = await startTestGateway({ rate_limit: { burst: 2, per_second: 0.001 } });
    try {
      assert.equal((await signedRequest(limited, 'GET', '/api/v1/keys')).statusCode, 200);
      assert.equal((await signedRequest(limited, 'GET', '/api/v1/keys')).statusCode, 200);
      const res = await signedRequest(limited, 'GET', '/api/v1/keys');
      assert.equal(res.statusCode, 429);
      assert.equal(res.json().error.code, 'RATE_LIMITED');
      assert.ok(Number(res.headers['retry-after']) >= 1);
      const last = (await auditRows(limited.db)).at(-1)!;
      assert.equal(last.error_code, 'RATE_LIMITED');
    } finally {
      await limited.close();
    }
  });
});
