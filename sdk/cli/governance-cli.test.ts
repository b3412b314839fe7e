/** `custos access-keys ...` and `custos audit ...` against the real gateway app on a loopback port. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, beforeAll, afterAll } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, startTestGateway, type TestGateway } from '../../gateway/testing/http-harness.ts';
import { runCli, type CliIo } from './run.ts';

describe('custos access-keys and audit against a real gateway', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let dir: string;
  let baseUrl: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    await gw.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = gw.app.server.address() as { port: number };
    baseUrl = `http://127.0.0.1:${port}`;
    dir = mkdtempSync(join(tmpdir(), 'custos-gov-cli-'));
    writeFileSync(
      join(dir, 'admin.json'),
      JSON.stringify({ base_url: baseUrl, access_key: ACCESS_KEY, secret_key: SECRET_KEY }),
    );
  });
  afterAll(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function custos(credentials: string, ...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      env: {},
      cwd: dir,
      readText: (p) => readFileSync(p, 'utf8'),
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      writeSecretFile: (p, text) => writeFileSync(p, text, { mode: 0o600, flag: 'wx' }),
    };
    const code = await runCli(['--credentials', join(dir, credentials), ...argv], io);
    return { code, stdout, stderr };
  }

  test('create writes credentials.json once; list, audit query/export/verify; rotate; disable and enable', async () => {
    const made = await custos(
      'admin.json',
      'access-keys',
      'create',
      '--name',
      'audit-team',
      '--roles',
      'auditor',
      '--cidr',
      '127.0.0.1',
      '--cidr',
      '::1/128',
      '--out',
      'auditor.json',
    );
    assert.equal(made.code, 0, made.stderr);
    const creds = JSON.parse(readFileSync(join(dir, 'auditor.json'), 'utf8'));
    assert.deepEqual(Object.keys(creds).sort(), ['access_key', 'base_url', 'secret_key']);
    assert.equal(statSync(join(dir, 'auditor.json')).mode & 0o777, 0o600);
    assert.ok(!made.stdout.includes(creds.secret_key), 'the secret goes to the file only');
    assert.deepEqual(JSON.parse(made.stdout).roles, ['auditor']);

    const list = await custos('admin.json', 'access-keys', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.ok(!list.stdout.includes(creds.secret_key));
    assert.ok(
      JSON.parse(list.stdout).access_keys.some((k: { access_key: string }) => k.access_key === creds.access_key),
    );

    const query = await custos('auditor.json', 'audit', 'query', '--operation', 'config_change', '--limit', '5');
    assert.equal(query.code, 0, query.stderr);
    assert.equal(JSON.parse(query.stdout).items[0].operation, 'CONFIG_CHANGE');
    const exported = await custos('auditor.json', 'audit', 'export');
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number });
    assert.deepEqual(
      lines.map((l) => l.seq),
      Array.from({ length: lines.length }, (_, i) => i + 1),
    );
    const verify = await custos('auditor.json', 'audit', 'verify', '--public-key', gw.audit.publicKeyHex);
    assert.equal(verify.code, 0, verify.stdout);
    const pinnedWrong = await custos('auditor.json', 'audit', 'verify', '--public-key', '00'.repeat(32));
    assert.equal(pinnedWrong.code, 1);
    assert.match(JSON.parse(pinnedWrong.stdout).reason, /not the pinned/);
    // An auditor manages nothing.
    const refused = await custos('auditor.json', 'access-keys', 'list');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /FORBIDDEN: .*missing role admin \(HTTP 403/);

    const rotated = await custos(
      'admin.json',
      'access-keys',
      'rotate',
      creds.access_key,
      '--grace-seconds',
      '0',
      '--out',
      'auditor-2.json',
    );
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal((await custos('auditor.json', 'audit', 'query')).code, 1, 'old secret without grace');
    assert.equal((await custos('auditor-2.json', 'audit', 'query')).code, 0);

    assert.equal((await custos('admin.json', 'access-keys', 'disable', creds.access_key)).code, 0);
    const disabled = await custos('auditor-2.json', 'audit', 'query');
    assert.match(disabled.stderr, /HTTP 403/);
    assert.equal((await custos('admin.json', 'access-keys', 'enable', creds.access_key)).code, 0);
    assert.equal((await custos('auditor-2.json', 'audit', 'query')).code, 0);
  });

  test('bad roles, scopes, CIDRs and audit filters are usage errors (exit 2) before any request', async () => {
    const cases = [
      ['access-keys', 'create', '--roles', 'root'],
      ['access-keys', 'create', '--scope', 'label'],
      ['access-keys', 'create', '--scope', 'key_id:nope'],
      ['access-keys', 'create', '--cidr', '10.0.0.0/'],
      ['access-keys', 'rotate', 'AK1', '--grace-seconds', '-1'],
      ['audit', 'query', '--result', 'MAYBE'],
      ['audit', 'query', '--from', 'yesterday'],
      ['audit', 'verify', '--public-key', 'xyz'],
    ];
    for (const argv of cases) {
      const run = await custos('admin.json', ...argv);
      assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
    }
    const scoped = await custos(
      'admin.json',
      'access-keys',
      'create',
      '--roles',
      'signer',
      '--scope',
      'label-prefix:pay/',
      '--scope',
      'key_id:key_0123456789abcdef0123456789abcdef',
    );
    assert.equal(scoped.code, 0, scoped.stderr);
    const out = JSON.parse(scoped.stdout);
    assert.deepEqual(out.scopes, [{ label_prefix: 'pay/' }, { key_id: 'key_0123456789abcdef0123456789abcdef' }]);
    assert.ok(out.secret_key, 'without --out the secret is printed, once');
  });
});
