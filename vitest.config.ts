/**
 * The test suites, as vitest projects: `unit` (every *.test.ts outside test/) and one project per
 * folder under test/ (a new folder is a new suite, no change here needed). test/run.ts runs them one
 * suite at a time and prints the closing `N passed, N failed, N skipped` line.
 */
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { processSuites } from './test/support/suites.ts';

const root = new URL('.', import.meta.url).pathname;

/** Not test code, or not ours. */
const IGNORED = ['**/node_modules/**', '**/dist/**', '**/.custos/**', '**/.git/**'];

interface Limits {
  /** Longest a single test may run before it fails. */
  testTimeout: number;
  /** Longest a before/after hook may run (process suites start clusters in beforeAll). */
  hookTimeout: number;
}

/**
 * Per-suite limits from the slowest test or hook measured on 2 cores shared by seven jobs
 * (2026-12-01, load ~30): unit I/O tests under 15 s, CPU-bound BLS/ZK tests up to 80 s (the GG18
 * files set 10 min themselves); chart 3 s; integration 47 s, cluster start in beforeAll up to 100 s;
 * kube 58 s; hsm 71 s. A hang fails in minutes; a folder not listed (a new process suite) gets
 * PROCESS_SUITE_LIMITS.
 */
const LIMITS: Record<string, Limits> = {
  unit: { testTimeout: 120_000, hookTimeout: 60_000 },
  chart: { testTimeout: 60_000, hookTimeout: 60_000 },
  hsm: { testTimeout: 120_000, hookTimeout: 180_000 },
  // gg18.test.ts's beforeAll starts a cluster (up to 100 s) and runs a keygen that waits for safe
  // primes, which that file allows 240 s: 300 s timed it out twice at load ~35.
  integration: { testTimeout: 180_000, hookTimeout: 420_000 },
  kube: { testTimeout: 180_000, hookTimeout: 300_000 },
  e2e: { testTimeout: 600_000, hookTimeout: 900_000 },
};
const PROCESS_SUITE_LIMITS: Limits = { testTimeout: 300_000, hookTimeout: 600_000 };

export default defineConfig({
  test: {
    // Native addons (better-sqlite3, classic-level, pkcs11js) and real child processes: one process per file.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          // test/support's own tests check the runner's pure logic: they are unit tests too.
          include: ['**/*.test.ts', 'test/support/**/*.test.ts'],
          exclude: [...IGNORED, 'test/!(support)/**'],
          fileParallelism: true,
          ...LIMITS.unit,
        },
      },
      ...processSuites(join(root, 'test')).map((name) => ({
        test: {
          name,
          include: [`test/${name}/**/*.test.ts`],
          exclude: IGNORED,
          // Real processes on fixed resources (ports, a control plane): one file at a time.
          fileParallelism: false,
          ...(LIMITS[name] ?? PROCESS_SUITE_LIMITS),
        },
      })),
    ],
  },
});
