import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, afterAll } from 'vitest';

const home = mkdtempSync(join(tmpdir(), 'custos-pki-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const cli = new URL('./dev-pki.ts', import.meta.url).pathname;

function run(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
}

test('dev-pki CLI creates the hierarchy once and reports what it did', () => {
  const first = run('--home', home, '--nodes', '2');
  assert.equal(first.status, 0, first.stderr);
  const created = first.stdout.trim().split('\n');
  assert.equal(created.length, 8);
  assert.ok(created.includes(`created ${join(home, 'certs/tss2/tss2.key')}`));
  assert.ok(existsSync(join(home, 'certs/gateway/gateway.cert')));
  assert.equal(existsSync(join(home, 'certs/tss3')), false);

  const second = run('--home', home, '--nodes', '2');
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /nothing created/);

  const bad = run('--home', home, '--nodes', 'four');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--nodes must be an integer/);
});
