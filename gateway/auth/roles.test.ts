import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, beforeAll, afterAll } from 'vitest';
import {
  auditRows,
  healthyNodes,
  insertKey,
  signedRequest,
  startTestGateway,
  type TestGateway,
} from '../testing/http-harness.ts';
import { provisionBootstrapKey } from './access-keys.ts';
import { mayPerform, rolesGranting } from './roles.ts';

test('roles: key-admin manages but never signs; signer signs; admin does everything', () => {
  assert.equal(mayPerform(['key-admin'], 'KEY_SIGN'), false);
  assert.equal(mayPerform(['key-admin'], 'KEY_GENERATE'), true);
  assert.equal(mayPerform(['key-admin'], 'KEY_STATUS_CHANGE'), true);
  assert.equal(mayPerform(['key-admin'], undefined), true);
  assert.equal(mayPerform(['signer'], 'KEY_GENERATE'), false);
  assert.equal(mayPerform(['signer'], 'KEY_SIGN'), true);
  assert.equal(mayPerform(['admin'], 'KEY_SIGN'), true);
  assert.equal(mayPerform([], undefined), false);
});

test('roles: approver decides approvals, auditor reads the audit log, neither signs nor manages', () => {
  assert.equal(mayPerform(['approver'], 'APPROVAL_RESULT'), true);
  assert.equal(mayPerform(['approver'], 'KEY_SIGN'), false);
  assert.equal(mayPerform(['approver'], 'AUDIT_READ'), false);
  assert.equal(mayPerform(['auditor'], 'AUDIT_READ'), true);
  assert.equal(mayPerform(['auditor'], 'KEY_GENERATE'), false);
  assert.equal(mayPerform(['key-admin'], 'AUDIT_READ'), false);
  assert.equal(mayPerform(['key-admin'], 'CONFIG_CHANGE'), false);
  assert.deepEqual(rolesGranting('AUDIT_READ'), ['admin', 'auditor']);
  assert.deepEqual(rolesGranting('CONFIG_CHANGE'), ['admin']);
});

describe('a key-admin access key through the gateway API', () => {
  let gw: TestGateway;
  const keyAdmin = { accessKey: 'AK_key_admin', secretKey: 'sk_key_admin_secret_value_0001' };
  beforeAll(async () => {
    gw = await startTestGateway();
    gw.coordinator.health_ = healthyNodes();
    const dir = mkdtempSync(join(tmpdir(), 'custos-roles-'));
    const file = join(dir, 'credentials.json');
    writeFileSync(
      file,
      JSON.stringify({ access_key: keyAdmin.accessKey, secret_key: keyAdmin.secretKey, roles: ['key-admin'] }),
    );
    await provisionBootstrapKey(gw.accessKeys, file);
    // A credentials.json without roles (the shape written before roles existed) stays an admin.
    const legacy = join(dir, 'legacy.json');
    writeFileSync(legacy, JSON.stringify({ access_key: 'AK_legacy', secret_key: 'sk_legacy_secret_value_00001' }));
    await provisionBootstrapKey(gw.accessKeys, legacy);
  });
  afterAll(async () => gw.close());

  test('may read and change a key, is refused signing with 403, and the refusal is audited', async () => {
    const key = await insertKey(gw.db);
    const as = { accessKey: keyAdmin.accessKey, secretKey: keyAdmin.secretKey };
    assert.equal((await signedRequest(gw, 'GET', `/api/v1/keys/${key.key_id}`, as)).statusCode, 200);
    const frozen = await signedRequest(gw, 'PUT', `/api/v1/keys/${key.key_id}/status`, {
      ...as,
      body: { status: 'FROZEN' },
    });
    assert.equal(frozen.statusCode, 200, frozen.body);
    await signedRequest(gw, 'PUT', `/api/v1/keys/${key.key_id}/status`, { ...as, body: { status: 'ACTIVE' } });
    const sign = await signedRequest(gw, 'POST', `/api/v1/keys/${key.key_id}/sign`, {
      ...as,
      body: { data: `0x${'ab'.repeat(32)}`, data_type: 'HASH' },
    });
    assert.equal(sign.statusCode, 403, sign.body);
    assert.equal(sign.json().error.code, 'FORBIDDEN');
    assert.match(sign.json().error.message, /key-admin.*KEY_SIGN/);
    const audited = (await auditRows(gw.db)).filter((r) => r.request_id === sign.json().error.request_id);
    assert.equal(audited.length, 1);
    assert.equal(audited[0]!.operation, 'AUTH_REJECTED');
    assert.equal((await gw.accessKeys.get('AK_legacy'))?.roles.join(), 'admin');
    assert.deepEqual((await gw.accessKeys.get(keyAdmin.accessKey))?.roles, ['key-admin']);
  });
});
