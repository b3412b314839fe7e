import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { loadConfig } from './config.ts';

describe('gateway config', () => {
  test('defaults: four loopback nodes, GG18, DKLS23, EDDSA and BLS, 256 KiB bodies', () => {
    const c = loadConfig({});
    assert.equal(c.nodes.length, 4);
    assert.deepEqual(c.algorithms, ['GG18', 'DKLS23', 'EDDSA', 'BLS']);
    assert.equal(c.body_limit_bytes, 262144);
    assert.ok(c.home.startsWith('/'));
  });

  test('a JSON file, overridden by the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-cfg-'));
    try {
      const file = join(dir, 'gw.json');
      writeFileSync(
        file,
        JSON.stringify({ port: 9999, algorithms: ['EDDSA'], database: { url: 'mysql://u:p@127.0.0.1/custos' } }),
      );
      const c = loadConfig({
        CUSTOS_GATEWAY_CONFIG: file,
        CUSTOS_GATEWAY_PORT: '8443',
        CUSTOS_NODES: 'a=127.0.0.1:1, b=127.0.0.1:2',
      });
      assert.equal(c.port, 8443);
      assert.deepEqual(c.algorithms, ['EDDSA']);
      assert.equal(c.database.url, 'mysql://u:p@127.0.0.1/custos');
      assert.deepEqual(c.nodes, [
        { id: 'a', address: '127.0.0.1:1' },
        { id: 'b', address: '127.0.0.1:2' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('invalid values and unknown keys are refused with the field named', () => {
    assert.throws(() => loadConfig({ CUSTOS_ALGORITHMS: 'EDDSA,RSA' }), /algorithms/);
    // A known algorithm this build does not implement would pass requests on to the nodes (502).
    assert.throws(() => loadConfig({ CUSTOS_ALGORITHMS: 'GG18,DMZ21' }), /algorithms/);
    assert.throws(() => loadConfig({ CUSTOS_DATABASE_URL: 'postgres://x' }), /database/);
    assert.throws(() => loadConfig({ CUSTOS_NODES: 'nonsense' }), /CUSTOS_NODES/);
    assert.throws(() => loadConfig({ CUSTOS_GATEWAY_AUDIT_KEY: 'abc' }), /audit key: 64 hex digits/);
  });

  test('the console: on 8880 by default; env refines the file console section', () => {
    const d = loadConfig({});
    assert.equal(d.console.enabled, true);
    assert.equal(d.console.port, 8880);
    assert.equal(d.console.lockout_failures, 5);
    const dir = mkdtempSync(join(tmpdir(), 'custos-cfg-'));
    try {
      const file = join(dir, 'gw.json');
      writeFileSync(file, JSON.stringify({ console: { lockout_failures: 3, port: 9000 } }));
      const c = loadConfig({ CUSTOS_GATEWAY_CONFIG: file, CUSTOS_CONSOLE_PORT: '18880', CUSTOS_CONSOLE_ENABLED: '0' });
      assert.equal(c.console.port, 18880);
      assert.equal(c.console.lockout_failures, 3);
      assert.equal(c.console.enabled, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => loadConfig({ CUSTOS_CONSOLE_PORT: 'http' }), /CUSTOS_CONSOLE_PORT/);
  });

  test('replicas share the audit signing key through the environment', () => {
    assert.equal(loadConfig({ CUSTOS_GATEWAY_AUDIT_KEY: 'ab'.repeat(32) }).audit_key_hex, 'ab'.repeat(32));
    assert.equal(loadConfig({}).audit_key_hex, undefined);
  });
});

test('the served algorithms are exactly the schemes the build implements', async () => {
  const { builtinSchemes } = await import('../common/protocols/registry.ts');
  const { SERVED_ALGORITHMS } = await import('../common/api/schemas.ts');
  assert.deepEqual([...builtinSchemes().keys()].sort(), [...SERVED_ALGORITHMS].sort());
});
