import { test } from 'vitest';
import assert from 'node:assert/strict';
import { backoffDelay } from './informer.ts';
import { canAcquire } from './leader.ts';
import { resourcePath } from './client.ts';
import { WorkQueue } from './queue.ts';

test('backoff is jittered within an exponentially growing, capped window', () => {
  assert.equal(
    backoffDelay(0, 500, 30_000, () => 0.999),
    499,
  );
  assert.equal(
    backoffDelay(3, 500, 30_000, () => 0.5),
    2000,
  );
  assert.equal(
    backoffDelay(30, 500, 30_000, () => 0.5),
    15_000,
    'capped at maxMs',
  );
  assert.equal(
    backoffDelay(5, 500, 30_000, () => 0),
    100,
    'never a busy loop',
  );
});

test('a lease may be taken when free, ours, or expired, never while another holder renews', () => {
  const now = new Date('2026-01-01T00:00:30Z');
  assert.ok(canAcquire({}, 'a', now));
  assert.ok(canAcquire({ holderIdentity: 'a', renewTime: '2026-01-01T00:00:29Z', leaseDurationSeconds: 15 }, 'a', now));
  assert.ok(
    !canAcquire({ holderIdentity: 'b', renewTime: '2026-01-01T00:00:20Z', leaseDurationSeconds: 15 }, 'a', now),
  );
  assert.ok(canAcquire({ holderIdentity: 'b', renewTime: '2026-01-01T00:00:10Z', leaseDurationSeconds: 15 }, 'a', now));
});

test('resource paths for core, grouped, namespaced and cluster-scoped kinds', () => {
  assert.equal(resourcePath('v1', 'Secret', 'vault', 's'), '/api/v1/namespaces/vault/secrets/s');
  assert.equal(resourcePath('apps/v1', 'StatefulSet', 'vault'), '/apis/apps/v1/namespaces/vault/statefulsets');
  assert.equal(
    resourcePath('rbac.authorization.k8s.io/v1', 'ClusterRole', 'ignored', 'r'),
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/r',
  );
  assert.throws(() => resourcePath('v1', 'Widget'), /unknown kind Widget/);
});

test('work queue: one run per key at a time, a change during a run runs it again, failures retry', async () => {
  const runs: string[] = [];
  let fail = true;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const errors: string[] = [];
  const q = new WorkQueue(
    async (key) => {
      runs.push(key);
      if (key === 'a' && runs.length === 1) await gate;
      if (key === 'b' && fail) {
        fail = false;
        throw new Error('boom');
      }
    },
    (key) => errors.push(key),
    { baseMs: 1, maxMs: 2 },
  );
  q.start();
  q.add('a');
  q.add('a'); // while running: marks it dirty
  q.add('a');
  release();
  await q.idle();
  assert.deepEqual(runs, ['a', 'a'], 'coalesced into exactly one re-run');
  q.add('b');
  // The retry comes from a backoff timer: wait for it, however slow the machine.
  for (let i = 0; i < 500 && runs.filter((k) => k === 'b').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  await q.idle();
  assert.deepEqual(errors, ['b']);
  assert.deepEqual(
    runs.filter((k) => k === 'b'),
    ['b', 'b'],
    'retried after the failure',
  );
  q.stop();
});
