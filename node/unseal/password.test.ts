import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, afterAll } from 'vitest';
import {
  MAX_PASSWORD_BYTES,
  UnsealPasswordError,
  readUnsealPassword,
  type UnsealPasswordErrorCode,
} from './password.ts';

const dir = mkdtempSync(join(tmpdir(), 'custos-unseal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

async function rejectsWith(promise: Promise<unknown>, code: UnsealPasswordErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UnsealPasswordError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('readUnsealPassword', () => {
  test('reads a mounted Secret file, trimming only the trailing newline', async () => {
    const cases: [string | Buffer, string][] = [
      ['hunter2\n', 'hunter2'],
      ['hunter2\r\n', 'hunter2'],
      ['hunter2', 'hunter2'],
      [' spaced pass \n\n', ' spaced pass '],
      ['pässwört\n', 'pässwört'],
    ];
    for (const [content, expected] of cases) {
      const file = join(dir, 'password');
      writeFileSync(file, content);
      assert.deepEqual(await readUnsealPassword({ file, devMode: false }), bytes(expected));
    }
  });

  test('a file wins over the environment, even outside dev mode', async () => {
    const file = join(dir, 'from-file');
    writeFileSync(file, 'file-password\n');
    process.env.CUSTOS_TEST_UNSEAL = 'env-password';
    try {
      const got = await readUnsealPassword({ file, env: 'CUSTOS_TEST_UNSEAL', devMode: false });
      assert.deepEqual(got, bytes('file-password'));
    } finally {
      delete process.env.CUSTOS_TEST_UNSEAL;
    }
  });

  test('refuses missing, empty and oversized files', async () => {
    await rejectsWith(readUnsealPassword({ file: join(dir, 'absent'), devMode: true }), 'UNREADABLE');
    for (const content of ['', '\n', 'x'.repeat(MAX_PASSWORD_BYTES + 1)]) {
      writeFileSync(join(dir, 'bad'), content);
      await rejectsWith(readUnsealPassword({ file: join(dir, 'bad'), devMode: true }), 'INVALID');
    }
  });

  test('reads an environment variable in dev mode only', async () => {
    process.env.CUSTOS_TEST_UNSEAL = 'dev-password';
    try {
      assert.deepEqual(await readUnsealPassword({ env: 'CUSTOS_TEST_UNSEAL', devMode: true }), bytes('dev-password'));
      await rejectsWith(readUnsealPassword({ env: 'CUSTOS_TEST_UNSEAL', devMode: false }), 'ENV_REFUSED');
      await rejectsWith(readUnsealPassword({ env: 'CUSTOS_TEST_UNSEAL', devMode: false, tty: true }), 'ENV_REFUSED');
      process.env.CUSTOS_TEST_UNSEAL = '';
      await rejectsWith(readUnsealPassword({ env: 'CUSTOS_TEST_UNSEAL', devMode: true }), 'INVALID');
    } finally {
      delete process.env.CUSTOS_TEST_UNSEAL;
    }
    await rejectsWith(readUnsealPassword({ env: 'CUSTOS_TEST_UNSET', devMode: true }), 'UNREADABLE');
  });

  test('without a source, or without a terminal, it refuses', async () => {
    await rejectsWith(readUnsealPassword({ devMode: true }), 'NO_SOURCE');
    if (!process.stdin.isTTY) await rejectsWith(readUnsealPassword({ devMode: false, tty: true }), 'NO_TTY');
  });
});

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs readUnsealPassword({tty: true}) in a child on a pseudo-terminal (util-linux `script`), types
 * `keys` once the prompt shows, and returns what the terminal displayed and the child's result.
 */
function promptThroughPty(keys: string): Promise<{ screen: string; result: string }> {
  const program = [
    "import { readUnsealPassword } from './node/unseal/password.ts';",
    'readUnsealPassword({ devMode: false, tty: true }).then(',
    "  (p) => console.log('RESULT hex:' + Buffer.from(p).toString('hex')),",
    "  (e) => console.log('RESULT error:' + e.code));",
  ].join('\n');
  const command = `${process.execPath} --import tsx --input-type=module -e "${program.replace(/"/g, '\\"')}"`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: process.cwd(), stdio: 'pipe' });
  let screen = '';
  let typed = false;
  return new Promise((resolve, reject) => {
    // A safety net so a hung child cannot hang the suite; not a timing assertion.
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      if (!typed && screen.includes('Unseal password: ')) {
        typed = true;
        child.stdin.write(keys);
      }
      const match = /RESULT (\S+)/.exec(screen);
      if (match) {
        clearTimeout(guard);
        child.stdin.end();
        child.once('exit', () => resolve({ screen, result: match[1] as string }));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(guard);
      if (!/RESULT/.test(screen)) reject(new Error(`pty child exited (${code}) without a result: ${screen}`));
    });
  });
}

describe('readUnsealPassword at a terminal', () => {
  test('reads a typed password with echo off; backspace and Ctrl-U edit it', async (t) => {
    if (!hasScript()) return t.skip('util-linux script not available');
    const { screen, result } = await promptThroughPty('wrong\x15s3cr3t-püX\x7f\r');
    assert.equal(result, `hex:${Buffer.from('s3cr3t-pü').toString('hex')}`);
    assert.ok(!screen.includes('s3cr3t'), `the password was echoed: ${JSON.stringify(screen)}`);
    assert.ok(!screen.includes('wrong'), 'erased input was echoed');
  });

  test('Ctrl-C cancels', async (t) => {
    if (!hasScript()) return t.skip('util-linux script not available');
    const { result } = await promptThroughPty('abc\x03');
    assert.equal(result, 'error:CANCELLED');
  });
});
