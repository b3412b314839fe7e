import assert from 'node:assert/strict';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { healthyNodes, signedRequest, startTestGateway, type TestGateway } from '../testing/http-harness.ts';

describe('system routes', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw.close());

  test('/health answers without auth and carries a request id', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['x-request-id']), /^req_/);
  });

  test('/ready needs a majority of nodes reachable and unsealed', async () => {
    gw.coordinator.health_ = healthyNodes().map((n, i) => (i < 2 ? { ...n, sealed: true } : n));
    const down = await gw.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().ready, false);
    assert.equal(down.json().quorum, 3);
    gw.coordinator.health_ = healthyNodes().map((n, i) => (i === 0 ? { ...n, reachable: false } : n));
    const up = await gw.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(up.statusCode, 200);
    assert.equal(up.json().nodes.length, 4);
    const health = gw.coordinator.health.bind(gw.coordinator);
    gw.coordinator.health = () => Promise.reject(new Error('coordinator down'));
    try {
      assert.equal((await gw.app.inject({ method: 'GET', url: '/ready' })).statusCode, 503);
    } finally {
      gw.coordinator.health = health;
    }
  });

  test('/ready fails while the gateway drains for shutdown, with healthy nodes', async () => {
    let draining = false;
    const drainable = await startTestGateway({}, undefined, () => draining);
    try {
      drainable.coordinator.health_ = healthyNodes();
      assert.equal((await drainable.app.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
      draining = true;
      const res = await drainable.app.inject({ method: 'GET', url: '/ready' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().ready, false);
      // Still serving meanwhile: liveness and everything else answer.
      assert.equal((await drainable.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    } finally {
      await drainable.close();
    }
  });

  test('/metrics exposes request counts by route and status, and the audit chain length', async () => {
    await signedRequest(gw, 'GET', '/api/v1/keys');
    await gw.app.inject({ method: 'GET', url: '/api/v1/keys' });
    const text = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /custos_http_requests_total\{method="GET",route="\/api\/v1\/keys",status="200"\} 1/);
    assert.match(text, /custos_http_requests_total\{method="GET",route="\/api\/v1\/keys",status="401"\} 1/);
    assert.match(text, /custos_audit_chain_length [1-9]/);
    assert.match(text, /custos_mpc_session_duration_seconds/);
  });

  test('/api/v1/openapi.json is OpenAPI 3.1 and documents every route the app serves', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = JSON.parse(res.body);
    assert.equal(doc.openapi, '3.1.0');
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const routes = [
      'POST /api/v1/keys/generate',
      'GET /api/v1/keys',
      'GET /api/v1/keys/{key_id}',
      'POST /api/v1/keys/{key_id}/sign',
      'PUT /api/v1/keys/{key_id}/status',
      'PUT /api/v1/keys/{key_id}/sign-policy',
      'GET /api/v1/keys/{key_id}/aborts',
      'DELETE /api/v1/keys/{key_id}/aborts',
      'POST /api/v1/keys/{key_id}/refresh',
      'GET /api/v1/operations/{operation_id}',
      'POST /api/v1/access-keys',
      'GET /api/v1/access-keys',
      'GET /api/v1/access-keys/{id}',
      'POST /api/v1/access-keys/{id}/rotate',
      'PUT /api/v1/access-keys/{id}/status',
      'PUT /api/v1/access-keys/{id}/allowed-cidrs',
      'PUT /api/v1/access-keys/{id}/scopes',
      'GET /api/v1/audit',
      'GET /api/v1/audit/verify',
      'GET /api/v1/openapi.json',
      'GET /health',
      'GET /ready',
      'GET /metrics',
      // Governance (docs/policies-and-approvals.md).
      'DELETE /api/v1/keys/{key_id}',
      'POST /api/v1/policies',
      'GET /api/v1/policies',
      'GET /api/v1/policies/{policy_id}',
      'PUT /api/v1/policies/{policy_id}',
      'DELETE /api/v1/policies/{policy_id}',
      'GET /api/v1/approvals',
      'GET /api/v1/approvals/{approval_id}',
      'POST /api/v1/approvals/{approval_id}/approve',
      'POST /api/v1/approvals/{approval_id}/reject',
      // Backups (docs/operations.md).
      'POST /api/v1/backups',
      'GET /api/v1/backups',
      'POST /api/v1/backups/{set_id}/verifications',
      'POST /api/v1/backups/{set_id}/restores',
    ];
    assert.equal(documented.size, routes.length, 'nothing documented that is not served');
    for (const route of routes) {
      assert.ok(documented.has(route), `${route} documented`);
      const [method, path] = route.split(' ') as [string, string];
      const found = gw.app.hasRoute({ method: method as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') });
      assert.ok(found, `${route} served`);
    }
    const gen = doc.paths['/api/v1/keys/generate'].post;
    const reqSchema = gen.requestBody.content['application/json'].schema;
    assert.equal(reqSchema.additionalProperties, false);
    assert.ok(reqSchema.properties.shard_properties);
    assert.ok(gen.responses['201'] && gen.responses['409'] && gen.responses['422']);
    const err = gen.responses['422'].content['application/json'].schema;
    assert.ok(err.properties.error.properties.code.enum.includes('UNSUPPORTED_ALGORITHM'));
    // Every signed operation names all four headers and the answers any signed request can get.
    const schemes = Object.values(doc.components.securitySchemes).map((s) => (s as { name: string }).name);
    assert.deepEqual(schemes.sort(), ['X-KMS-AccessKey', 'X-KMS-Nonce', 'X-KMS-Signature', 'X-KMS-Timestamp']);
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.security) continue;
        assert.deepEqual(
          op.security,
          [{ AccessKey: [], Timestamp: [], Nonce: [], Signature: [] }],
          `${method} ${path}`,
        );
        for (const status of ['400', '401', '403', '413', '429', '500']) {
          assert.ok((op.responses as Record<string, unknown>)[status], `${method} ${path} declares ${status}`);
        }
        // A backup report names a set the gateway may never have seen (restored offline): no 404 there.
        if (path.includes('{') && !path.startsWith('/api/v1/backups/')) {
          assert.ok((op.responses as Record<string, unknown>)['404'], `${method} ${path} 404`);
        }
      }
    }
    assert.ok(doc.paths['/api/v1/audit'].get.parameters.some((p: { name: string }) => p.name === 'cursor'));
  });
});
