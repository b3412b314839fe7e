import { test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { boundaryViolations, importSpecifiers, isTestSupport, testImportsOf } from './build-boundary.ts';

const root = new URL('..', import.meta.url).pathname;

test('finds every import form, and flags test support however it is reached', () => {
  const source = [
    "import { a } from '../../test/support/free-port.ts';",
    "import './testing/setup.ts';",
    "const m = await import('../x.test.ts');",
    "export { b } from './fine.ts';",
    "import { z } from 'zod';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(source), [
    '../../test/support/free-port.ts',
    './testing/setup.ts',
    '../x.test.ts',
    './fine.ts',
    'zod',
  ]);
  assert.deepEqual(testImportsOf('/r', '/r/gateway/db/server.ts', source), [
    'test/support/free-port.ts',
    'gateway/db/testing/setup.ts',
    'gateway/x.test.ts',
  ]);
  assert.equal(isTestSupport('common/protocols/testing/honest-dkg.ts'), true);
  assert.equal(isTestSupport('gateway/http/server.ts'), false);
});

test('no production source imports test support', () => {
  assert.deepEqual(boundaryViolations(root, '.ts'), []);
});

test('dist/ (when built) holds no test support and imports none', (t) => {
  const dist = join(root, 'dist');
  if (!existsSync(dist)) return t.skip('dist/ not built (npm run build)');
  assert.ok(!readdirSync(dist).includes('test'), 'dist/test exists');
  assert.deepEqual(boundaryViolations(dist, '.js'), []);
});
