import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CALL_SITES, OPERATOR_NAMESPACE_RULES, OPERATOR_RULES } from './rbac.ts';

const root = new URL('..', import.meta.url).pathname;

test('every granted verb has a call site, and every recorded call site is granted and exists', () => {
  const granted = [...OPERATOR_RULES, ...OPERATOR_NAMESPACE_RULES].flatMap((r) =>
    r.resources.flatMap((res) => r.verbs.map((v) => `${res} ${v}`)),
  );
  assert.deepEqual([...granted].sort(), Object.keys(CALL_SITES).sort(), 'granted verbs and call sites differ');
  for (const [grant, [file, code]] of Object.entries(CALL_SITES)) {
    const source = readFileSync(`${root}${file}`, 'utf8');
    assert.ok(source.includes(code), `${grant}: ${file} no longer contains ${JSON.stringify(code)}`);
  }
});

test('no wildcard, no escalation verbs, Secrets never listed or watched', () => {
  for (const r of [...OPERATOR_RULES, ...OPERATOR_NAMESPACE_RULES]) {
    assert.ok(!r.verbs.includes('*') && !r.resources.includes('*') && !r.apiGroups.includes('*'));
    for (const v of ['escalate', 'bind', 'impersonate', 'deletecollection']) assert.ok(!r.verbs.includes(v));
    if (r.resources.includes('secrets')) assert.deepEqual(r.verbs, ['get', 'create']);
  }
});
