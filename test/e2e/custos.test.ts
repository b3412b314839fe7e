/**
 * Custos on a real Kubernetes cluster (docs/operator.md "End-to-end suite"): the chart, the
 * operator and the images built here, pods that sign, a node lost, a rolling image upgrade and a
 * certificate renewal under a signing load, enforced NetworkPolicies, PKCS#11 unseal with a
 * SoftHSM2 sidecar, and a KmsCluster deleted and re-created with its keys. The steps build on each
 * other and run in order; each has its own timeout, set from durations measured on 2 cores.
 */
import { describe, test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageRef, loadE2eEnv } from './support/env.ts';
import { kubeFor, waitFor } from './support/kube.ts';
import { prepareCluster, retagImage, stopCluster } from './support/setup.ts';
import {
  SIGN_SCRIPT,
  runInPod,
  startClientPod,
  startSignLoop,
  waitForResults,
  type SignResult,
} from './support/client-pod.ts';
import { tcpConnect, tlsServerSerial } from './support/netprobe.ts';
import { verifySignature, type E2eAlgo } from './support/verify.ts';
import {
  CLUSTER,
  KEYS,
  NAMESPACE,
  NODES,
  OPERATOR_NAMESPACE,
  adminCredentialsSecret,
  isReady,
  kmsCluster,
  managedKey,
  pods,
  waitClusterReady,
  waitKeyReady,
  type ClusterImages,
  type Pod,
} from './support/resources.ts';

const MIN = 60_000;
const HSM_NAMESPACE = 'custos-e2e-hsm';
const env = loadE2eEnv();
const kube = kubeFor(env);
const pullPolicy = env.loader === 'kind' ? 'IfNotPresent' : 'Never';
const images = (tag = env.tag): ClusterImages => ({
  node: imageRef(env, 'node', tag),
  gateway: imageRef(env, 'gateway', tag),
  pullPolicy,
});
const client = { namespace: NAMESPACE, name: 'e2e-client' };

interface KeyUnderTest {
  name: string;
  algo: E2eAlgo;
  keyId: string;
  publicKey: string;
  address: string;
}
const keys: KeyUnderTest[] = [];
/** Step name → seconds, and signing failures seen under load; written to .custos/e2e-report.json. */
const report: { steps: Record<string, number>; failures: Record<string, { signed: number; failed: number }> } = {
  steps: {},
  failures: {},
};

async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    report.steps[step] = Math.round((Date.now() - t0) / 100) / 10;
  }
}

const jobFor = (k: KeyUnderTest) => ({ keyId: k.keyId, dataType: k.algo === 'GG18' ? 'HASH' : 'RAW' }) as const;
const keyById = (id: string) => keys.find((k) => k.keyId === id)!;

/** Every result must be a signature that verifies under its key's public key. */
function assertSignaturesVerify(results: readonly SignResult[]): void {
  for (const r of results.filter((x) => x.ok)) {
    const k = keyById(r.keyId);
    assert.ok(verifySignature(k.algo, k.publicKey, r.data, r.signature!), `${k.algo} signature on ${r.data} verifies`);
  }
}

/** Runs `during` with a signing loop over every key; returns the loop's results. */
async function underSigningLoad(step: string, during: () => Promise<void>): Promise<SignResult[]> {
  const loop = startSignLoop(kube, client, keys.map(jobFor));
  await waitForResults(loop, keys.length, 3 * MIN);
  try {
    await during();
    // A few more signatures after the change: the cluster still signs, not just survived.
    await waitForResults(loop, keys.length, 3 * MIN);
  } finally {
    const results = await loop.stop();
    const failed = results.filter((r) => !r.ok);
    report.failures[step] = { signed: results.length - failed.length, failed: failed.length };
    console.log(`[e2e] ${step}: ${results.length - failed.length} signatures, ${failed.length} failures`);
    for (const f of failed.slice(0, 10)) console.log(`[e2e]   failure: ${f.keyId} ${f.error}`);
  }
  return loop.results;
}

async function signOnce(keyList: readonly KeyUnderTest[]): Promise<SignResult[]> {
  const jobs = keyList.map((k) => ({ ...jobFor(k), data: `0x${randomBytes(32).toString('hex')}` }));
  return runInPod<SignResult>(kube, client, SIGN_SCRIPT, [JSON.stringify(jobs)], 5 * MIN);
}

const nodePods = () => pods(kube, NAMESPACE, CLUSTER, 'node');

const READY_SCRIPT = `import { CustosClient } from '/app/dist/sdk/index.js';
const c = new CustosClient({ baseUrl: process.env.CUSTOS_URL, accessKey: process.env.CUSTOS_ACCESS_KEY, secretKey: process.env.CUSTOS_SECRET_KEY });
console.log(JSON.stringify({ ...(await c.ready()), keys: (await c.listKeys({ limit: 100 })).keys.length }));`;

/** Shares each node serves (the gateway's /ready view) and how many keys the gateway holds. */
async function shareCounts(): Promise<{ perNode: Map<string, number>; keys: number }> {
  const [r] = await runInPod<{ nodes: { node_id: string; sealed: boolean; share_count: number }[]; keys: number }>(
    kube,
    client,
    READY_SCRIPT,
    [],
    MIN,
  );
  return { perNode: new Map(r!.nodes.filter((n) => !n.sealed).map((n) => [n.node_id, n.share_count])), keys: r!.keys };
}

/**
 * Every node serves a share of every key (shardCount = NODES) and none serves fewer than `before`:
 * a node that came back from a restart lost nothing. Polled: the GG18 keygen may commit meanwhile.
 */
/** Share counts once every node is unsealed and reachable (a restarted node may still be coming back). */
async function allNodesServing(what: string): Promise<Map<string, number>> {
  return waitFor(
    what,
    async () => {
      const { perNode } = await shareCounts();
      if (perNode.size !== NODES) throw new Error(`${perNode.size} of ${NODES} nodes unsealed and reachable`);
      return perNode;
    },
    3 * MIN,
  );
}

async function assertEveryNodeServesItsShares(before: ReadonlyMap<string, number>): Promise<void> {
  await waitFor(
    'every node serving its shares',
    async () => {
      const { perNode, keys: held } = await shareCounts();
      for (const [node, was] of before) {
        const now = perNode.get(node);
        if (now === undefined) throw new Error(`${node} is sealed or unreachable`);
        if (now < was || now !== held) throw new Error(`${node} serves ${now} shares (before ${was}, keys ${held})`);
      }
      return true;
    },
    3 * MIN,
    5_000,
  );
}

async function readyKey(k: (typeof KEYS)[number], timeoutMs: number): Promise<KeyUnderTest> {
  const status = await waitKeyReady(kube, NAMESPACE, k.name, timeoutMs);
  return { name: k.name, algo: k.algo, keyId: status.keyId!, publicKey: status.publicKey!, address: status.address! };
}
const nodeIdOf = (p: Pod) => p.metadata.labels['custos.dev/node-id'];

let startedCluster = false;
beforeAll(async () => {
  startedCluster = await timed('cluster-up and images', () => prepareCluster(env, kube, 60 * MIN));
}, 61 * MIN);

afterAll(async () => {
  const dir = join(env.root, '.custos');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'e2e-report.json'), JSON.stringify(report, null, 2) + '\n');
  console.log(`[e2e] report: ${JSON.stringify(report)}`);
  // A cluster this run started is stopped again; one the caller had running stays up.
  if (startedCluster && process.env.CUSTOS_E2E_KEEP_CLUSTER !== '1') await stopCluster(env);
}, 6 * MIN);

describe('custos on a real Kubernetes cluster', () => {
  test('helm install: CRDs and the operator', { timeout: 10 * MIN }, async () => {
    await timed('helm install', async () => {
      await kube.helm([
        'upgrade',
        '--install',
        'custos',
        join(env.root, 'charts/custos'),
        '--namespace',
        OPERATOR_NAMESPACE,
        '--create-namespace',
        '--set',
        `image.registry=${env.registry}`,
        '--set',
        'image.repository=custos-operator',
        '--set',
        `image.tag=${env.tag}`,
        '--set',
        `image.pullPolicy=${pullPolicy}`,
        '--wait',
        '--timeout',
        '240s',
      ]);
    });
    // `make images` reuses the tag: restart so the operator runs the image just loaded.
    await kube.kubectl(['-n', OPERATOR_NAMESPACE, 'rollout', 'restart', 'deployment/custos']);
    await kube.kubectl(['-n', OPERATOR_NAMESPACE, 'rollout', 'status', 'deployment/custos', '--timeout=240s'], {
      timeoutMs: 5 * MIN,
    });
    const crds = await kube.kubectl(['get', 'crd', '-o', 'name']);
    for (const crd of ['kmsclusters.custos.dev', 'managedkeys.custos.dev', 'keyrotations.custos.dev'])
      assert.match(crds, new RegExp(crd.replace('.', '\\.')));
  });

  test('KmsCluster becomes Ready with every node unsealed', { timeout: 20 * MIN }, async () => {
    // A previous run's namespaces go first (the operator, now running, clears their finalizers).
    await kube.kubectl(['delete', 'namespace', NAMESPACE, HSM_NAMESPACE, '--ignore-not-found', '--timeout=300s'], {
      timeoutMs: 6 * MIN,
    });
    await kube.kubectl(['create', 'namespace', NAMESPACE], { timeoutMs: 30_000 });
    await timed('KmsCluster Ready', async () => {
      await kube.apply(kmsCluster(CLUSTER, NAMESPACE, images()));
      await waitClusterReady(kube, NAMESPACE, CLUSTER, 14 * MIN);
    });
    await startClientPod(kube, {
      ...client,
      image: imageRef(env, 'gateway'),
      pullPolicy,
      credentialsSecret: adminCredentialsSecret(CLUSTER),
      caSecret: `${CLUSTER}-ca`,
    });
    const [ready] = await runInPod<{
      ready: boolean;
      nodes: { node_id: string; sealed: boolean; reachable: boolean }[];
    }>(
      kube,
      client,
      `import { CustosClient } from '/app/dist/sdk/index.js';
       const c = new CustosClient({ baseUrl: process.env.CUSTOS_URL, accessKey: process.env.CUSTOS_ACCESS_KEY, secretKey: process.env.CUSTOS_SECRET_KEY });
       console.log(JSON.stringify(await c.ready()));`,
      [],
      MIN,
    );
    assert.equal(ready!.ready, true);
    assert.equal(ready!.nodes.length, NODES);
    for (const n of ready!.nodes) assert.ok(n.reachable && !n.sealed, `${n.node_id} reachable and unsealed`);
  });

  test('ManagedKeys for EDDSA and BLS become Ready with their addresses', { timeout: 10 * MIN }, async () => {
    await timed('ManagedKeys EDDSA and BLS Ready', async () => {
      // GG18 is applied now too: its keygen waits for every node's Paillier safe primes (minutes on
      // 2 busy cores), so it gets its own step later and the steps in between overlap that wait.
      for (const k of KEYS) await kube.apply(managedKey(k.name, NAMESPACE, CLUSTER, k.algo, k.curve));
      for (const k of KEYS.filter((x) => x.algo !== 'GG18')) keys.push(await readyKey(k, 8 * MIN));
    });
    assert.deepEqual(
      keys.map((k) => k.algo),
      ['EDDSA', 'BLS'],
    );
    assert.equal(new Set(keys.map((k) => k.keyId)).size, 2);
  });

  test('a client pod signs through the gateway Service; every signature verifies', { timeout: 10 * MIN }, async () => {
    const results = await timed('sign from a client pod', () => signOnce(keys));
    assert.equal(results.length, keys.length);
    for (const r of results) assert.ok(r.ok, `${keyById(r.keyId).algo} signs: ${r.error ?? ''}`);
    assertSignaturesVerify(results);
    // The verifier is not a yes-machine: a signature over other data is refused.
    const eddsa = results.find((r) => keyById(r.keyId).algo === 'EDDSA')!;
    assert.ok(!verifySignature('EDDSA', keys[0]!.publicKey, `0x${'00'.repeat(32)}`, eddsa.signature!));
  });

  test('a deleted node pod: signing continues and the pod returns with its shares', { timeout: 15 * MIN }, async () => {
    const victim = (await nodePods())[0]!;
    const id = nodeIdOf(victim);
    const results = await underSigningLoad('node pod deleted', async () => {
      await kube.kubectl(['-n', NAMESPACE, 'delete', 'pod', victim.metadata.name, '--wait=false']);
      await waitFor(
        `node ${id} back and Ready`,
        async () => {
          const p = (await nodePods()).find((x) => nodeIdOf(x) === id && x.metadata.uid !== victim.metadata.uid);
          if (p && isReady(p)) return true;
          throw new Error(`pod of ${id}: ${p ? 'not ready' : 'absent'}`);
        },
        10 * MIN,
      );
    });
    assertSignaturesVerify(results);
    assert.equal(results.filter((r) => !r.ok).length, 0, 'no signing failure while a node pod was replaced');
    // Its shares came back with it: the gateway sees it unsealed with as many shares as every key it holds.
    const [ready] = await runInPod<{ nodes: { node_id: string; sealed: boolean; share_count: number }[] }>(
      kube,
      client,
      `import { CustosClient } from '/app/dist/sdk/index.js';
       const c = new CustosClient({ baseUrl: process.env.CUSTOS_URL, accessKey: process.env.CUSTOS_ACCESS_KEY, secretKey: process.env.CUSTOS_SECRET_KEY });
       console.log(JSON.stringify(await c.ready()));`,
      [],
      MIN,
    );
    const node = ready!.nodes.find((n) => n.node_id === id)!;
    assert.equal(node.sealed, false);
    // With shardCount = NODES every key has a share on every node.
    assert.ok(node.share_count >= keys.length, `${id} serves ${node.share_count} shares`);
  });

  test('an image upgrade rolls the nodes one at a time with 0 signing failures', { timeout: 30 * MIN }, async () => {
    const next = `${env.tag}-e2e-upgrade`;
    for (const name of ['node', 'gateway']) await retagImage(env, imageRef(env, name), imageRef(env, name, next));
    const before = await allNodesServing('every node unsealed before the upgrade');
    assert.equal(before.size, NODES);
    let maxNotReady = 0;
    const results = await underSigningLoad('rolling upgrade', () =>
      timed('rolling upgrade', async () => {
        await kube.kubectl([
          '-n',
          NAMESPACE,
          'patch',
          'kmscluster',
          CLUSTER,
          '--type=merge',
          '-p',
          JSON.stringify({ spec: { images: images(next) } }),
        ]);
        await waitFor(
          'every node pod Ready on the new image',
          async () => {
            const list = await nodePods();
            const live = list.filter(isReady);
            maxNotReady = Math.max(maxNotReady, NODES - live.length);
            const upgraded = live.filter((p) => p.spec.containers.some((c) => c.image === imageRef(env, 'node', next)));
            if (upgraded.length === NODES) return true;
            throw new Error(`${upgraded.length}/${NODES} upgraded, ${live.length} ready`);
          },
          25 * MIN,
          1_000,
        );
      }),
    );
    assertSignaturesVerify(results);
    assert.ok(maxNotReady <= 1, `at most one node down at a time (saw ${maxNotReady})`);
    assert.equal(results.filter((r) => !r.ok).length, 0, 'no signing failure during the rolling upgrade');
    await assertEveryNodeServesItsShares(before);
  });

  test(
    'a forced certificate renewal: nodes serve the new certificates and signing continues',
    { timeout: 20 * MIN },
    async () => {
      const certs = await kube.kubectlJson<{ items: { metadata: { name: string }; spec: { secretName: string } }[] }>([
        '-n',
        NAMESPACE,
        'get',
        'certificates.cert-manager.io',
      ]);
      // Leaf certificates only: the CA stays (renewing it is a CA rotation, not a renewal).
      const leafCerts = certs.items.filter((c) => c.metadata.name !== `${CLUSTER}-ca`);
      const nodeCerts = leafCerts.filter((c) => /-tss\d+$/.test(c.metadata.name));
      assert.ok(
        nodeCerts.length >= NODES,
        `node certificates found: ${certs.items.map((c) => c.metadata.name).join(', ')}`,
      );
      const serialOf = async (secret: string) => {
        const s = await kube.kubectlJson<{ data: Record<string, string> }>(['-n', NAMESPACE, 'get', 'secret', secret]);
        return normalizeSerial(new X509Certificate(Buffer.from(s.data['tls.crt']!, 'base64')).serialNumber);
      };
      const before = new Map<string, string>();
      for (const c of leafCerts) before.set(c.spec.secretName, await serialOf(c.spec.secretName));
      const sharesBefore = await allNodesServing('every node unsealed before the renewal');
      // A probe pod with the gateway's labels: the only pods the node policy admits on 9000.
      const probe = { namespace: NAMESPACE, name: 'e2e-gateway-labelled' };
      await startClientPod(kube, {
        ...probe,
        image: imageRef(env, 'gateway'),
        pullPolicy,
        labels: gatewayLabels(),
        neverReady: true,
      });
      const results = await underSigningLoad('certificate renewal', () =>
        timed('certificate renewal', async () => {
          // What `cmctl renew` does: set the Issuing condition; cert-manager issues a new certificate.
          const now = new Date().toISOString();
          for (const c of certs.items) {
            await kube.kubectl([
              '-n',
              NAMESPACE,
              'patch',
              'certificate.cert-manager.io',
              c.metadata.name,
              '--subresource=status',
              '--type=merge',
              '-p',
              JSON.stringify({
                status: {
                  conditions: [
                    {
                      type: 'Issuing',
                      status: 'True',
                      reason: 'ManuallyTriggered',
                      message: 'e2e renewal',
                      lastTransitionTime: now,
                    },
                  ],
                },
              }),
            ]);
          }
          await waitFor(
            'every certificate Secret renewed',
            async () => {
              for (const [secret, serial] of before)
                if ((await serialOf(secret)) === serial) throw new Error(`${secret} not renewed yet`);
              return true;
            },
            5 * MIN,
          );
          // The kubelet updates Secret volumes within its sync period; the node reloads when the files change.
          await waitFor(
            'every node serving its renewed certificate',
            async () => {
              for (const p of await nodePods()) {
                const cert = nodeCerts.find((c) => c.metadata.name.endsWith(`-${nodeIdOf(p)}`))!;
                const served = await tlsServerSerial(kube, probe, p.status.podIP!, 9000);
                const want = await serialOf(cert.spec.secretName);
                if (normalizeSerial(served.serial ?? '') !== want)
                  throw new Error(`${nodeIdOf(p)} serves ${served.serial ?? served.error}, the Secret holds ${want}`);
              }
              return true;
            },
            8 * MIN,
            5_000,
          );
        }),
      );
      assertSignaturesVerify(results);
      assert.equal(results.filter((r) => !r.ok).length, 0, 'no signing failure during the certificate renewal');
      await assertEveryNodeServesItsShares(sharesBefore);
    },
  );

  test(
    'NetworkPolicies are enforced: only the gateway reaches a node, a node reaches nothing',
    { timeout: 10 * MIN },
    async () => {
      const node = (await nodePods()).find(isReady)!;
      const gateway = (await pods(kube, NAMESPACE, CLUSTER, 'gateway')).find(isReady)!;
      const labelled = { namespace: NAMESPACE, name: 'e2e-gateway-labelled' };
      await startClientPod(kube, {
        ...labelled,
        image: imageRef(env, 'gateway'),
        pullPolicy,
        labels: gatewayLabels(),
        neverReady: true,
      });
      // Control: a pod with the gateway's labels connects, so a refusal below is the policy's doing.
      assert.equal((await tcpConnect(kube, labelled, node.status.podIP!, 9000)).connected, true);
      const denied = await tcpConnect(kube, client, node.status.podIP!, 9000);
      assert.equal(denied.connected, false, `a pod without the gateway's labels reached ${nodeIdOf(node)}:9000`);

      // Egress from a node: the API server, the gateway, cluster DNS and the client pod all refused...
      const apiServer = await kube.kubectlJson<{ spec: { clusterIP: string } }>([
        '-n',
        'default',
        'get',
        'svc',
        'kubernetes',
      ]);
      const dns = await kube.kubectlJson<{ items: { spec: { clusterIP: string } }[] }>([
        '-n',
        'kube-system',
        'get',
        'svc',
        '-l',
        'k8s-app=kube-dns',
      ]);
      const targets: [string, string, number][] = [
        ['kubernetes API', apiServer.spec.clusterIP, 443],
        ['gateway', gateway.status.podIP!, 8080],
        ['cluster DNS (TCP)', dns.items[0]!.spec.clusterIP, 53],
      ];
      const fromNode = { namespace: NAMESPACE, name: node.metadata.name, container: 'node' };
      for (const [what, host, port] of targets) {
        const r = await tcpConnect(kube, fromNode, host, port);
        assert.equal(r.connected, false, `node ${nodeIdOf(node)} opened a connection to the ${what} (${host}:${port})`);
      }
      // ...while the same destinations answer an unrestricted pod (the client pod has no policy).
      assert.equal((await tcpConnect(kube, client, apiServer.spec.clusterIP, 443)).connected, true);
      assert.equal((await tcpConnect(kube, client, gateway.status.podIP!, 8080)).connected, true);
      assert.equal((await tcpConnect(kube, client, dns.items[0]!.spec.clusterIP, 53)).connected, true);
      await kube.kubectl(['-n', NAMESPACE, 'delete', 'pod', labelled.name, '--wait=false']);
    },
  );

  test('PKCS#11 mode: nodes with a SoftHSM2 sidecar unseal and sign', { timeout: 20 * MIN }, async () => {
    const ns = HSM_NAMESPACE;
    const name = 'hsm';
    await kube.kubectl(['create', 'namespace', ns], { timeoutMs: 30_000 }).catch(() => undefined);
    // The PIN baked into the test-only softhsm-sidecar image (Dockerfile, target softhsm-sidecar).
    await kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'hsm-pin', namespace: ns },
      stringData: { pin: 'e2e-pin-1234' },
    });
    await timed('PKCS#11 cluster Ready', async () => {
      await kube.apply(
        kmsCluster(
          name,
          ns,
          { ...images(), pkcs11Sidecar: imageRef(env, 'softhsm-sidecar') },
          {
            mode: 'PKCS11',
            pkcs11: {
              modulePath: '/usr/lib/softhsm/libsofthsm2.so',
              tokenLabel: 'custos-e2e',
              keyLabel: 'custos-kek',
              pinSecretRef: { name: 'hsm-pin', key: 'pin' },
            },
          },
        ),
      );
      await waitClusterReady(kube, ns, name, 15 * MIN);
      await kube.apply(managedKey('hsm-eddsa', ns, name, 'EDDSA', 'ED25519'));
      const status = await waitKeyReady(kube, ns, 'hsm-eddsa', 3 * MIN);
      assert.ok(status.publicKey);
    });
    // Free the two cores for what follows.
    await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  test('the GG18 ManagedKey becomes Ready with its address and signs', { timeout: 30 * MIN }, async () => {
    const spec = KEYS.find((k) => k.algo === 'GG18')!;
    const key = await timed('ManagedKey GG18 Ready', () => readyKey(spec, 29 * MIN));
    keys.push(key);
    const [r] = await signOnce([key]);
    assert.ok(r!.ok, r!.error);
    assertSignaturesVerify([r!]);
  });

  test(
    'a deleted KmsCluster keeps its volumes and unseal Secrets; re-created, it signs with the same keys',
    { timeout: 25 * MIN },
    async () => {
      const pvcsBefore = await names('pvc');
      const unsealBefore = (await names('secret')).filter((n) => n.startsWith(`${CLUSTER}-unseal-`));
      assert.ok(pvcsBefore.length >= NODES, `PVCs: ${pvcsBefore.join(', ')}`);
      assert.equal(unsealBefore.length, NODES);
      await timed('delete and re-create', async () => {
        await kube.kubectl(['-n', NAMESPACE, 'delete', 'kmscluster', CLUSTER, '--wait=true', '--timeout=300s'], {
          timeoutMs: 6 * MIN,
        });
        await waitFor(
          'node pods gone',
          async () => {
            const left = await nodePods();
            if (left.length === 0) return true;
            throw new Error(`${left.length} node pods left`);
          },
          5 * MIN,
        );
        const pvcsAfter = await names('pvc');
        for (const pvc of pvcsBefore) assert.ok(pvcsAfter.includes(pvc), `PVC ${pvc} kept`);
        const secretsAfter = await names('secret');
        for (const s of unsealBefore) assert.ok(secretsAfter.includes(s), `unseal Secret ${s} kept`);

        await kube.apply(kmsCluster(CLUSTER, NAMESPACE, images()));
        await waitClusterReady(kube, NAMESPACE, CLUSTER, 12 * MIN);
      });
      // The client pod's credentials came from the Secret at its start; start it afresh.
      await startClientPod(kube, {
        ...client,
        image: imageRef(env, 'gateway'),
        pullPolicy,
        credentialsSecret: adminCredentialsSecret(CLUSTER),
        caSecret: `${CLUSTER}-ca`,
      });
      const results = await waitFor(
        'the old keys signing again',
        async () => {
          const r = await signOnce(keys);
          if (r.every((x) => x.ok)) return r;
          throw new Error(r.map((x) => x.error).join('; '));
        },
        5 * MIN,
        5_000,
      );
      assertSignaturesVerify(results);
    },
  );
});

function gatewayLabels(): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'custos',
    'app.kubernetes.io/instance': CLUSTER,
    'app.kubernetes.io/component': 'gateway',
  };
}

function normalizeSerial(s: string): string {
  return s.toUpperCase().replace(/^0+/, '');
}

async function names(kind: string): Promise<string[]> {
  const out = await kube.kubectl(['-n', NAMESPACE, 'get', kind, '-o', 'name']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^[^/]+\//, ''));
}
