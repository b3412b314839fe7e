/**
 * Access-key management, roles and scopes per endpoint, allow-lists behind a trusted proxy, the
 * audit query, and 405 for unsupported methods, through the real app on a real SQLite file.
 */
import assert from 'node:assert/strict';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { healthyNodes, insertKey, signedRequest, startTestGateway, type TestGateway } from '../testing/http-harness.ts';

interface Creds {
  accessKey: string;
  secretKey: string;
}

describe('access keys, roles and scopes through the API', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    gw.coordinator.health_ = healthyNodes();
  });
  afterAll(async () => gw.close());

  async function create(body: unknown, as?: Creds) {
    const res = await signedRequest(gw, 'POST', '/api/v1/access-keys', { body, ...as });
    return res;
  }
  async function createOk(body: unknown): Promise<Creds & { json: Record<string, unknown> }> {
    const res = await create(body);
    assert.equal(res.statusCode, 201, res.body);
    const json = res.json();
    return { accessKey: json.access_key, secretKey: json.secret_key, json };
  }

  test('create answers the secret once, in the credentials.json fields; list never shows a secret', async () => {
    const made = await createOk({ name: 'payments', roles: ['signer'], scopes: [{ label_prefix: 'pay/' }] });
    assert.match(made.accessKey, /^AK[0-9A-F]{20}$/);
    assert.equal(typeof made.secretKey, 'string');
    assert.ok(made.secretKey.length >= 40);
    assert.deepEqual(made.json.roles, ['signer']);
    assert.equal(made.json.status, 'ENABLED');
    const list = await signedRequest(gw, 'GET', '/api/v1/access-keys');
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes(made.secretKey));
    assert.ok(!list.body.includes('secret_key'));
    const listed = list.json().access_keys.find((k: { access_key: string }) => k.access_key === made.accessKey);
    assert.deepEqual(listed.scopes, [{ label_prefix: 'pay/' }]);
    // The audit entry of the change names it and never holds the secret.
    const audit = await signedRequest(gw, 'GET', '/api/v1/audit?operation=CONFIG_CHANGE');
    assert.ok(!audit.body.includes(made.secretKey));
    const entry = audit
      .json()
      .items.find((i: { audit_trail: { access_key?: string } }) => i.audit_trail.access_key === made.accessKey);
    assert.equal(entry.operation, 'CONFIG_CHANGE');
    assert.equal(entry.audit_trail.change, 'CREATE');
  });

  test('a signer signs only keys in its scope; outside, 403 names the scope; it cannot generate or manage', async () => {
    const signer = await createOk({ roles: ['signer'], scopes: [{ label_prefix: 'pay/' }] });
    const inside = await insertKey(gw.db, { label: 'pay/hot-1' });
    const outside = await insertKey(gw.db, { label: 'treasury/cold' });
    const sign = (keyId: string) =>
      signedRequest(gw, 'POST', `/api/v1/keys/${keyId}/sign`, {
        ...signer,
        body: { data: '0x', data_type: 'RAW' },
      });
    const before = gw.coordinator.signCalls.length;
    const ok = await sign(inside.key_id);
    // Past auth and scope: the scripted cluster fails the session, the request reached it.
    assert.notEqual(ok.statusCode, 403, ok.body);
    assert.equal(gw.coordinator.signCalls.length, before + 1);
    assert.equal(gw.coordinator.signCalls.at(-1)!.message.length, 0, 'the empty message goes to the nodes');
    const refused = await sign(outside.key_id);
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error.code, 'FORBIDDEN');
    assert.match(refused.json().error.message, /outside the access key's scopes \(label_prefix=pay\/\): missing scope/);
    assert.equal(gw.coordinator.signCalls.length, before + 1, 'no session for an out-of-scope key');
    const get = await signedRequest(gw, 'GET', `/api/v1/keys/${outside.key_id}`, signer);
    assert.equal(get.statusCode, 403);
    const list = await signedRequest(gw, 'GET', '/api/v1/keys?limit=100', signer);
    const ids = list.json().keys.map((k: { key_id: string }) => k.key_id);
    assert.ok(ids.includes(inside.key_id));
    assert.ok(!ids.includes(outside.key_id));
    const gen = await signedRequest(gw, 'POST', '/api/v1/keys/generate', { ...signer, body: { label: 'pay/x' } });
    assert.equal(gen.statusCode, 403);
    assert.match(gen.json().error.message, /missing role admin or key-admin/);
    const manage = await create({ roles: ['signer'] }, signer);
    assert.equal(manage.statusCode, 403);
    assert.match(manage.json().error.message, /missing role admin/);
  });

  test('a scoped key-admin generates only labels in scope and never signs', async () => {
    const keyAdmin = await createOk({ roles: ['key-admin'], scopes: [{ label: 'ops/one' }, { label_prefix: 'ops/' }] });
    const outside = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
      ...keyAdmin,
      body: { label: 'other', format: { algo_type: 'EDDSA' } },
    });
    assert.equal(outside.statusCode, 403);
    assert.match(outside.json().error.message, /label or label_prefix scope/);
    const unlabelled = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
      ...keyAdmin,
      body: { format: { algo_type: 'EDDSA' } },
    });
    assert.equal(unlabelled.statusCode, 403);
    const inside = await signedRequest(gw, 'POST', '/api/v1/keys/generate', {
      ...keyAdmin,
      body: { label: 'ops/new', format: { algo_type: 'EDDSA' } },
    });
    assert.notEqual(inside.statusCode, 403, inside.body); // the scripted cluster then fails keygen
    const key = await insertKey(gw.db, { label: 'ops/one' });
    const sign = await signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/sign`, {
      ...keyAdmin,
      body: { data: '0x01', data_type: 'RAW' },
    });
    assert.equal(sign.statusCode, 403);
    assert.match(sign.json().error.message, /missing role admin or signer/);
  });

  test('rotate: old and new secret both verify during the grace period, only the new one after it', async () => {
    const key = await createOk({ roles: ['signer'] });
    const rotated = await signedRequest(gw, 'POST', `/api/v1/access-keys/${key.accessKey}/rotate`, {
      body: { grace_seconds: 600 },
    });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const fresh = rotated.json().secret_key as string;
    assert.notEqual(fresh, key.secretKey);
    assert.ok(rotated.json().previous_secret_expires_at);
    const as = (secretKey: string) => signedRequest(gw, 'GET', '/api/v1/keys', { accessKey: key.accessKey, secretKey });
    assert.equal((await as(key.secretKey)).statusCode, 200);
    assert.equal((await as(fresh)).statusCode, 200);
    // A second rotation with no grace: the first secret is gone for good, the second too.
    const again = await signedRequest(gw, 'POST', `/api/v1/access-keys/${key.accessKey}/rotate`, {
      body: { grace_seconds: 0 },
    });
    const newest = again.json().secret_key as string;
    assert.equal((await as(key.secretKey)).statusCode, 401);
    assert.equal((await as(fresh)).statusCode, 401);
    assert.equal((await as(newest)).statusCode, 200);
  });

  test('status DISABLED refuses the key (403), ENABLED restores it; an admin cannot disable itself', async () => {
    const key = await createOk({ roles: ['signer'] });
    const put = (id: string, status: string) =>
      signedRequest(gw, 'PUT', `/api/v1/access-keys/${id}/status`, { body: { status } });
    assert.equal((await put(key.accessKey, 'DISABLED')).json().status, 'DISABLED');
    const refused = await signedRequest(gw, 'GET', '/api/v1/keys', key);
    assert.equal(refused.statusCode, 403);
    assert.equal((await put(key.accessKey, 'ENABLED')).statusCode, 200);
    assert.equal((await signedRequest(gw, 'GET', '/api/v1/keys', key)).statusCode, 200);
    assert.equal((await put('AK_test_0001', 'DISABLED')).statusCode, 409);
    assert.equal((await put('AK_nobody', 'DISABLED')).statusCode, 404);
    assert.equal((await put(key.accessKey, 'OFF')).statusCode, 400);
  });

  test('an admin key is created disabled (202, secret once) and only a second person approving enables it', async () => {
    const made = await create({ name: 'ops-admin', roles: ['admin'] });
    assert.equal(made.statusCode, 202, made.body);
    const json = made.json();
    const admin = { accessKey: json.access_key as string, secretKey: json.secret_key as string };
    assert.equal(json.status, 'DISABLED');
    assert.equal(json.approval.operation, 'ACCESS_KEY_CREATE');
    assert.equal(json.approval.status, 'PENDING');
    const approvalId = json.approval.approval_id as string;
    // Not usable, and the requester cannot enable it around the approval.
    assert.equal((await signedRequest(gw, 'GET', '/api/v1/keys', admin)).statusCode, 403);
    const sneak = await signedRequest(gw, 'PUT', `/api/v1/access-keys/${admin.accessKey}/status`, {
      body: { status: 'ENABLED' },
    });
    assert.equal(sneak.statusCode, 409, sneak.body);
    assert.match(sneak.json().error.message, /creation approval is PENDING/);
    // The requester may not approve its own request; the secret never reaches the approval.
    const own = await signedRequest(gw, 'POST', `/api/v1/approvals/${approvalId}/approve`, { body: {} });
    assert.equal(own.statusCode, 403, own.body);
    const approval = await signedRequest(gw, 'GET', `/api/v1/approvals/${approvalId}`);
    assert.ok(!approval.body.includes(admin.secretKey));
    const approver = await createOk({ roles: ['approver'] });
    const decided = await signedRequest(gw, 'POST', `/api/v1/approvals/${approvalId}/approve`, {
      ...approver,
      body: { reason: 'on-call rotation' },
    });
    assert.equal(decided.statusCode, 200, decided.body);
    assert.equal(decided.json().status, 'EXECUTED');
    assert.ok(!decided.body.includes(admin.secretKey));
    assert.equal((await signedRequest(gw, 'GET', '/api/v1/keys', admin)).statusCode, 200);
  });

  test('a rejected admin key stays disabled for good', async () => {
    const made = (await create({ roles: ['admin'] })).json();
    const approver = await createOk({ roles: ['approver'] });
    const rejected = await signedRequest(gw, 'POST', `/api/v1/approvals/${made.approval.approval_id}/reject`, {
      ...approver,
      body: { reason: 'not requested by the security team' },
    });
    assert.equal(rejected.json().status, 'REJECTED', rejected.body);
    const enable = await signedRequest(gw, 'PUT', `/api/v1/access-keys/${made.access_key}/status`, {
      body: { status: 'ENABLED' },
    });
    assert.equal(enable.statusCode, 409);
    const creds = { accessKey: made.access_key as string, secretKey: made.secret_key as string };
    assert.equal((await signedRequest(gw, 'GET', '/api/v1/keys', creds)).statusCode, 403);
  });

  test('allow-lists set through the API: IPv4 and IPv6, bad entries refused without a change', async () => {
    const key = await createOk({ roles: ['signer'], allowed_cidrs: ['10.0.0.0/8'] });
    const from = (remoteAddress: string) => signedRequest(gw, 'GET', '/api/v1/keys', { ...key, remoteAddress });
    assert.equal((await from('10.9.9.9')).statusCode, 200);
    assert.equal((await from('192.168.1.1')).statusCode, 403);
    const set = (allowed_cidrs: unknown) =>
      signedRequest(gw, 'PUT', `/api/v1/access-keys/${key.accessKey}/allowed-cidrs`, { body: { allowed_cidrs } });
    for (const bad of [
      ['10.0.0.0/'],
      ['10.0.0.0/33'],
      ['10.0.0.0/8/9'],
      ['fe80::/129'],
      ['example.com'],
      ['1.2.3.4/ 8'],
    ]) {
      const res = await set(bad);
      assert.equal(res.statusCode, 400, `${bad[0]}: ${res.body}`);
    }
    assert.equal((await from('192.168.1.1')).statusCode, 403, 'a refused change changed nothing');
    assert.equal((await set(['2001:db8::/32'])).statusCode, 200);
    assert.equal((await from('2001:db8::7')).statusCode, 200);
    assert.equal((await from('10.9.9.9')).statusCode, 403);
  });

  test('audit query: auditor reads with filters and a cursor; a malformed cursor is 400; a signer is refused', async () => {
    const auditor = await createOk({ roles: ['auditor'] });
    const page = async (query: string) => signedRequest(gw, 'GET', `/api/v1/audit${query}`, auditor);
    const first = await page('?operation=CONFIG_CHANGE&limit=2');
    assert.equal(first.statusCode, 200, first.body);
    const body = first.json();
    assert.equal(body.items.length, 2);
    assert.ok(body.next_cursor);
    const second = (await page(`?operation=CONFIG_CHANGE&limit=2&cursor=${body.next_cursor}`)).json();
    assert.ok(second.items[0].seq > body.items[1].seq);
    for (const item of [...body.items, ...second.items]) assert.equal(item.operation, 'CONFIG_CHANGE');
    const mine = (await page(`?access_key=AK_test_0001&result=SUCCESS&limit=1000`)).json();
    assert.ok(mine.items.every((i: { user_id: string }) => i.user_id === 'AK_test_0001'));
    const future = (await page(`?from=${encodeURIComponent('2999-01-01T00:00:00+01:00')}`)).json();
    assert.deepEqual(future.items, []);
    for (const bad of ['?cursor=bm90LWEtY3Vyc29y', '?cursor=%%%', '?limit=0', '?from=yesterday', '?result=MAYBE']) {
      const res = await page(bad);
      assert.equal(res.statusCode, 400, `${bad}: ${res.body}`);
    }
    const signer = await createOk({ roles: ['signer'] });
    const refused = await signedRequest(gw, 'GET', '/api/v1/audit', signer);
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json().error.message, /missing role admin or auditor/);
    const verify = await signedRequest(gw, 'GET', '/api/v1/audit/verify', auditor);
    assert.equal(verify.statusCode, 200);
    assert.equal(verify.json().ok, true, verify.body);
    assert.equal(verify.json().head.seq, verify.json().entries);
  });

  test('an unsupported method answers 405 with Allow, not 404 or 400', async () => {
    const key = await insertKey(gw.db);
    const cases: [string, string, RegExp][] = [
      ['DELETE', '/api/v1/keys', /^GET/],
      ['GET', '/api/v1/keys/generate', /^POST$/],
      ['PATCH', `/api/v1/keys/${key.key_id}`, /^DELETE, GET, HEAD$/],
      ['GET', `/api/v1/keys/${key.key_id}/sign`, /^POST$/],
      ['DELETE', '/api/v1/access-keys', /GET.*POST|POST.*GET/],
      ['POST', '/health', /^GET/],
    ];
    for (const [method, url, allow] of cases) {
      const res = await gw.app.inject({ method: method as 'GET', url });
      assert.equal(res.statusCode, 405, `${method} ${url}: ${res.body}`);
      assert.match(String(res.headers.allow), allow, `${method} ${url}`);
      assert.equal(res.json().error.code, 'METHOD_NOT_ALLOWED');
    }
    assert.equal((await gw.app.inject({ method: 'GET', url: '/api/v1/nothing' })).statusCode, 404);
  });
  test('every status the tests above met is declared for its operation in the OpenAPI document', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    const metrics = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
    const seen = [...metrics.matchAll(/custos_http_requests_total\{method="(\w+)",route="([^"]+)",status="(\d+)"\}/g)];
    assert.ok(seen.length > 10);
    for (const [, method, route, status] of seen) {
      // 404/405 of the not-found handler; a 405 is the path's answer to a method no operation has
      // (GET /api/v1/keys/generate matches {key_id} by shape, but its key_id schema never produces it).
      if (route === 'unmatched' || method === 'HEAD' || status === '405') continue;
      const path = route!.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[method!.toLowerCase()];
      assert.ok(op, `${method} ${path} documented`);
      assert.ok(op.responses[status!], `${method} ${path} declares ${status}`);
    }
  });
});

describe('X-Forwarded-For is believed only from a trusted proxy', { timeout: 30_000 }, () => {
  test('with and without trusted_proxies', async () => {
    for (const [trusted, expected] of [
      [['127.0.0.1'], 200],
      [[], 403],
    ] as const) {
      const gw = await startTestGateway({ trusted_proxies: [...trusted] });
      try {
        await gw.accessKeys.upsert({
          accessKey: 'AK_behind_proxy',
          secretKey: 'sk-behind-proxy-0001',
          enabled: true,
          allowedCidrs: ['203.0.113.0/24'],
          roles: ['signer'],
        });
        const res = await signedRequest(gw, 'GET', '/api/v1/keys', {
          accessKey: 'AK_behind_proxy',
          secretKey: 'sk-behind-proxy-0001',
          remoteAddress: '127.0.0.1',
          headers: { 'x-forwarded-for': '203.0.113.9' },
        });
        assert.equal(res.statusCode, expected, `trusted=${trusted.join()}: ${res.body}`);
        // A client cannot smuggle an allowed address past a trusted proxy by prepending it.
        const spoofed = await signedRequest(gw, 'GET', '/api/v1/keys', {
          accessKey: 'AK_behind_proxy',
          secretKey: 'sk-behind-proxy-0001',
          remoteAddress: '127.0.0.1',
          headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' },
        });
        assert.equal(spoofed.statusCode, 403);
      } finally {
        await gw.close();
      }
    }
  });
});
