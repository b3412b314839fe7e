import { test } from 'vitest';
import assert from 'node:assert/strict';
import { internalErrorSite } from './session.ts';

test('an internal error is logged by its type and stack frames, never its message', () => {
  const secret = 'deadbeef'.repeat(8);
  const site = internalErrorSite(new RangeError(`expected 1 <= sk < n, got ${secret}`));
  assert.match(site, /^RangeError \| at /);
  assert.ok(!site.includes(secret));
  assert.equal(internalErrorSite('a string'), 'string');
});
