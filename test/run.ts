/**
 * Runs every test suite with node's test runner and prints one closing line that sums them all:
 * `N passed, N failed`. Suites: `unit` (every *.test.ts outside test/), then one suite per folder
 * under test/ (integration, kube, chart, ...). `npm test -- unit integration` runs only those.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SKIP_DIRS = new Set(['node_modules', '.git', '.custos', 'dist']);

function findTests(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

interface Suite {
  name: string;
  files: string[];
  concurrency: number;
}

function suites(): Suite[] {
  const all = findTests(root);
  const testDir = join(root, 'test');
  const unit = all.filter((f) => !f.startsWith(testDir + '/'));
  const list: Suite[] = [{ name: 'unit', files: unit, concurrency: 2 }];
  for (const name of readdirSync(testDir).sort()) {
    const dir = join(testDir, name);
    if (!statSync(dir).isDirectory()) continue;
    const files = all.filter((f) => f.startsWith(dir + '/'));
    if (files.length) list.push({ name, files, concurrency: 1 });
  }
  return list;
}

function runSuite(suite: Suite): Promise<{ passed: number; failed: number; skipped: number }> {
  const tap = join(mkdtempSync(join(tmpdir(), 'custos-test-')), 'report.tap');
  const args = [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${suite.concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...suite.files.map((f) => relative(root, f)),
  ];
  console.log(`\n=== suite ${suite.name}: ${suite.files.length} file(s)`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
    child.on('exit', (code) => {
      const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
      const count = (label: string) => sumOf(text, label);
      let passed = count('pass');
      let failed = count('fail') + count('cancelled');
      const skipped = count('skipped') + count('todo');
      // A runner that died before writing its summary is a failure, never a silent pass.
      if (code !== 0 && failed === 0) failed = 1;
      if (!text && code === 0) passed = 0;
      console.log(`=== suite ${suite.name}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
      resolve({ passed, failed, skipped });
    });
  });
}

function sumOf(text: string, label: string): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^# ${label} (\\d+)$`, 'gm'))) total += Number(m[1]);
  return total;
}

const wanted = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const suite of suites()) {
  if (wanted.length && !wanted.includes(suite.name)) continue;
  const r = await runSuite(suite);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
