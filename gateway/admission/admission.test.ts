import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { ApiError } from '../http/errors.ts';
import { createAdmission, retryAfterSeconds } from './admission.ts';

/** A piece of work the test finishes by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('admission control', () => {
  test(
    'runs up to the concurrency, queues up to the bound in order, refuses the rest with 429 and Retry-After',
    { timeout: 10_000 },
    async () => {
      const admission = createAdmission({ GG18: { concurrency: 2, queue: 1 } }, { GG18: 3000 });
      const started: number[] = [];
      const gates = [gate(), gate(), gate()];
      const runs = gates.map((g, i) =>
        admission.run('GG18', async () => {
          started.push(i);
          await g.promise;
          return i;
        }),
      );
      await Promise.resolve();
      assert.deepEqual(started, [0, 1]);
      assert.deepEqual(admission.depth('GG18'), { running: 2, waiting: 1 });

      let touched = false;
      const refused = await admission
        .run('GG18', async () => {
          touched = true;
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      assert.ok(refused instanceof ApiError);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['retry-after'], String(retryAfterSeconds({ concurrency: 2, queue: 1 }, 3000)));
      assert.equal(touched, false, 'refused work never starts');

      gates[0]!.open();
      assert.equal(await runs[0], 0);
      assert.deepEqual(started, [0, 1, 2]);
      assert.deepEqual(admission.depth('GG18'), { running: 2, waiting: 0 });
      gates[1]!.open();
      gates[2]!.open();
      assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
      assert.deepEqual(admission.depth('GG18'), { running: 0, waiting: 0 });
    },
  );

  test(
    'a failing session frees its slot; algorithms without limits and other algorithms are not held up',
    { timeout: 10_000 },
    async () => {
      const admission = createAdmission({ GG18: { concurrency: 1, queue: 0 }, EDDSA: { concurrency: 1, queue: 0 } });
      await assert.rejects(
        admission.run('GG18', async () => {
          throw new Error('session broke');
        }),
        /session broke/,
      );
      assert.deepEqual(admission.depth('GG18'), { running: 0, waiting: 0 });
      const held = gate();
      const gg18 = admission.run('GG18', () => held.promise);
      assert.equal(await admission.run('EDDSA', async () => 'eddsa'), 'eddsa');
      assert.equal(await admission.run('BLS', async () => 'bls'), 'bls');
      await assert.rejects(
        admission.run('GG18', async () => 'second'),
        (e: unknown) => e instanceof ApiError && e.status === 429,
      );
      held.open();
      await gg18;
    },
  );

  test('Retry-After grows with the queue a client would wait behind', () => {
    assert.equal(retryAfterSeconds({ concurrency: 4, queue: 0 }, 10), 1);
    assert.equal(retryAfterSeconds({ concurrency: 2, queue: 8 }, 2000), 10);
  });
});
