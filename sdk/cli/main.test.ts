/** The `custos` executable as a real process (shebang and all) against a signature-verifying gateway. */
import { test, type TestContext } from 'vitest';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  TEST_ACCESS_KEY,
  TEST_SECRET_KEY,
  errorReply,
  sampleKey,
  startScriptedGateway,
} from '../testing/scripted-gateway.ts';
import type { Script, ScriptedGateway } from '../testing/scripted-gateway.ts';

const CLI = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const KEY = 'key_0123456789abcdef0123456789abcdef';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCustos(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, { cwd: REPO, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      // Whatever happens, the secret key never reaches the terminal.
      if (stdout.includes(TEST_SECRET_KEY) || stderr.includes(TEST_SECRET_KEY)) reject(new Error('secret key printed'));
      else resolve({ code, stdout, stderr });
    });
  });
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'custos-cli-'));
  t.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A CUSTOS_HOME whose credentials.json points at the gateway. */
function custosHome(t: TestContext, baseUrl: string): string {
  const home = tempDir(t);
  const creds = { base_url: baseUrl, access_key: TEST_ACCESS_KEY, secret_key: TEST_SECRET_KEY };
  writeFileSync(join(home, 'credentials.json'), JSON.stringify(creds));
  return home;
}

async function withGateway(t: TestContext, script: Script) {
  const gateway: ScriptedGateway = await startScriptedGateway(script);
  t.onTestFinished(() => gateway.close());
  return { gateway, env: { CUSTOS_HOME: custosHome(t, gateway.url) } };
}

test('keys generate --algo EDDSA prints the new key as JSON; the request is signed and idempotent', async (t) => {
  const key = sampleKey({ label: 'ops-hot' });
  const { gateway, env } = await withGateway(t, () => ({ status: 201, body: key }));
  const run = await runCustos(['keys', 'generate', '--algo', 'EDDSA', '--label', 'ops-hot'], env);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), key);
  assert.match(run.stdout, /^\{\n {2}"key_id"/, 'pretty JSON');
  const [req] = gateway.requests;
  assert.ok(req!.signatureValid);
  assert.equal(req!.url, '/api/v1/keys/generate');
  assert.deepEqual(JSON.parse(req!.body.toString()), {
    format: { type: 'ECC', curve: 'ED25519', algo_type: 'EDDSA', size: 32 },
    label: 'ops-hot',
  });
  assert.ok(req!.headers['idempotency-key']);
});

test('keys list --all walks every page', async (t) => {
  const { gateway, env } = await withGateway(t, (req) =>
    req.url.includes('cursor=')
      ? { status: 200, body: { keys: [sampleKey({ key_id: `key_${'b'.repeat(32)}` })], next_cursor: null } }
      : { status: 200, body: { keys: [sampleKey({ key_id: `key_${'a'.repeat(32)}` })], next_cursor: 'next' } },
  );
  const run = await runCustos(['keys', 'list', '--all', '--status', 'ACTIVE'], env);
  assert.equal(run.code, 0, run.stderr);
  const ids = (JSON.parse(run.stdout) as { keys: { key_id: string }[] }).keys.map((k) => k.key_id);
  assert.deepEqual(ids, [`key_${'a'.repeat(32)}`, `key_${'b'.repeat(32)}`]);
  assert.deepEqual(
    gateway.requests.map((r) => r.url),
    ['/api/v1/keys?status=ACTIVE', '/api/v1/keys?cursor=next&status=ACTIVE'],
  );
});

test('keys sign --type EIP712 --data-file sends the typed data', async (t) => {
  const answer = { key_id: KEY, signature: '0x' + 'ab'.repeat(65), v: 27, signer_nodes: ['tss1', 'tss3'] };
  const { gateway, env } = await withGateway(t, () => ({ status: 200, body: answer }));
  const typed = { types: { EIP712Domain: [] }, primaryType: 'EIP712Domain', domain: { name: 'Ünïcode' }, message: {} };
  const file = join(env.CUSTOS_HOME, 'typed.json');
  writeFileSync(file, JSON.stringify(typed));
  const run = await runCustos(['keys', 'sign', KEY, '--type', 'EIP712', '--data-file', file], env);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), answer);
  const [req] = gateway.requests;
  assert.ok(req!.signatureValid);
  assert.equal(req!.url, `/api/v1/keys/${KEY}/sign`);
  assert.deepEqual(JSON.parse(req!.body.toString()), { data: typed, data_type: 'EIP712' });
});

test('keys status with --credentials FILE and --base-url overriding the file', async (t) => {
  const gateway = await startScriptedGateway(() => ({ status: 200, body: sampleKey({ status: 'ARCHIVED' }) }));
  t.onTestFinished(() => gateway.close());
  const home = custosHome(t, 'http://127.0.0.1:9'); // the file's own URL is never dialled
  const run = await runCustos(
    ['--credentials', join(home, 'credentials.json'), '--base-url', gateway.url, 'keys', 'status', KEY, 'ARCHIVED'],
    { CUSTOS_HOME: '/nonexistent' },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as { status: string }).status, 'ARCHIVED');
  assert.equal(gateway.requests[0]!.method, 'PUT');
  assert.deepEqual(JSON.parse(gateway.requests[0]!.body.toString()), { status: 'ARCHIVED' });
});

test('a gateway error is one line on stderr with code and request id, exit 1', async (t) => {
  const { env } = await withGateway(t, () => errorReply(404, 'NOT_FOUND', `no key ${KEY}`));
  const run = await runCustos(['keys', 'get', KEY], env);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, `custos: NOT_FOUND: no key ${KEY} (HTTP 404, request_id req_404)\n`);
});

test('ready prints the readiness and exits 1 when the cluster is not ready', async (t) => {
  const notReady = { ready: false, quorum: 2, nodes: [] };
  const { env } = await withGateway(t, () => ({ status: 503, body: notReady }));
  const run = await runCustos(['ready'], env);
  assert.equal(run.code, 1);
  assert.deepEqual(JSON.parse(run.stdout), notReady);
});

test('missing or malformed credentials: a clear error naming the file, exit 1', async (t) => {
  const home = tempDir(t);
  const path = join(home, 'credentials.json');
  const missing = await runCustos(['keys', 'list'], { CUSTOS_HOME: home });
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    `custos: credentials file ${path} not found; run "make run" to create it, or pass --credentials FILE\n`,
  );

  writeFileSync(path, JSON.stringify({ base_url: 'http://127.0.0.1:1', secret_key: TEST_SECRET_KEY }));
  const malformed = await runCustos(['keys', 'list'], { CUSTOS_HOME: home });
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, new RegExp(`^custos: credentials file ${path} is malformed \\(access_key: .*\\)\\n$`));
});

test('usage errors exit 2 before reading credentials', async () => {
  const run = await runCustos(['keys', 'sign', KEY, '--type', 'HASH', '--data', 'nothex'], {
    CUSTOS_HOME: '/nonexistent',
  });
  assert.equal(run.code, 2);
  assert.equal(run.stderr, 'custos: --data must be 0x-prefixed hex bytes (see custos --help)\n');
});
