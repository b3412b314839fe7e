import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { countReport, parseAllowList, testKey } from './vitest-report.ts';

const file = (status: string, tests: [string, string][], message?: string) => ({
  name: '/repo/x/a.test.ts',
  status,
  message,
  assertionResults: tests.map(([title, s]) => ({ ancestorTitles: ['group'], title, status: s })),
});
const report = (...files: ReturnType<typeof file>[]) => JSON.stringify({ testResults: files });
const opts = (failSkipped: boolean, allow: string[] = []) => ({
  relativePath: (f: string) => f.replace('/repo/', ''),
  failSkipped,
  allowList: new Set(allow),
});

describe('countReport', () => {
  test('counts passed, failed and skipped tests', () => {
    const c = countReport(
      report(
        file('failed', [
          ['a', 'passed'],
          ['b', 'failed'],
          ['c', 'skipped'],
          ['d', 'todo'],
        ]),
      ),
      1,
      opts(false),
    );
    assert.deepEqual([c.passed, c.failed, c.skipped], [1, 1, 2]);
  });

  test('in CI a skip fails unless allow-listed by file and full name', () => {
    const json = report(
      file('passed', [
        ['a', 'passed'],
        ['c', 'skipped'],
        ['d', 'skipped'],
      ]),
    );
    const c = countReport(json, 0, opts(true, ['x/a.test.ts > group > d']));
    assert.deepEqual([c.passed, c.failed, c.skipped], [1, 1, 1]);
    assert.match(c.notes.join('\n'), /not on test\/skip-allowlist.txt: x\/a.test.ts > group > c/);
  });

  test('a file that failed outside any test counts as one failure', () => {
    const c = countReport(report(file('failed', [['a', 'skipped']], 'Hook timed out\nstack')), 1, opts(false));
    assert.equal(c.failed, 1);
    assert.match(c.notes[0]!, /x\/a.test.ts failed outside any test: Hook timed out$/);
  });

  test('a non-zero exit without a report, or with an all-green report, is a failure', () => {
    assert.equal(countReport(undefined, 1, opts(false)).failed, 1);
    assert.equal(countReport(report(file('passed', [['a', 'passed']])), 1, opts(false)).failed, 1);
    assert.deepEqual(countReport(undefined, 0, opts(false)), { passed: 0, failed: 0, skipped: 0, notes: [] });
  });

  test('a malformed report is an error, not a pass', () => {
    assert.throws(() => countReport('{"testResults": 3}', 0, opts(false)));
  });
});

test('parseAllowList ignores comments and blank lines', () => {
  const list = parseAllowList(`# why\n\n  ${testKey('a.test.ts', ['g', 't'])}  \n`);
  assert.deepEqual([...list], ['a.test.ts > g > t']);
});
