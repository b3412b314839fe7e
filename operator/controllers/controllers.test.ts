import { describe, test } from 'vitest';
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
import { nextDue, nextRun, outcomeOf } from './keyrotation.ts';
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

test('rollout planner: one node at a time, only while every other node is ready', async () => {
  const { planRollout, rolloutCondition, nodeRollout } = await import('./rollout.ts');
  const n = (id: string, updated: boolean, ready = true, observed = true) => ({ id, updated, ready, observed });
  // Nothing outdated: done.
  assert.deepEqual(planRollout([n('tss1', true), n('tss2', true)]), { action: 'done' });
  // All ready, two outdated: the first one only.
  const first = planRollout([n('tss1', true), n('tss2', false), n('tss3', false)]);
  assert.equal(first.action === 'restart' && first.node, 'tss2');
  // The restarted node is not ready yet: wait, whatever else is outdated.
  const waiting = planRollout([n('tss1', true), n('tss2', true, false), n('tss3', false)]);
  assert.equal(waiting.action, 'wait');
  assert.match(waiting.action === 'wait' ? waiting.reason : '', /tss2/);
  // A node that is down and outdated is the one to update (it costs no availability)...
  const heal = planRollout([n('tss1', true), n('tss2', false, false), n('tss3', false)]);
  assert.equal(heal.action === 'restart' && heal.node, 'tss2');
  // ...but never while another node is down too.
  assert.equal(planRollout([n('tss1', true, false), n('tss2', false, false), n('tss3', false)]).action, 'wait');
  assert.equal(planRollout([n('tss1', false, true, false), n('tss2', false)]).action, 'wait', 'stale status');

  // Whatever the states, at most one ready node is ever taken down at once.
  const states = [true, false];
  for (const u1 of states)
    for (const r1 of states)
      for (const u2 of states)
        for (const r2 of states)
          for (const u3 of states)
            for (const r3 of states) {
              const nodes = [n('tss1', u1, r1), n('tss2', u2, r2), n('tss3', u3, r3)];
              const step = planRollout(nodes);
              if (step.action !== 'restart') continue;
              const downAfter = nodes.filter((x) => !x.ready || x.id === step.node).length;
              assert.ok(downAfter <= 1, JSON.stringify({ nodes, step }));
              assert.ok(!nodes.find((x) => x.id === step.node)!.updated, 'only outdated nodes restart');
            }

  assert.equal(rolloutCondition([n('tss1', true)], { action: 'done' }).status, 'True');
  assert.match(
    rolloutCondition([n('tss1', true), n('tss2', false)], first).message,
    /1\/2 nodes updated; restarting tss2/,
  );
  assert.deepEqual(
    nodeRollout('tss1', {
      metadata: { generation: 2 },
      status: {
        observedGeneration: 2,
        readyReplicas: 1,
        updatedReplicas: 0,
        currentRevision: 'a',
        updateRevision: 'b',
      },
    }),
    { id: 'tss1', observed: true, ready: true, updated: false },
  );
  assert.equal(nodeRollout('tss1', undefined).observed, false);
});

test('cluster status shows each certificate expiry and last renewal, and the earliest expiry', () => {
  const c = cluster({ nodes: 2, keyDefaults: { shardCount: 2, threshold: 2 } });
  const cert = (notBefore: string, notAfter: string) => ({
    status: { conditions: [{ type: 'Ready', status: 'True' }], notBefore, notAfter, renewalTime: notAfter },
  });
  const s = clusterStatus(
    c,
    {
      statefulSets: new Map(),
      certificates: new Map([
        ['c-ca', cert('2026-01-01T00:00:00Z', '2036-01-01T00:00:00Z')],
        ['c-tss1', cert('2026-11-01T00:00:00Z', '2027-01-30T00:00:00Z')],
        ['c-tss2', cert('2026-11-20T00:00:00Z', '2027-02-18T00:00:00Z')],
        ['c-gateway', cert('2026-10-01T00:00:00Z', '2026-12-30T00:00:00Z')],
      ]),
      certManagerMissing: false,
      backupJobs: 0,
      rollout: { type: 'NodesUpToDate', status: 'False', reason: 'RollingUpdate', message: '1/2 nodes updated' },
    },
    't',
  );
  assert.deepEqual(
    s.certificates?.find((x) => x.name === 'c-tss2'),
    {
      name: 'c-tss2',
      ready: true,
      notAfter: '2027-02-18T00:00:00Z',
      lastRenewal: '2026-11-20T00:00:00Z',
      renewalTime: '2027-02-18T00:00:00Z',
    },
  );
  // The CA's ten years do not hide a leaf that expires first.
  assert.deepEqual(s.tls, { earliestExpiry: '2026-12-30T00:00:00Z', lastRenewal: '2026-11-20T00:00:00Z' });
  assert.equal(s.conditions?.find((x) => x.type === 'NodesUpToDate')?.reason, 'RollingUpdate');
});

describe('KeyRotation refresh outcomes', () => {
  const op = (status: string, reason: string | null = null) => ({
    operation_id: `op_${'a'.repeat(32)}`,
    kind: 'REFRESH' as const,
    key_id: `key_${'b'.repeat(32)}`,
    status: status as 'PENDING',
    reason,
    from_version: 1,
    to_version: 2,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  });

  test('a running operation has no outcome yet; SUCCEEDED and FAILED map to status and condition', () => {
    assert.equal(outcomeOf(op('RUNNING')), undefined);
    assert.equal(outcomeOf(op('PENDING')), undefined);
    const ok = outcomeOf(op('SUCCEEDED'))!;
    assert.deepEqual([ok.status.lastOutcome, ok.status.shareVersion, ok.condition.status], ['Succeeded', 2, 'True']);
    const failed = outcomeOf(op('FAILED', 'tss2 dropped the session'))!;
    assert.deepEqual(
      [failed.status.lastOutcome, failed.status.shareVersion, failed.condition.reason],
      ['Failed', 1, 'RefreshFailed'],
    );
    assert.match(failed.condition.message, /tss2 dropped the session/);
  });
});
