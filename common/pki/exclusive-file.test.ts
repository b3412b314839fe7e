import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, afterAll } from 'vitest';
import { writeFileExclusive } from './exclusive-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'custos-excl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('writes a new file with the exact mode and never replaces an existing one', async () => {
  const path = join(dir, 'nested/secret.key');
  assert.equal(await writeFileExclusive(path, 'first', 0o600), true);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(await writeFileExclusive(path, 'second', 0o644), false);
  assert.equal(readFileSync(path, 'utf8'), 'first');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(join(dir, 'nested')), ['secret.key'], 'no temporary file left');
});

test('concurrent writers: exactly one wins', async () => {
  const path = join(dir, 'race');
  const results = await Promise.all(['a', 'b', 'c', 'd'].map((v) => writeFileExclusive(path, v, 0o600)));
  assert.equal(results.filter(Boolean).length, 1);
  assert.equal(readFileSync(path, 'utf8'), ['a', 'b', 'c', 'd'][results.indexOf(true)]);
  assert.deepEqual(readdirSync(dir).sort(), ['nested', 'race']);
});
