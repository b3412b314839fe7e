import { test } from 'vitest';
import assert from 'node:assert/strict';
import {
  KeyRotationSpecSchema,
  KmsClusterSpecSchema,
  ManagedKeySpecSchema,
  type KeyRotation,
  type KmsCluster,
  type ManagedKey,
} from '../api/v1alpha1/index.ts';
import { setCondition, transitions } from './conditions.ts';
import { clusterStatus, type Observed } from './cluster-status.ts';
import { canonical } from './kmscluster.ts';
import { nextDue, nextRun } from './keyrotation.ts';
import { clusterMismatch, statusFromKey } from './managedkey.ts';

const cluster = (spec: unknown = {}): KmsCluster => ({
  apiVersion: 'custos.dev/v1alpha1',
  kind: 'KmsCluster',
  metadata: { name: 'c', namespace: 'ns', uid: 'u', generation: 3 },
  spec: KmsClusterSpecSchema.parse(spec),
});

test('conditions keep lastTransitionTime until the status changes', () => {
  const a = setCondition([], { type: 'Ready', status: 'False', reason: 'X', message: 'm' }, 1, 't1');
  const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Y', message: 'n' }, 2, 't2');
  assert.equal(b[0]!.lastTransitionTime, 't1');
  assert.equal(b[0]!.observedGeneration, 2);
  const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Z', message: 'o' }, 2, 't3');
  assert.equal(c[0]!.lastTransitionTime, 't3');
  assert.deepEqual(
    transitions(b, c).map((x) => x.type),
    ['Ready'],
  );
  assert.deepEqual(transitions(a, b), []);
});

test('cluster status: nothing ready, then quorum, then everything', () => {
  const c = cluster();
  const certs = (ready: boolean) =>
    new Map(
      ['c-ca', 'c-tss1', 'c-tss2', 'c-tss3', 'c-tss4', 'c-gateway'].map((n) => [
        n,
        { status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } },
      ]),
    );
  const sts = (n: number) =>
    new Map(Array.from({ length: n }, (_, i) => [`c-tss${i + 1}`, { status: { readyReplicas: 1 } }]));
  const obs = (o: Partial<Observed>): Observed => ({
    statefulSets: new Map(),
    certificates: certs(false),
    certManagerMissing: false,
    backupJobs: 0,
    ...o,
  });
  const none = clusterStatus(c, obs({}), 't');
  assert.equal(none.phase, 'Pending');
  assert.equal(none.conditions!.find((x) => x.type === 'Ready')!.reason, 'Issuing');
  assert.equal(none.conditions!.find((x) => x.type === 'BackupScheduled')!.reason, 'NotConfigured');
  const degraded = clusterStatus(
    c,
    obs({ certificates: certs(true), statefulSets: sts(2), deployment: { status: { readyReplicas: 1 } } }),
    't',
  );
  assert.equal(degraded.phase, 'Degraded');
  assert.equal(degraded.conditions!.find((x) => x.type === 'NodesReady')!.reason, 'Degraded');
  assert.deepEqual(
    degraded.nodes!.map((n) => n.ready),
    [true, true, false, false],
  );
  const ready = clusterStatus(
    c,
    obs({ certificates: certs(true), statefulSets: sts(4), deployment: { status: { readyReplicas: 1 } } }),
    't',
  );
  assert.equal(ready.phase, 'Ready');
  assert.ok(ready.conditions!.every((x) => x.observedGeneration === 3));
  const missing = clusterStatus(c, obs({ certManagerMissing: true }), 't');
  assert.equal(missing.conditions!.find((x) => x.type === 'CertificatesReady')!.reason, 'CertManagerMissing');
});

test('canonical JSON ignores key order only', () => {
  assert.equal(canonical({ a: 1, b: { c: 2, d: [1, 2] } }), canonical({ b: { d: [1, 2], c: 2 }, a: 1 }));
  assert.notEqual(canonical({ d: [1, 2] }), canonical({ d: [2, 1] }));
});

const rotation = (spec: unknown, status?: KeyRotation['status']): KeyRotation => ({
  apiVersion: 'custos.dev/v1alpha1',
  kind: 'KeyRotation',
  metadata: { name: 'r', namespace: 'ns', uid: 'u', creationTimestamp: '2026-03-04T10:00:00Z' },
  spec: KeyRotationSpecSchema.parse(spec),
  status,
});

test('rotation schedule: one-shot due once, cron from the last run, invalid cron explained', () => {
  const now = new Date('2026-03-05T12:00:00Z');
  assert.equal(nextDue(rotation({ keyRef: { name: 'k' } }), now), now);
  assert.equal(nextDue(rotation({ keyRef: { name: 'k' } }, { lastRunTime: '2026-03-05T11:00:00Z' }), now), undefined);
  const weekly = nextDue(rotation({ keyRef: { name: 'k' }, schedule: '0 3 * * 0' }), now) as Date;
  assert.equal(weekly.toISOString(), '2026-03-08T03:00:00.000Z');
  assert.match(nextRun('not a cron', now) as string, /invalid schedule "not a cron"/);
});

test('ManagedKey: mirrored status filters chains; mismatches with the cluster are explained', () => {
  const k: ManagedKey = {
    apiVersion: 'custos.dev/v1alpha1',
    kind: 'ManagedKey',
    metadata: { name: 'k', namespace: 'ns', uid: 'u' },
    spec: ManagedKeySpecSchema.parse({
      clusterRef: { name: 'c' },
      chains: ['EVM'],
      shardProperties: { shardCount: 5, threshold: 2 },
    }),
  };
  const s = statusFromKey(k, {
    key_id: `key_${'a'.repeat(32)}`,
    label: 'ns/k',
    status: 'FROZEN',
    format: { type: 'ECC', curve: 'SECP256K1', algo_type: 'GG18', size: 32 },
    shard_properties: { shard_count: 3, threshold: 2 },
    public_key: '0x02ab',
    address: '0xabc',
    addresses: { evm: '0xabc', bitcoin: 'bc1q' },
    shard_nodes: ['tss1', 'tss2', 'tss3'],
    created_at: 't',
    updated_at: 't',
  });
  assert.equal(s.phase, 'Frozen');
  assert.deepEqual(s.addresses, { evm: '0xabc' });
  assert.match(clusterMismatch(k, cluster())!, /shardCount 5 exceeds the cluster's 4 nodes/);
  assert.match(
    clusterMismatch(
      {
        ...k,
        spec: {
          ...k.spec,
          shardProperties: { shardCount: 3, threshold: 2 },
          format: { ...k.spec.format, algoType: 'BLS' },
        },
      },
      cluster({ algorithms: ['GG18'] }),
    )!,
    /BLS is not enabled/,
  );
});
