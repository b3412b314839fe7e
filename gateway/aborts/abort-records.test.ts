import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MpcSessionError } from '../coordinator/types.ts';
import { migrateToLatest, openDatabase } from '../db/index.ts';
import { healthyNodes } from '../testing/http-harness.ts';
import { selectKeygenNodes, selectSigners } from '../keys/node-selection.ts';
import { createMetrics } from '../metrics.ts';
import { classifyAbort, createAbortRecords } from './abort-records.ts';

const KEY = `key_${'c'.repeat(32)}`;
const session = (parties: string[]) => ({ id: randomBytes(9).toString('base64url'), parties });

test('an abort is pinned only on a proven culprit or a refuted accuser', () => {
  assert.deepEqual(classifyAbort(new MpcSessionError('bad share', 'tss3')), { outcome: 'guilty', node: 'tss3' });
  assert.deepEqual(
    classifyAbort(new MpcSessionError('lie', undefined, 'abort', { outcome: 'refuted', node: 'tss1' })),
    { outcome: 'refuted', node: 'tss1' },
  );
  assert.deepEqual(classifyAbort(new MpcSessionError('no evidence')), { outcome: 'unattributed' });
  assert.deepEqual(classifyAbort(new MpcSessionError('gone', 'tss2', 'unavailable')), {
    outcome: 'unavailable',
    node: 'tss2',
  });
  assert.deepEqual(classifyAbort(new Error('other')), { outcome: 'unattributed' });
});

test('records per key and signer set, metrics, and a repeated disruptor is no longer chosen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-aborts-'));
  const db = openDatabase({ url: `sqlite:${join(dir, 'g.db')}`, home: dir });
  await migrateToLatest(db);
  const metrics = createMetrics();
  const aborts = createAbortRecords({ db, metrics, disruptionLimit: 3 });
  const record = (err: unknown) =>
    aborts.record({
      keyId: KEY,
      operation: 'KEY_SIGN',
      algo: 'EDDSA',
      nodes: ['tss1', 'tss3'],
      err,
    });

  for (let i = 0; i < 2; i++) {
    await record(new MpcSessionError('bad share', 'tss3', 'abort', undefined, session(['tss3', 'tss1'])));
  }
  await record(
    new MpcSessionError('lie', undefined, 'abort', { outcome: 'refuted', node: 'tss1' }, session(['tss1', 'tss2'])),
  );
  await record(new MpcSessionError('nobody', undefined, 'abort', undefined, session(['tss1', 'tss3'])));
  assert.deepEqual([...(await aborts.disruptors())], [], 'two proven aborts are below the limit');
  await record(new MpcSessionError('bad share', 'tss3', 'abort', undefined, session(['tss1', 'tss3'])));
  assert.deepEqual([...(await aborts.disruptors())], ['tss3']);

  const excluded = await aborts.disruptors();
  assert.deepEqual(selectSigners(healthyNodes(), ['tss1', 'tss2', 'tss3'], 2, excluded), ['tss1', 'tss2']);
  assert.equal(selectSigners(healthyNodes(), ['tss1', 'tss3'], 2, excluded), undefined);
  assert.ok(!selectKeygenNodes(healthyNodes(), 3, excluded)!.includes('tss3'));

  const summary = await aborts.summary(KEY);
  const bySet = Object.fromEntries(summary.map((s) => [s.signers.join(','), s]));
  assert.equal(bySet['tss1,tss3']!.guilty, 3);
  assert.equal(bySet['tss1,tss3']!.unattributed, 1);
  assert.equal(bySet['tss1,tss2']!.refuted, 1);

  const text = await metrics.registry.metrics();
  assert.match(text, /custos_mpc_aborts_total\{operation="KEY_SIGN",algo="EDDSA",outcome="guilty"\} 3/);
  assert.match(text, /custos_node_disruptions_total\{node="tss1",outcome="refuted"\} 1/);
  await db.destroy();
});
