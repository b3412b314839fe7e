/**
 * The operator against a real kube-apiserver, etcd and kube-controller-manager (built by
 * hack/kube/build.sh). No kubelet and no cert-manager controller run: the tests patch pod and
 * Certificate status the way they would.
 */
import { describe, test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { certManagerCrds, startControlPlane, type ControlPlane } from './support/control-plane.ts';
import {
  clientFor,
  condition,
  ensureNamespace,
  eventually,
  installCrds,
  markCertificateReady,
  markPodReady,
  readYaml,
  refusal,
  ROOT,
  startOperator,
} from './support/kube.ts';
import type { KubeClient, KubeObject } from '../../operator/kube/client.ts';
import type { Operator } from '../../operator/manager.ts';
import { RESOURCES } from '../../operator/api/v1alpha1/index.ts';
import { crdFileName } from '../../operator/crdgen.ts';

const NS = 'vault';
const CR = '/apis/custos.dev/v1alpha1';
let cp: ControlPlane;
let client: KubeClient;
let op: Operator;

const sample = (file: string) => readYaml(join(ROOT, 'config/samples', file))[0]!;
const withNs = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace: NS } });
const list = async (path: string, selector = 'app.kubernetes.io/instance=custody') =>
  (await client.list(path, `labelSelector=${encodeURIComponent(selector)}`)).items;
const getCluster = () => client.get(`${CR}/namespaces/${NS}/kmsclusters/custody`);

beforeAll(async () => {
  cp = await startControlPlane();
  client = clientFor(cp).client;
  await installCrds(client, [...RESOURCES.map((r) => join(ROOT, 'crds', crdFileName(r))), certManagerCrds()]);
  await ensureNamespace(client, NS);
  await ensureNamespace(client, 'custos-system');
});

afterAll(async () => {
  await op?.stop();
  await cp?.stop();
});

describe('CRD validation refuses invalid specs with readable messages', () => {
  const cluster = (spec: Record<string, unknown>, name = 'bad'): KubeObject => ({
    apiVersion: 'custos.dev/v1alpha1',
    kind: 'KmsCluster',
    metadata: { name, namespace: NS },
    spec,
  });
  test('threshold above shard count, shard count above nodes, PKCS#11 without settings', async () => {
    assert.match(
      (await refusal(client, cluster({ keyDefaults: { shardCount: 2, threshold: 3 } }))) ?? 'accepted',
      /keyDefaults.threshold must not exceed keyDefaults.shardCount/,
    );
    assert.match(
      (await refusal(client, cluster({ nodes: 3, keyDefaults: { shardCount: 4, threshold: 2 } }))) ?? 'accepted',
      /keyDefaults.shardCount must not exceed nodes/,
    );
    assert.match(
      (await refusal(client, cluster({ unseal: { mode: 'PKCS11' } }))) ?? 'accepted',
      /unseal.pkcs11 is required when mode is PKCS11/,
    );
    assert.match((await refusal(client, cluster({ nodes: 1 }))) ?? 'accepted', /spec.nodes: Invalid value: 1/);
    assert.match(
      (await refusal(client, cluster({ gateway: { replicas: 2 } }))) ?? 'accepted',
      /more than one gateway replica needs database.type MySQL and redis/,
    );
    assert.match(
      (await refusal(client, cluster({ gateway: { allowedClientCIDRs: ['10.0.0.0'] } }))) ?? 'accepted',
      /allowedClientCIDRs\[0\]/,
    );
    assert.equal(await refusal(client, cluster({})), undefined, 'an empty spec takes every default');
  });
  test('ManagedKey: curve must match the algorithm; KeyRotation: Reshare needs its target', async () => {
    const key = (format: Record<string, unknown>): KubeObject => ({
      apiVersion: 'custos.dev/v1alpha1',
      kind: 'ManagedKey',
      metadata: { name: 'bad-key', namespace: NS },
      spec: { clusterRef: { name: 'custody' }, format },
    });
    assert.match((await refusal(client, key({ algoType: 'EDDSA' }))) ?? 'accepted', /EDDSA keys use curve ED25519/);
    assert.match((await refusal(client, key({ algoType: 'RSA' }))) ?? 'accepted', /Unsupported value: "RSA"/);
    assert.match(
      (await refusal(client, {
        apiVersion: 'custos.dev/v1alpha1',
        kind: 'KeyRotation',
        metadata: { name: 'bad-rot', namespace: NS },
        spec: { keyRef: { name: 'k' }, type: 'Reshare' },
      })) ?? 'accepted',
      /reshare is required when type is Reshare/,
    );
  });
});

describe('fields that would break a running cluster are immutable; names that would overflow are refused', () => {
  const base = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'custos.dev/v1alpha1',
    kind: 'KmsCluster',
    metadata: { name, namespace: NS },
    spec,
  });
  /** Creates `spec`, then tries `change` on it; returns the refusal message, or undefined if accepted. */
  async function changeRefusal(spec: Record<string, unknown>, change: Record<string, unknown>) {
    const path = `${CR}/namespaces/${NS}/kmsclusters/immutable`;
    await client.create(`${CR}/namespaces/${NS}/kmsclusters`, base('immutable', spec));
    try {
      await client.mergePatch(path, { spec: change });
      return undefined;
    } catch (err) {
      return (err as Error).message;
    } finally {
      await client.delete(path);
      await eventually('deleted', async () => (await client.get(path)) === undefined);
    }
  }
  test('unseal.mode, secretPrefix, database.type, tls.issuerRef and storage cannot change', async () => {
    const pkcs11 = {
      mode: 'PKCS11',
      pkcs11: { modulePath: '/lib/x.so', tokenLabel: 't', keyLabel: 'k', pinSecretRef: { name: 'pin' } },
    };
    const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [
        {},
        { unseal: pkcs11, images: { pkcs11Sidecar: 'registry.example/custos-node:0.1.0' } },
        /unseal.mode is immutable/,
      ],
      [{}, { unseal: { password: { secretPrefix: 'mine' } } }, /secretPrefix is immutable/],
      [
        { unseal: { password: { secretPrefix: 'mine' } } },
        { unseal: { password: { secretPrefix: 'other' } } },
        /secretPrefix is immutable/,
      ],
      [
        {},
        {
          database: { type: 'MySQL', mysql: { host: 'db', credentialsSecret: 'db', network: { cidr: '10.0.0.0/8' } } },
        },
        /database.type is immutable/,
      ],
      [{}, { tls: { issuerRef: { name: 'corporate', kind: 'ClusterIssuer' } } }, /tls.issuerRef is immutable/],
      [{ tls: { issuerRef: { name: 'a' } } }, { tls: { issuerRef: { name: 'b' } } }, /tls.issuerRef is immutable/],
      [{}, { storage: { size: '2Gi' } }, /storage is immutable/],
      [{}, { storage: { storageClassName: 'fast' } }, /storage is immutable/],
    ];
    for (const [spec, change, message] of cases)
      assert.match((await changeRefusal(spec, change)) ?? 'accepted', message, JSON.stringify(change));
    // Mutable fields stay mutable.
    assert.equal(await changeRefusal({}, { images: { node: 'registry.example/custos-node:0.2.0' } }), undefined);
  });
  test('ManagedKey.clusterRef cannot change', async () => {
    const path = `${CR}/namespaces/${NS}/managedkeys/moving`;
    await client.create(`${CR}/namespaces/${NS}/managedkeys`, {
      apiVersion: 'custos.dev/v1alpha1',
      kind: 'ManagedKey',
      metadata: { name: 'moving', namespace: NS },
      spec: { clusterRef: { name: 'a' } },
    });
    try {
      await assert.rejects(client.mergePatch(path, { spec: { clusterRef: { name: 'b' } } }), /clusterRef is immutable/);
    } finally {
      await client.delete(path);
    }
  });
  test('a name whose generated names would overflow is refused; the longest allowed is accepted', async () => {
    assert.match((await refusal(client, base('c'.repeat(40), {}))) ?? 'accepted', /at most 39 characters/);
    assert.equal(
      await refusal(client, base('c'.repeat(39), { nodes: 16, keyDefaults: { shardCount: 3, threshold: 2 } })),
      undefined,
    );
  });
});

describe('KmsCluster reconcile', () => {
  test('the operator becomes leader and applies every owned object', async () => {
    op = startOperator(cp, 'op-a');
    await eventually('leadership', async () => op.leading);
    await client.create(`${CR}/namespaces/${NS}/kmsclusters`, withNs(sample('kmscluster.yaml')));

    const sts = await eventually('4 StatefulSets', async () => {
      const items = await list('/apis/apps/v1/namespaces/vault/statefulsets');
      return items.length === 4 ? items : undefined;
    });
    assert.deepEqual(sts.map((s) => s.metadata.name).sort(), [
      'custody-tss1',
      'custody-tss2',
      'custody-tss3',
      'custody-tss4',
    ]);
    const tss1 = sts.find((s) => s.metadata.name === 'custody-tss1') as unknown as {
      metadata: {
        ownerReferences: { kind: string; name: string; controller: boolean }[];
        managedFields: { manager: string; operation: string }[];
      };
      spec: {
        replicas: number;
        template: {
          spec: {
            automountServiceAccountToken: boolean;
            containers: { image: string; securityContext: Record<string, unknown> }[];
          };
        };
      };
    };
    assert.equal(tss1.spec.replicas, 1);
    assert.equal(tss1.spec.template.spec.automountServiceAccountToken, false);
    assert.equal(tss1.spec.template.spec.containers[0]!.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(
      tss1.metadata.ownerReferences.map((r) => [r.kind, r.name, r.controller]),
      [['KmsCluster', 'custody', true]],
    );
    assert.ok(
      tss1.metadata.managedFields.some((m) => m.manager === 'custos-operator' && m.operation === 'Apply'),
      'applied with server-side apply under the custos-operator field manager',
    );

    const names = async (path: string) => (await list(path)).map((o) => o.metadata.name).sort();
    await eventually(
      'cluster-wide objects',
      async () => (await names('/apis/apps/v1/namespaces/vault/deployments')).length === 1,
    );
    assert.deepEqual(await names('/apis/apps/v1/namespaces/vault/deployments'), ['custody-gateway']);
    assert.deepEqual(await names('/api/v1/namespaces/vault/services'), [
      'custody-console',
      'custody-gateway',
      'custody-tss1',
      'custody-tss2',
      'custody-tss3',
      'custody-tss4',
    ]);
    assert.deepEqual(await names('/apis/cert-manager.io/v1/namespaces/vault/certificates'), [
      'custody-ca',
      'custody-gateway',
      'custody-tss1',
      'custody-tss2',
      'custody-tss3',
      'custody-tss4',
    ]);
    assert.deepEqual(await names('/apis/cert-manager.io/v1/namespaces/vault/issuers'), [
      'custody-ca',
      'custody-selfsigned',
    ]);
    assert.deepEqual(await names('/apis/networking.k8s.io/v1/namespaces/vault/networkpolicies'), [
      'custody-console',
      'custody-default-deny',
      'custody-gateway',
      'custody-nodes',
    ]);
    assert.deepEqual(await names('/apis/policy/v1/namespaces/vault/poddisruptionbudgets'), ['custody-nodes']);
    assert.deepEqual(await names('/apis/batch/v1/namespaces/vault/cronjobs'), [
      'custody-tss1-backup',
      'custody-tss2-backup',
      'custody-tss3-backup',
      'custody-tss4-backup',
    ]);
    assert.deepEqual(await names('/api/v1/namespaces/vault/secrets'), [
      'custody-admin-credentials',
      'custody-console-admin',
      'custody-gateway-master-key',
      'custody-operator-credentials',
      'custody-unseal-tss1',
      'custody-unseal-tss2',
      'custody-unseal-tss3',
      'custody-unseal-tss4',
    ]);
    const nodesPolicy = (await client.get(
      '/apis/networking.k8s.io/v1/namespaces/vault/networkpolicies/custody-nodes',
    )) as unknown as {
      spec: { egress?: unknown[]; ingress: { ports: unknown[] }[]; policyTypes: string[] };
    };
    assert.deepEqual(nodesPolicy.spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(nodesPolicy.spec.egress ?? [], [], 'no egress from nodes');
    assert.deepEqual(nodesPolicy.spec.ingress[0]!.ports, [{ protocol: 'TCP', port: 9000 }]);
  });

  test('status follows certificates, node pods and gateway pods becoming ready', async () => {
    const first = await eventually('initial status', async () => {
      const c = await getCluster();
      return condition(c, 'Ready') ? c : undefined;
    });
    assert.equal(condition(first, 'Ready')?.status, 'False');
    assert.equal(condition(first, 'CertificatesReady')?.reason, 'Issuing');
    assert.equal(condition(first, 'BackupScheduled')?.status, 'True');
    assert.equal(condition(first, 'Ready')?.observedGeneration, 1);
    assert.equal(
      (first.status as { gateway: { endpoint: string } }).gateway.endpoint,
      'https://custody-gateway.vault.svc:8080',
    );

    for (const c of await list('/apis/cert-manager.io/v1/namespaces/vault/certificates'))
      await markCertificateReady(client, NS, c.metadata.name);
    await eventually(
      'CertificatesReady',
      async () => condition(await getCluster(), 'CertificatesReady')?.status === 'True',
    );

    // The StatefulSet controller (kube-controller-manager) creates the node pods; act as their kubelet.
    const nodePods = await eventually('4 node pods', async () => {
      const pods = await list(
        '/api/v1/namespaces/vault/pods',
        'app.kubernetes.io/instance=custody,app.kubernetes.io/component=node',
      );
      return pods.length === 4 ? pods : undefined;
    });
    for (const p of nodePods.slice(0, 2)) await markPodReady(client, NS, p.metadata.name);
    const degraded = await eventually('2 nodes ready', async () => {
      const c = await getCluster();
      return (c?.status as { readyNodes?: number })?.readyNodes === 2 ? c : undefined;
    });
    assert.equal(condition(degraded, 'NodesReady')?.status, 'False');
    assert.match(condition(degraded, 'NodesReady')!.message, /2\/4 nodes ready/);
    for (const p of nodePods.slice(2)) await markPodReady(client, NS, p.metadata.name);
    await eventually('NodesReady', async () => condition(await getCluster(), 'NodesReady')?.status === 'True');

    const gwPods = await eventually('gateway pod', async () => {
      const pods = await list(
        '/api/v1/namespaces/vault/pods',
        'app.kubernetes.io/instance=custody,app.kubernetes.io/component=gateway',
      );
      return pods.length >= 1 ? pods : undefined;
    });
    for (const p of gwPods) await markPodReady(client, NS, p.metadata.name);
    const ready = await eventually('Ready', async () => {
      const c = await getCluster();
      return condition(c, 'Ready')?.status === 'True' ? c : undefined;
    });
    assert.equal((ready.status as { phase: string }).phase, 'Ready');
    // The Event is recorded right after the status write.
    await eventually('an Event records the transition to Ready', async () => {
      const events = (await client.list(`/api/v1/namespaces/${NS}/events`)).items as unknown as {
        reason: string;
        type: string;
        involvedObject: { name: string; kind: string };
      }[];
      return events.some(
        (e) =>
          e.involvedObject.kind === 'KmsCluster' &&
          e.involvedObject.name === 'custody' &&
          e.reason === 'Ready' &&
          e.type === 'Normal',
      );
    });
  });

  test('a second reconcile writes nothing', async () => {
    await op.queues.KmsCluster.idle();
    const snapshot = async () => {
      const out: Record<string, string> = {};
      for (const path of [
        '/apis/apps/v1/namespaces/vault/statefulsets',
        '/apis/apps/v1/namespaces/vault/deployments',
        '/api/v1/namespaces/vault/services',
        '/apis/cert-manager.io/v1/namespaces/vault/certificates',
        '/apis/cert-manager.io/v1/namespaces/vault/issuers',
        '/apis/networking.k8s.io/v1/namespaces/vault/networkpolicies',
        '/apis/policy/v1/namespaces/vault/poddisruptionbudgets',
        '/apis/batch/v1/namespaces/vault/cronjobs',
        '/api/v1/namespaces/vault/secrets',
        `${CR}/namespaces/vault/kmsclusters`,
      ])
        for (const o of (await client.list(path)).items)
          out[`${o.kind ?? path}/${o.metadata.name}`] = o.metadata.resourceVersion!;
      out.events = String((await client.list(`/api/v1/namespaces/${NS}/events`)).items.length);
      return out;
    };
    // kube-controller-manager also writes (StatefulSet, Deployment, PDB status): start once it is quiet.
    const before = await eventually('objects settled', async () => {
      const a = await snapshot();
      await new Promise((r) => setTimeout(r, 1000));
      const b = await snapshot();
      return JSON.stringify(a) === JSON.stringify(b) ? b : undefined;
    });
    const applies = (await op.metrics.applies.get()).values.reduce((n, v) => n + v.value, 0);
    op.queues.KmsCluster.add(`${NS}/custody`);
    await op.queues.KmsCluster.idle();
    const appliesAfter = (await op.metrics.applies.get()).values.reduce((n, v) => n + v.value, 0);
    assert.ok(appliesAfter > applies, 'the reconcile did run and apply');
    assert.deepEqual(await snapshot(), before);
  });

  test('spec changes roll out: new image, a fifth node, backups removed', async () => {
    await client.mergePatch(`${CR}/namespaces/${NS}/kmsclusters/custody`, {
      spec: { nodes: 5, images: { node: 'registry.example/custos-node:0.2.0' }, backup: null },
    });
    await eventually('5 StatefulSets on the new image', async () => {
      const sts = (await list('/apis/apps/v1/namespaces/vault/statefulsets')) as unknown as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      }[];
      return (
        sts.length === 5 &&
        sts.every((s) => s.spec.template.spec.containers[0]!.image === 'registry.example/custos-node:0.2.0')
      );
    });
    await eventually(
      'CronJobs pruned',
      async () => (await list('/apis/batch/v1/namespaces/vault/cronjobs')).length === 0,
    );
    const gw = (await client.get('/apis/apps/v1/namespaces/vault/deployments/custody-gateway')) as unknown as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    assert.match(
      gw.spec.template.spec.containers[0]!.env.find((e) => e.name === 'CUSTOS_NODES')!.value!,
      /tss5=custody-tss5\.vault\.svc:9000$/,
    );
    const c = await eventually('observedGeneration 2', async () => {
      const x = await getCluster();
      return condition(x, 'BackupScheduled')?.observedGeneration === 2 ? x : undefined;
    });
    assert.equal(condition(c, 'BackupScheduled')?.reason, 'NotConfigured');
    assert.equal(condition(c, 'NodesReady')?.status, 'False', 'tss5 is not ready yet');
    const shrink = await client.mergePatch(`${CR}/namespaces/${NS}/kmsclusters/custody`, { spec: { nodes: 4 } }).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    assert.match(shrink, /nodes cannot be decreased/);
  });

  test('the image change rolls through the nodes one pod at a time, each only once all others are ready', async () => {
    const ids = ['tss1', 'tss2', 'tss3', 'tss4', 'tss5'];
    type Pod = { metadata: { uid: string }; status?: { conditions?: { type: string; status: string }[] } };
    const pod = (id: string) => client.get(`/api/v1/namespaces/${NS}/pods/custody-${id}-0`) as Promise<Pod | undefined>;
    const ready = (p: Pod | undefined) => p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    // tss5 was created on the new image; until it is ready nothing else may restart.
    await eventually('tss5 pod', async () => pod('tss5'));
    const uids = new Map<string, string>();
    for (const id of ids.slice(0, 4)) uids.set(id, (await pod(id))!.metadata.uid);
    await new Promise((r) => setTimeout(r, 1500));
    for (const id of ids.slice(0, 4))
      assert.equal((await pod(id))?.metadata.uid, uids.get(id), `${id} restarted early`);
    await markPodReady(client, NS, 'custody-tss5-0');

    const restarted: string[] = [];
    const deadline = Date.now() + 120_000;
    while (restarted.length < 4) {
      assert.ok(Date.now() < deadline, `rollout stalled after ${restarted.join(', ')}`);
      const pods = await Promise.all(ids.map(pod));
      const down = ids.filter((_, i) => !ready(pods[i]));
      assert.ok(down.length <= 1, `more than one node down at once: ${down.join(', ')}`);
      for (const [i, id] of ids.entries()) {
        const p = pods[i];
        if (!p || id === 'tss5' || p.metadata.uid === uids.get(id)) continue;
        // Recreated on the new revision: the kubelet would now start it and it would unseal.
        uids.set(id, p.metadata.uid);
        restarted.push(id);
        await markPodReady(client, NS, `custody-${id}-0`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(restarted, ['tss1', 'tss2', 'tss3', 'tss4'], 'one at a time, in order');
    const done = await eventually('NodesUpToDate', async () => {
      const x = await getCluster();
      return condition(x, 'NodesUpToDate')?.status === 'True' ? x : undefined;
    });
    assert.match(condition(done, 'NodesUpToDate')!.message, /5\/5 nodes updated/);
  });

  test('a reconcile that fails reports Ready=False with the reason, message and generation, and an Event', async () => {
    // A claim the operator cannot converge: storageClassName is immutable on a PVC.
    await client.create(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'broken-gateway-db', namespace: NS },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'slow', resources: { requests: { storage: '1Gi' } } },
    });
    await client.create(`${CR}/namespaces/${NS}/kmsclusters`, {
      apiVersion: 'custos.dev/v1alpha1',
      kind: 'KmsCluster',
      metadata: { name: 'broken', namespace: NS },
      spec: { storage: { storageClassName: 'fast' } },
    });
    try {
      const ready = await eventually('Ready=False ReconcileFailed', async () => {
        const c = condition(await client.get(`${CR}/namespaces/${NS}/kmsclusters/broken`), 'Ready');
        return c?.reason === 'ReconcileFailed' ? c : undefined;
      });
      assert.equal(ready.status, 'False');
      assert.equal(ready.observedGeneration, 1);
      assert.match(ready.message, /PersistentVolumeClaim broken-gateway-db/);
      // The Event is written after the condition: polled, not read once (it was absent at load 45).
      await eventually('a Warning Event', async () => {
        const events = (await client.list(`/api/v1/namespaces/${NS}/events`)).items as unknown as {
          reason: string;
          type: string;
          involvedObject: { name: string };
        }[];
        return events.some(
          (e) => e.reason === 'ReconcileFailed' && e.type === 'Warning' && e.involvedObject.name === 'broken',
        );
      });
    } finally {
      await client.delete(`${CR}/namespaces/${NS}/kmsclusters/broken`);
      await client.delete(`/api/v1/namespaces/${NS}/persistentvolumeclaims/broken-gateway-db`);
    }
  });

  test('the operator recovers its watches after the API server is killed mid-watch', async () => {
    const restarts = async () => (await op.metrics.informerRestarts.get()).values.reduce((n, v) => n + v.value, 0);
    const before = await restarts();
    await cp.restartApiServer(1500);
    await client.mergePatch(`${CR}/namespaces/${NS}/kmsclusters/custody`, {
      spec: { gateway: { allowedClientCIDRs: ['192.168.0.0/16'] } },
    });
    await eventually(
      'the change made after the restart is reconciled',
      async () => {
        const p = (await client.get(
          '/apis/networking.k8s.io/v1/namespaces/vault/networkpolicies/custody-gateway',
        )) as unknown as {
          spec: { ingress: { from: { ipBlock?: { cidr: string } }[] }[] };
        };
        return p.spec.ingress[0]!.from.some((f) => f.ipBlock?.cidr === '192.168.0.0/16');
      },
      90_000,
    );
    assert.ok((await restarts()) > before, 'informers were restarted by the supervisor');
    const gauge = await op.metrics.sinceLastEvent.get();
    assert.ok(
      gauge.values.some((v) => v.labels.informer === 'kmsclusters'),
      'seconds-since-last-event is exported',
    );
  });

  test('leader election hands over when the leader stops', async () => {
    const standby = startOperator(cp, 'op-b');
    try {
      // Evidence, not a pause: the standby read the lease held by the leader on three tries, more than
      // one renew period (500 ms) apart in all, and never led in between.
      let standbyLed = false;
      await eventually('the standby saw the held lease three times', async () => {
        standbyLed ||= standby.leading;
        return standby.elector.heldElsewhereSeen >= 3;
      });
      assert.equal(standbyLed || standby.leading, false, 'a second replica stays standby while the leader renews');
      assert.equal(op.leading, true, 'the leader kept its lease');
      await op.stop();
      await eventually('standby takes the lease', async () => standby.leading);
      const lease = (await client.get(
        '/apis/coordination.k8s.io/v1/namespaces/custos-system/leases/custos-operator',
      )) as unknown as {
        spec: { holderIdentity: string; leaseTransitions: number };
      };
      assert.equal(lease.spec.holderIdentity, 'op-b');
      // The new leader reconciles: a spec change is rolled out by it.
      await client.mergePatch(`${CR}/namespaces/${NS}/kmsclusters/custody`, {
        spec: { images: { gateway: 'registry.example/custos-gateway:0.2.0' } },
      });
      await eventually('new leader rolls out', async () => {
        const d = (await client.get('/apis/apps/v1/namespaces/vault/deployments/custody-gateway')) as unknown as {
          spec: { template: { spec: { containers: { image: string }[] } } };
        };
        return d.spec.template.spec.containers[0]!.image === 'registry.example/custos-gateway:0.2.0';
      });
    } finally {
      op = standby;
    }
  });

  test('deleting the KmsCluster garbage-collects what it owns, but keeps state: unseal and master-key Secrets, volumes', async () => {
    await client.delete(`${CR}/namespaces/${NS}/kmsclusters/custody`);
    await eventually(
      'owned objects collected',
      async () => {
        const left = [
          ...(await list('/apis/apps/v1/namespaces/vault/statefulsets')),
          ...(await list('/apis/apps/v1/namespaces/vault/deployments')),
          ...(await list('/apis/cert-manager.io/v1/namespaces/vault/certificates')),
          ...(await list('/apis/networking.k8s.io/v1/namespaces/vault/networkpolicies')),
          ...(await list('/api/v1/namespaces/vault/services')),
        ];
        return left.length === 0;
      },
      90_000,
    );
    const secrets = (await list('/api/v1/namespaces/vault/secrets')).map((s) => s.metadata.name).sort();
    const pvcs = (await list('/api/v1/namespaces/vault/persistentvolumeclaims')).map((p) => p.metadata.name);
    assert.ok(
      pvcs.includes('custody-gateway-db') && pvcs.includes('data-custody-tss1-0'),
      `volumes kept: ${pvcs.join(', ')}`,
    );
    assert.deepEqual(secrets, [
      'custody-gateway-master-key',
      'custody-unseal-tss1',
      'custody-unseal-tss2',
      'custody-unseal-tss3',
      'custody-unseal-tss4',
      'custody-unseal-tss5',
    ]);
  });
});
