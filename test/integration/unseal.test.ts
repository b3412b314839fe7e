/**
 * The node process and its unseal password: a wrong password or a tampered .dek stops the node
 * with a clear error before it serves sessions, and changes nothing on disk.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDevPki } from '../../common/pki/dev-pki.ts';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const entry =
  process.env.CUSTOS_RUNTIME === 'dist' ? [join(ROOT, 'dist/node/main.js')] : ['--import', 'tsx', 'node/main.ts'];

interface Run {
  code: number | null;
  output: string;
}

/** Starts the node; resolves with its output once it is unsealed (then stops it) or has exited. */
function runNode(home: string, passwordFile: string): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, entry, {
      cwd: ROOT,
      env: {
        ...process.env,
        CUSTOS_NODE_ID: 'tss1',
        CUSTOS_HOME: home,
        CUSTOS_LISTEN: '127.0.0.1:0',
        CUSTOS_UNSEAL_PASSWORD_FILE: passwordFile,
        CUSTOS_GG18_POOL_SIZE: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (b: Buffer) => {
      output += b.toString();
      if (output.includes('unsealed, serving sessions')) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => done({ code, output }));
  });
}

function snapshot(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) snapshot(p, out);
    else out.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return out;
}

test('first start creates the DEK, the right password reopens it, a wrong one stops the node', async () => {
  const home = mkdtempSync(join(tmpdir(), 'custos-unseal-'));
  await ensureDevPki(home, ['tss1']);
  const good = join(home, 'good.password');
  const bad = join(home, 'bad.password');
  writeFileSync(good, 'correct horse battery staple\n', { mode: 0o600 });
  writeFileSync(bad, 'incorrect horse\n', { mode: 0o600 });

  const first = await runNode(home, good);
  assert.match(first.output, /unsealed, serving sessions/);
  const dek = join(home, 'certs', 'tss1', 'tss1.dek');
  assert.ok(existsSync(dek));
  const again = await runNode(home, good);
  assert.match(again.output, /unsealed, serving sessions/);

  const before = snapshot(home);
  const wrong = await runNode(home, bad);
  assert.equal(wrong.code, 2);
  assert.match(wrong.output, /WRONG_PASSWORD/);
  assert.doesNotMatch(wrong.output, /serving sessions/);
  assert.doesNotMatch(wrong.output, /incorrect horse|correct horse/);
  assert.deepEqual(snapshot(home), before, 'nothing on disk changed');

  const text = readFileSync(dek, 'utf8');
  const tampered = text.replace(/"ciphertext":"(.)/, (_m, c: string) => `"ciphertext":"${c === 'A' ? 'B' : 'A'}`);
  assert.notEqual(tampered, text, 'the test flipped a character of the wrapped DEK');
  writeFileSync(dek, tampered);
  const afterTamper = snapshot(home);
  const broken = await runNode(home, good);
  assert.equal(broken.code, 2);
  assert.match(broken.output, /TAMPERED/);
  assert.deepEqual(snapshot(home), afterTamper, 'nothing on disk changed');
});

test('a missing password file is a clear error', async () => {
  const home = mkdtempSync(join(tmpdir(), 'custos-unseal-'));
  await ensureDevPki(home, ['tss1']);
  const run = await runNode(home, join(home, 'no-such-file'));
  assert.equal(run.code, 2);
  assert.match(run.output, /tss-node: \w+: .*no-such-file/);
});
