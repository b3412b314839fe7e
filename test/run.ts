/**
 * Runs every test suite with vitest, one suite after another, and prints one closing line that sums
 * them all: `N passed, N failed, N skipped`. Suites are the projects of vitest.config.ts: `unit`
 * (every *.test.ts outside test/), then one per folder under test/. `npm test -- unit integration`
 * runs only those. With CI=true a skipped test counts as failed unless test/skip-allowlist.txt names it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { processSuites } from './support/suites.ts';
import { countReport, parseAllowList, type Counts } from './support/vitest-report.ts';

const root = new URL('..', import.meta.url).pathname;
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const inCi = process.env.CI === 'true';
const allowList = parseAllowList(readFileSync(join(root, 'test', 'skip-allowlist.txt'), 'utf8'));

function runSuite(name: string): Promise<Counts> {
  const report = join(mkdtempSync(join(tmpdir(), 'custos-test-')), 'report.json');
  const args = ['run', '--project', name, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
  console.log(`\n=== suite ${name}`);
  return new Promise((resolve) => {
    const child = spawn(vitest, args, { cwd: root, stdio: 'inherit', env: process.env });
    child.on('exit', (code, signal) => {
      const json = existsSync(report) ? readFileSync(report, 'utf8') : undefined;
      const counts = countReport(json, code ?? (signal ? 1 : 0), {
        relativePath: (file) => relative(root, file),
        failSkipped: inCi,
        allowList,
      });
      for (const line of counts.notes) console.log(`=== suite ${name}: ${line}`);
      console.log(`=== suite ${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
      resolve(counts);
    });
  });
}

const wanted = process.argv.slice(2);
const known = ['unit', ...processSuites(join(root, 'test'))];
const unknown = wanted.filter((w) => !known.includes(w));
if (unknown.length) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; suites are ${known.join(', ')}`);
  process.exit(2);
}
const total = { passed: 0, failed: 0, skipped: 0 };
for (const name of known) {
  if (wanted.length && !wanted.includes(name)) continue;
  const r = await runSuite(name);
  total.passed += r.passed;
  total.failed += r.failed;
  total.skipped += r.skipped;
}
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
