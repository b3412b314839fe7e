import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from './password.ts';

const FAST = { N: 2 ** 10, r: 8, p: 1, dkLen: 32 } as const;

describe('console passwords', () => {
  test('the right password verifies, a wrong one does not', async () => {
    const stored = await hashPassword('correct horse battery', FAST);
    assert.match(stored, /^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    assert.equal(await verifyPassword('correct horse battery', stored), true);
    assert.equal(await verifyPassword('correct horse batterz', stored), false);
  });

  test('the same password hashes differently each time (salted)', async () => {
    assert.notEqual(
      await hashPassword('correct horse battery', FAST),
      await hashPassword('correct horse battery', FAST),
    );
  });

  test('attacker edits the stored hash: cost lowered or hash swapped never verifies', async () => {
    const stored = await hashPassword('correct horse battery', FAST);
    const parts = stored.split('$');
    assert.equal(
      await verifyPassword('correct horse battery', [...parts.slice(0, 1), '2', ...parts.slice(2)].join('$')),
      false,
    );
    const other = (await hashPassword('another password!', FAST)).split('$');
    assert.equal(await verifyPassword('correct horse battery', [...parts.slice(0, 5), other[5]].join('$')), false);
    assert.equal(await verifyPassword('correct horse battery', 'plain-text'), false);
  });

  test('short passwords are refused', async () => {
    await assert.rejects(hashPassword('short', FAST), /at least 12/);
  });
});
