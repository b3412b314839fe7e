/** The test suites: `unit` (every *.test.ts outside test/) and one per folder under test/ holding tests. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Folders under test/ that hold test helpers, not a suite (their own tests run in `unit`). */
const NOT_SUITES = new Set(['support']);

function hasTests(dir: string): boolean {
  return readdirSync(dir).some((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? hasTests(p) : name.endsWith('.test.ts');
  });
}

/** Folders under `testDir` with at least one *.test.ts: each is a suite, run one file at a time. */
export function processSuites(testDir: string): string[] {
  return readdirSync(testDir)
    .filter((name) => !NOT_SUITES.has(name))
    .filter((name) => statSync(join(testDir, name)).isDirectory() && hasTests(join(testDir, name)))
    .sort();
}
