import { test } from 'vitest';
import assert from 'node:assert/strict';
import { checkRuntimeLicences, licenceOf, spdxAllowed } from './check-licenses.ts';

test('SPDX expressions: OR needs one allowed side, AND needs both', () => {
  assert.ok(spdxAllowed('MIT'));
  assert.ok(spdxAllowed('(MIT OR WTFPL)'));
  assert.ok(!spdxAllowed('WTFPL'));
  assert.ok(!spdxAllowed('(MIT AND CC-BY-NC-4.0)'));
  assert.ok(!spdxAllowed('CC0-1.0'));
  assert.ok(!spdxAllowed('UNKNOWN'));
  assert.equal(licenceOf({ licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] }), 'MIT OR Apache-2.0');
});

test('every runtime dependency carries an OSI-approved licence', () => {
  const { checked, problems } = checkRuntimeLicences(process.cwd());
  assert.ok(checked > 50, `only ${checked} packages found`);
  assert.deepEqual(
    problems.map((p) => `${p.name}@${p.version}: ${p.license} (${p.reason})`),
    [],
  );
});
