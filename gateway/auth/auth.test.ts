import assert from 'node:assert/strict';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { AUTH_HEADERS, signRequest, TIMESTAMP_WINDOW_MS } from '../../common/auth/request-signing.ts';
import {
  ACCESS_KEY,
  auditRows,
  newNonce,
  signedRequest,
  startTestGateway,
  type TestGateway,
} from '../testing/http-harness.ts';

describe('request authentication', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw.close());

  async function expectRejected(
    res: Awaited<ReturnType<typeof signedRequest>>,
    status: number,
    code: string,
    reason: string,
  ) {
    assert.equal(res.statusCode, status, res.body);
    const body = res.json();
    assert.equal(body.error.code, code);
    assert.equal(body.error.request_id, res.headers['x-request-id']);
    const last = (await auditRows(gw.db)).at(-1)!;
    assert.equal(last.operation, 'AUTH_REJECTED');
    assert.equal(last.request_id, body.error.request_id);
    assert.equal(last.error_code, code);
    assert.equal(JSON.parse(last.audit_trail).reason, reason);
  }

  test('a correctly signed request passes', async () => {
    const res = await signedRequest(gw, 'GET', '/api/v1/keys?limit=5');
    assert.equal(res.statusCode, 200, res.body);
  });

  test('missing headers: 401', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/v1/keys' });
    await expectRejected(res, 401, 'UNAUTHENTICATED', 'MISSING_HEADERS');
  });

  test('malformed nonce and signature: 401', async () => {
    await expectRejected(
      await signedRequest(gw, 'GET', '/api/v1/keys', { nonce: 'short' }),
      401,
      'UNAUTHENTICATED',
      'MALFORMED_HEADERS',
    );
    await expectRejected(
      await signedRequest(gw, 'GET', '/api/v1/keys', { headers: { [AUTH_HEADERS.signature]: 'ZZ' } }),
      401,
      'UNAUTHENTICATED',
      'MALFORMED_HEADERS',
    );
  });

  test('timestamp skewed past the window in either direction: 401', async () => {
    for (const skew of [TIMESTAMP_WINDOW_MS + 5_000, -(TIMESTAMP_WINDOW_MS + 5_000)]) {
      const res = await signedRequest(gw, 'GET', '/api/v1/keys', { timestampMs: Date.now() + skew });
      await expectRejected(res, 401, 'UNAUTHENTICATED', 'STALE_TIMESTAMP');
    }
  });

  test('timestamp skewed within the window is accepted', async () => {
    const res = await signedRequest(gw, 'GET', '/api/v1/keys', { timestampMs: Date.now() - 200_000 });
    assert.equal(res.statusCode, 200, res.body);
  });

  test('a replayed nonce is refused', async () => {
    const nonce = newNonce();
    assert.equal((await signedRequest(gw, 'GET', '/api/v1/keys', { nonce })).statusCode, 200);
    await expectRejected(
      await signedRequest(gw, 'GET', '/api/v1/keys', { nonce }),
      401,
      'UNAUTHENTICATED',
      'REPLAYED_NONCE',
    );
  });

  test('a forged request does not burn the nonce of a later genuine one', async () => {
    const nonce = newNonce();
    const forged = await signedRequest(gw, 'GET', '/api/v1/keys', { nonce, secretKey: 'wrong' });
    await expectRejected(forged, 401, 'UNAUTHENTICATED', 'BAD_SIGNATURE');
    assert.equal((await signedRequest(gw, 'GET', '/api/v1/keys', { nonce })).statusCode, 200);
  });

  test('tampered body, path or query: 401 bad signature', async () => {
    const body = { status: 'FROZEN' };
    const url = '/api/v1/keys/key_00000000000000000000000000000000/status';
    await expectRejected(
      await signedRequest(gw, 'PUT', url, { body, signedBody: JSON.stringify({ status: 'ACTIVE' }) }),
      401,
      'UNAUTHENTICATED',
      'BAD_SIGNATURE',
    );
    await expectRejected(
      await signedRequest(gw, 'PUT', url, { body, signedUrl: url.replace('0000/', '0001/') }),
      401,
      'UNAUTHENTICATED',
      'BAD_SIGNATURE',
    );
    await expectRejected(
      await signedRequest(gw, 'GET', '/api/v1/keys?limit=50', { signedUrl: '/api/v1/keys?limit=5' }),
      401,
      'UNAUTHENTICATED',
      'BAD_SIGNATURE',
    );
  });

  test('body hashed as raw bytes: whitespace the client signed is honoured', async () => {
    const res = await signedRequest(gw, 'PUT', '/api/v1/keys/key_00000000000000000000000000000000/status', {
      rawBody: '{ "status" :  "FROZEN" }',
    });
    // Authenticated, then 404 for the unknown key: the signature matched the bytes as sent.
    assert.equal(res.statusCode, 404, res.body);
  });

  test('unknown access key: 401, same message as a bad signature', async () => {
    const res = await signedRequest(gw, 'GET', '/api/v1/keys', { accessKey: 'AK_nobody' });
    await expectRejected(res, 401, 'UNAUTHENTICATED', 'UNKNOWN_ACCESS_KEY');
    assert.equal(res.json().error.message, 'signature does not verify');
  });

  test('disabled key: 403 FORBIDDEN', async () => {
    await gw.accessKeys.upsert({
      accessKey: 'AK_disabled',
      secretKey: 'sk-disabled',
      enabled: false,
      allowedCidrs: [],
    });
    const res = await signedRequest(gw, 'GET', '/api/v1/keys', { accessKey: 'AK_disabled', secretKey: 'sk-disabled' });
    await expectRejected(res, 403, 'FORBIDDEN', 'KEY_DISABLED');
  });

  test('IP allow-list with IPv4 CIDR, IPv6 CIDR and IPv4-mapped IPv6', async () => {
    await gw.accessKeys.upsert({
      accessKey: 'AK_cidr',
      secretKey: 'sk-cidr',
      enabled: true,
      allowedCidrs: ['10.1.0.0/16', '2001:db8::/32'],
    });
    const as = (remoteAddress: string) =>
      signedRequest(gw, 'GET', '/api/v1/keys', { accessKey: 'AK_cidr', secretKey: 'sk-cidr', remoteAddress });
    assert.equal((await as('10.1.2.3')).statusCode, 200);
    assert.equal((await as('::ffff:10.1.200.1')).statusCode, 200);
    assert.equal((await as('2001:db8:1::5')).statusCode, 200);
    await expectRejected(await as('10.2.0.1'), 403, 'FORBIDDEN', 'IP_NOT_ALLOWED');
    await expectRejected(await as('2001:db9::1'), 403, 'FORBIDDEN', 'IP_NOT_ALLOWED');
    await expectRejected(await as('127.0.0.1'), 403, 'FORBIDDEN', 'IP_NOT_ALLOWED');
  });

  test('audit entries for rejections never hold the signature or the secret', async () => {
    const timestampMs = Date.now();
    const nonce = newNonce();
    const res = await signedRequest(gw, 'GET', '/api/v1/keys', { secretKey: 'wrong', timestampMs, nonce });
    assert.equal(res.statusCode, 401);
    const all = JSON.stringify(await auditRows(gw.db));
    const sent = signRequest('wrong', {
      method: 'GET',
      pathWithQuery: '/api/v1/keys',
      timestampMs,
      nonce,
      body: undefined,
    });
    assert.ok(!all.includes(sent));
    assert.ok(!all.includes('wrong'));
    assert.ok(all.includes(ACCESS_KEY));
  });
});
