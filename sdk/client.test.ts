import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { CustosClient } from './client.ts';
import { CustosApiError, CustosConnectionError } from './errors.ts';
import {
  TEST_ACCESS_KEY,
  TEST_SECRET_KEY,
  errorReply,
  sampleKey,
  startScriptedGateway,
} from './testing/scripted-gateway.ts';
import type { ScriptedGateway, Script } from './testing/scripted-gateway.ts';

interface Harness {
  gateway: ScriptedGateway;
  client: CustosClient;
  /** Each wait the client asked for, with how many requests the gateway had seen by then. */
  sleeps: { ms: number; afterRequests: number }[];
}

async function harness(script: Script, opts: { maxAttempts?: number; maxDelayMs?: number } = {}): Promise<Harness> {
  const gateway = await startScriptedGateway(script);
  const sleeps: Harness['sleeps'] = [];
  const client = new CustosClient({
    baseUrl: gateway.url,
    accessKey: TEST_ACCESS_KEY,
    secretKey: TEST_SECRET_KEY,
    retry: { maxAttempts: opts.maxAttempts ?? 4, baseDelayMs: 100, maxDelayMs: opts.maxDelayMs ?? 5000 },
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push({ ms, afterRequests: gateway.requests.length });
    },
  });
  return { gateway, client, sleeps };
}

function allSigned(gateway: ScriptedGateway): void {
  assert.ok(gateway.requests.length > 0);
  for (const r of gateway.requests) assert.ok(r.signatureValid, `${r.method} ${r.url} failed verification`);
}

test('what the SDK signs is what the verifier recomputes: queries, path escapes and unicode bodies', async (t) => {
  const label = 'tréso/hot wallet ✓';
  const { gateway, client } = await harness((req) => {
    if (req.method === 'POST') return { status: 201, body: sampleKey({ label }) };
    if (req.url.startsWith('/api/v1/keys?')) return { status: 200, body: { keys: [sampleKey()], next_cursor: null } };
    return { status: 200, body: sampleKey() };
  });
  t.onTestFinished(() => gateway.close());

  const created = await client.generateKey({ format: { algo_type: 'EDDSA', curve: 'ED25519' }, label });
  assert.equal(created.label, label);
  await client.listKeys({ limit: 5, label, status: 'ACTIVE', cursor: 'c/+= ü' });
  await client.getKey('key_0123456789abcdef0123456789abcdef');
  await client.getKey('odd id/ü?x=1#y');

  allSigned(gateway);
  const [post, list, get, odd] = gateway.requests;
  assert.deepEqual(JSON.parse(post!.body.toString('utf8')), {
    format: { algo_type: 'EDDSA', curve: 'ED25519' },
    label,
  });
  assert.equal(post!.headers['content-type'], 'application/json');
  const params = new URL(list!.url, 'http://x').searchParams;
  assert.deepEqual(Object.fromEntries(params), { limit: '5', cursor: 'c/+= ü', label, status: 'ACTIVE' });
  assert.equal(get!.url, '/api/v1/keys/key_0123456789abcdef0123456789abcdef');
  assert.equal(get!.body.length, 0);
  assert.equal(odd!.url, '/api/v1/keys/odd%20id%2F%C3%BC%3Fx%3D1%23y');
});

test('a tampered signature is refused by the verifier (the check can fail)', async (t) => {
  const gateway = await startScriptedGateway(() => ({ status: 200, body: sampleKey() }));
  t.onTestFinished(() => gateway.close());
  const client = new CustosClient({ baseUrl: gateway.url, accessKey: TEST_ACCESS_KEY, secretKey: 'wrong-secret' });
  await assert.rejects(client.getKey('key_0123456789abcdef0123456789abcdef'), (err: unknown) => {
    assert.ok(err instanceof CustosApiError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'UNAUTHENTICATED');
    assert.equal(err.requestId, 'req_401');
    return true;
  });
  assert.equal(gateway.requests[0]!.signatureValid, false);
});

test('429 with Retry-After waits as told, then succeeds with a freshly signed request', async (t) => {
  const { gateway, client, sleeps } = await harness((_req, i) =>
    i === 0 ? errorReply(429, 'RATE_LIMITED', 'slow down', { 'retry-after': '2' }) : { status: 200, body: sampleKey() },
  );
  t.onTestFinished(() => gateway.close());
  const key = await client.getKey('key_0123456789abcdef0123456789abcdef');
  assert.equal(key.key_id, 'key_0123456789abcdef0123456789abcdef');
  assert.deepEqual(sleeps, [{ ms: 2000, afterRequests: 1 }]);
  assert.equal(gateway.requests.length, 2);
  allSigned(gateway);
  assert.notEqual(gateway.requests[0]!.nonce, gateway.requests[1]!.nonce);
});

test('Retry-After as an HTTP date is honoured', async (t) => {
  const when = new Date(Date.now() + 4000).toUTCString();
  const { gateway, client, sleeps } = await harness((_req, i) =>
    i === 0
      ? errorReply(503, 'CLUSTER_UNAVAILABLE', 'sealed', { 'retry-after': when })
      : { status: 200, body: sampleKey() },
  );
  t.onTestFinished(() => gateway.close());
  await client.getKey('key_0123456789abcdef0123456789abcdef');
  assert.equal(sleeps.length, 1);
  assert.ok(sleeps[0]!.ms > 1000 && sleeps[0]!.ms <= 4000, `waited ${sleeps[0]!.ms} ms`);
});

test('a Retry-After longer than maxDelayMs is not waited for; the error carries it', async (t) => {
  const { gateway, client, sleeps } = await harness(
    () => errorReply(429, 'RATE_LIMITED', 'slow down', { 'retry-after': '60' }),
    { maxDelayMs: 5000 },
  );
  t.onTestFinished(() => gateway.close());
  await assert.rejects(client.getKey('key_0123456789abcdef0123456789abcdef'), (err: unknown) => {
    assert.ok(err instanceof CustosApiError);
    assert.equal(err.code, 'RATE_LIMITED');
    assert.equal(err.retryAfterMs, 60_000);
    return true;
  });
  assert.deepEqual(sleeps, []);
  assert.equal(gateway.requests.length, 1);
});

test('503 without Retry-After backs off exponentially with jitter, then succeeds', async (t) => {
  const { gateway, client, sleeps } = await harness((_req, i) =>
    i < 2 ? errorReply(503, 'CLUSTER_UNAVAILABLE', 'no quorum') : { status: 200, body: sampleKey() },
  );
  t.onTestFinished(() => gateway.close());
  await client.getKey('key_0123456789abcdef0123456789abcdef');
  // random() = 0.5 under ceilings 100, 200
  assert.deepEqual(sleeps, [
    { ms: 50, afterRequests: 1 },
    { ms: 100, afterRequests: 2 },
  ]);
  allSigned(gateway);
  assert.equal(new Set(gateway.requests.map((r) => r.nonce)).size, 3, 'every attempt has its own nonce');
});

test('connection refused, then the gateway comes up: the retry succeeds', async (t) => {
  const port = await freePort();
  let gateway: ScriptedGateway | undefined;
  t.onTestFinished(() => gateway?.close());
  const sleeps: number[] = [];
  const client = new CustosClient({
    baseUrl: `http://127.0.0.1:${port}`,
    accessKey: TEST_ACCESS_KEY,
    secretKey: TEST_SECRET_KEY,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      gateway ??= await startScriptedGateway(() => ({ status: 200, body: sampleKey() }), { port });
    },
  });
  const key = await client.getKey('key_0123456789abcdef0123456789abcdef');
  assert.equal(key.status, 'ACTIVE');
  assert.equal(sleeps.length, 1);
  assert.equal(gateway!.requests.length, 1);
  allSigned(gateway!);
});

test('connection refused on every attempt gives a CustosConnectionError after maxAttempts', async () => {
  const port = await freePort();
  const sleeps: number[] = [];
  const client = new CustosClient({
    baseUrl: `http://127.0.0.1:${port}`,
    accessKey: TEST_ACCESS_KEY,
    secretKey: TEST_SECRET_KEY,
    retry: { maxAttempts: 3 },
    sleep: async (ms) => void sleeps.push(ms),
  });
  await assert.rejects(client.health(), (err: unknown) => {
    assert.ok(err instanceof CustosConnectionError);
    assert.equal(err.attempts, 3);
    assert.match(err.message, /ECONNREFUSED/);
    return true;
  });
  assert.equal(sleeps.length, 2);
});

test('a gateway that never answers times out as a connection error', async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.onTestFinished(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const client = new CustosClient({
    baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    accessKey: TEST_ACCESS_KEY,
    secretKey: TEST_SECRET_KEY,
    timeoutMs: 50,
    retry: { maxAttempts: 1 },
  });
  await assert.rejects(client.health(), /timed out/);
});

test('502 (aborted MPC session) is not retried', async (t) => {
  const { gateway, client, sleeps } = await harness(() => errorReply(502, 'MPC_SESSION_FAILED', 'node tss2 left'));
  t.onTestFinished(() => gateway.close());
  await assert.rejects(
    client.sign('key_0123456789abcdef0123456789abcdef', { data: '0x00', data_type: 'RAW' }),
    (err: unknown) => err instanceof CustosApiError && err.status === 502 && err.code === 'MPC_SESSION_FAILED',
  );
  assert.equal(gateway.requests.length, 1);
  assert.deepEqual(sleeps, []);
});

test('400 is not retried and keeps the gateway error code, message and request id', async (t) => {
  const { gateway, client } = await harness(() => errorReply(400, 'INVALID_SIGN_DATA', 'data is not hex'));
  t.onTestFinished(() => gateway.close());
  await assert.rejects(
    client.sign('key_0123456789abcdef0123456789abcdef', { data: 'zz', data_type: 'RAW' }),
    (err: unknown) => {
      assert.ok(err instanceof CustosApiError);
      assert.deepEqual(
        [err.status, err.code, err.message, err.requestId],
        [400, 'INVALID_SIGN_DATA', 'data is not hex', 'req_400'],
      );
      return true;
    },
  );
  assert.equal(gateway.requests.length, 1);
});

test('retries exhausted: the last 503 is thrown after maxAttempts requests', async (t) => {
  const { gateway, client, sleeps } = await harness(() => errorReply(503, 'CLUSTER_UNAVAILABLE', 'no quorum'), {
    maxAttempts: 3,
  });
  t.onTestFinished(() => gateway.close());
  await assert.rejects(
    client.listKeys(),
    (err: unknown) => err instanceof CustosApiError && err.status === 503 && err.code === 'CLUSTER_UNAVAILABLE',
  );
  assert.equal(gateway.requests.length, 3);
  assert.equal(sleeps.length, 2);
  assert.equal(new Set(gateway.requests.map((r) => r.nonce)).size, 3);
});

test('generateKey sends one automatic idempotency key, the same on every retry', async (t) => {
  const { gateway, client } = await harness((_req, i) =>
    i % 2 === 0 ? errorReply(503, 'CLUSTER_UNAVAILABLE', 'no quorum') : { status: 201, body: sampleKey() },
  );
  t.onTestFinished(() => gateway.close());
  await client.generateKey({});
  await client.generateKey({}, { idempotencyKey: 'mine-1' });
  const keys = gateway.requests.map((r) => r.headers['idempotency-key']);
  assert.match(String(keys[0]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(keys, [keys[0], keys[0], 'mine-1', 'mine-1']);
  assert.equal(new Set(gateway.requests.map((r) => r.nonce)).size, 4);
  allSigned(gateway);
});

test('iterateKeys follows next_cursor until it is null', async (t) => {
  const pages: Record<string, { ids: string[]; next: string | null }> = {
    '': { ids: ['a', 'b'], next: 'p2' },
    p2: { ids: ['c'], next: 'p3' },
    p3: { ids: [], next: null },
  };
  const { gateway, client } = await harness((req) => {
    const cursor = new URL(req.url, 'http://x').searchParams.get('cursor') ?? '';
    const page = pages[cursor]!;
    const keys = page.ids.map((c) => sampleKey({ key_id: `key_${c.repeat(32)}` }));
    return { status: 200, body: { keys, next_cursor: page.next } };
  });
  t.onTestFinished(() => gateway.close());
  const ids: string[] = [];
  for await (const key of client.iterateKeys({ limit: 2, status: 'ACTIVE' })) ids.push(key.key_id);
  assert.deepEqual(
    ids,
    ['a', 'b', 'c'].map((c) => `key_${c.repeat(32)}`),
  );
  assert.deepEqual(
    gateway.requests.map((r) => r.url),
    [
      '/api/v1/keys?limit=2&status=ACTIVE',
      '/api/v1/keys?limit=2&cursor=p2&status=ACTIVE',
      '/api/v1/keys?limit=2&cursor=p3&status=ACTIVE',
    ],
  );
});

test('answers outside the contract become UNEXPECTED_RESPONSE errors', async (t) => {
  const { gateway, client } = await harness((_req, i) =>
    i === 0
      ? { status: 502, rawBody: '<html>Bad Gateway</html>', headers: { 'x-request-id': 'proxy-1' } }
      : { status: 200, body: { key_id: 'not-a-key' } },
  );
  t.onTestFinished(() => gateway.close());
  await assert.rejects(client.health(), (err: unknown) => {
    assert.ok(err instanceof CustosApiError);
    assert.deepEqual([err.status, err.code, err.requestId], [502, 'UNEXPECTED_RESPONSE', 'proxy-1']);
    assert.match(err.message, /Bad Gateway/);
    return true;
  });
  await assert.rejects(client.getKey('key_0123456789abcdef0123456789abcdef'), (err: unknown) => {
    assert.ok(err instanceof CustosApiError);
    assert.equal(err.code, 'UNEXPECTED_RESPONSE');
    assert.match(err.message, /key_id/);
    return true;
  });
});

test('ready() returns a 503 "not ready" answer as data, without retrying', async (t) => {
  const notReady = { ready: false, quorum: 2, nodes: [] };
  const { gateway, client, sleeps } = await harness(() => ({ status: 503, body: notReady }));
  t.onTestFinished(() => gateway.close());
  assert.deepEqual(await client.ready(), notReady);
  assert.equal(gateway.requests.length, 1);
  assert.deepEqual(sleeps, []);
  allSigned(gateway);
});

test('updateStatus sends PUT with the reason and a base URL path prefix is kept', async (t) => {
  const gateway = await startScriptedGateway(() => ({ status: 200, body: sampleKey({ status: 'FROZEN' }) }));
  t.onTestFinished(() => gateway.close());
  const client = new CustosClient({
    baseUrl: `${gateway.url}/custos/`,
    accessKey: TEST_ACCESS_KEY,
    secretKey: TEST_SECRET_KEY,
  });
  const key = await client.updateStatus('key_0123456789abcdef0123456789abcdef', {
    status: 'FROZEN',
    reason: 'incident #7',
  });
  assert.equal(key.status, 'FROZEN');
  const [put] = gateway.requests;
  assert.equal(put!.method, 'PUT');
  assert.equal(put!.url, '/custos/api/v1/keys/key_0123456789abcdef0123456789abcdef/status');
  assert.deepEqual(JSON.parse(put!.body.toString()), { status: 'FROZEN', reason: 'incident #7' });
  allSigned(gateway);
});

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
