/** Reads vitest's JSON report into the counts test/run.ts prints, applying the CI skip rule. */
import { z } from 'zod';

const Report = z.object({
  testResults: z.array(
    z.object({
      name: z.string(),
      status: z.string(),
      message: z.string().optional(),
      assertionResults: z.array(
        z.object({ ancestorTitles: z.array(z.string()), title: z.string(), status: z.string() }),
      ),
    }),
  ),
});

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** Why something counted as failed beyond a failed test: a file that did not load, a skip in CI. */
  notes: string[];
}

export interface CountOptions {
  relativePath: (file: string) => string;
  /** CI: a skipped test not on the allow-list is a failure. */
  failSkipped: boolean;
  allowList: ReadonlySet<string>;
}

const SKIPPED = new Set(['skipped', 'pending', 'todo', 'disabled']);

/** `path/to/x.test.ts > describe > test`: how the allow-list names a test. */
export function testKey(file: string, titles: readonly string[]): string {
  return [file, ...titles].join(' > ');
}

/** One test key a line; blank lines and `#` comments ignored. */
export function parseAllowList(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

/** Counts from the report; a run that died without a report, or exited non-zero, is never a pass. */
export function countReport(json: string | undefined, exitCode: number, o: CountOptions): Counts {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0, notes: [] };
  if (json !== undefined) {
    const report = Report.parse(JSON.parse(json));
    for (const file of report.testResults) {
      const path = o.relativePath(file.name);
      let failedHere = 0;
      for (const t of file.assertionResults) {
        if (t.status === 'passed') counts.passed++;
        else if (t.status === 'failed') failedHere++;
        else if (SKIPPED.has(t.status)) {
          const key = testKey(path, [...t.ancestorTitles, t.title]);
          if (o.failSkipped && !o.allowList.has(key)) {
            failedHere++;
            counts.notes.push(`skipped in CI and not on test/skip-allowlist.txt: ${key}`);
          } else counts.skipped++;
        } else {
          failedHere++;
          counts.notes.push(`unexpected status ${t.status}: ${testKey(path, [...t.ancestorTitles, t.title])}`);
        }
      }
      // A file that failed to load, or whose hook failed, can have no failed test: count the file.
      if (file.status === 'failed' && failedHere === 0) {
        failedHere = 1;
        counts.notes.push(`${path} failed outside any test${file.message ? `: ${firstLine(file.message)}` : ''}`);
      }
      counts.failed += failedHere;
    }
  }
  if (exitCode !== 0 && counts.failed === 0) {
    counts.failed = 1;
    counts.notes.push(`vitest exited with code ${exitCode} without a failed test in its report`);
  }
  return counts;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? '';
}
