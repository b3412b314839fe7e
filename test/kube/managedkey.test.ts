/**
 * ManagedKey and KeyRotation against the real API server and a real Custos cluster (TSS node and
 * gateway processes on loopback, test/support/local-cluster.ts, with certificates of cluster
 * keys/custody). The operator reaches the gateway over HTTPS, trusting the CA from the gateway's
 * certificate Secret and only this cluster's gateway identity; being outside the cluster, it is
 * given the loopback address in code (never through the resource). It signs with the access key
 * held in the operator credentials Secret, pre-seeded here with the local gateway's bootstrap key.
 */
import { describe, test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevPki } from '../../common/pki/dev-pki.ts';
import { promisify } from 'node:util';
import { startLocalCluster, type LocalCluster } from '../support/local-cluster.ts';
import { certManagerCrds, startControlPlane, type ControlPlane } from './support/control-plane.ts';
import { clientFor, condition, ensureNamespace, eventually, installCrds, ROOT, startOperator } from './support/kube.ts';
import type { KubeClient, KubeObject } from '../../operator/kube/client.ts';
import type { Operator } from '../../operator/manager.ts';
import { RESOURCES } from '../../operator/api/v1alpha1/index.ts';
import { crdFileName } from '../../operator/crdgen.ts';
import { GatewayClient } from '../../operator/gateway-client.ts';
import { UNSUPPORTED_MESSAGE } from '../../operator/controllers/keyrotation.ts';

const run = promisify(execFile);
const NS = 'keys';
const CR = `/apis/custos.dev/v1alpha1/namespaces/${NS}`;
let cp: ControlPlane;
let lc: LocalCluster;
let client: KubeClient;
let op: Operator;
let gateway: GatewayClient;

const managedKey = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'custos.dev/v1alpha1',
  kind: 'ManagedKey',
  metadata: { name, namespace: NS },
  spec: { clusterRef: { name: 'custody' }, ...spec },
});
const getKey = (name: string) => client.get(`${CR}/managedkeys/${name}`);
const keyStatus = (o: KubeObject | undefined) =>
  (o?.status ?? {}) as {
    phase?: string;
    keyId?: string;
    address?: string;
    publicKey?: string;
    addresses?: Record<string, string>;
    keyStatus?: string;
  };

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'custos-kube-keys-'));
  await ensureDevPki(home, ['tss1', 'tss2', 'tss3', 'tss4'], { namespace: NS, cluster: 'custody' });
  [cp, lc] = await Promise.all([
    startControlPlane(),
    startLocalCluster({ home, nodeCount: 4, gg18PoolSize: 0, gatewayTls: true }),
  ]);
  client = clientFor(cp).client;
  gateway = new GatewayClient({
    baseUrl: lc.baseUrl,
    accessKey: lc.accessKey,
    secretKey: lc.secretKey,
    fetch: lc.fetch,
  });
  await installCrds(client, [...RESOURCES.map((r) => join(ROOT, 'crds', crdFileName(r))), certManagerCrds()]);
  await ensureNamespace(client, NS);
  await ensureNamespace(client, 'custos-system');
  // The operator keeps an existing credentials Secret: seed it with the local gateway's key.
  await client.create(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'custody-operator-credentials', namespace: NS },
    stringData: { access_key: lc.accessKey, secret_key: lc.secretKey },
  });
  // What cert-manager would have written for the gateway's Certificate.
  await client.create(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'custody-gateway-tls', namespace: NS },
    stringData: { 'ca.crt': readFileSync(join(home, 'certs', 'ca.cert'), 'utf8') },
  });
  await client.create(`${CR}/kmsclusters`, {
    apiVersion: 'custos.dev/v1alpha1',
    kind: 'KmsCluster',
    metadata: { name: 'custody', namespace: NS },
    spec: { nodes: 4 },
  });
  op = startOperator(cp, 'op-keys', { gatewayUrl: () => lc.baseUrl });
  await eventually('leadership', async () => op.leading);
});

afterAll(async () => {
  await op?.stop();
  await Promise.all([cp?.stop(), lc?.stop()]);
});

describe('ManagedKey through a real gateway', () => {
  test('creates the key once and mirrors id, addresses and public key into status', async () => {
    await client.create(
      `${CR}/managedkeys`,
      managedKey('hot-wallet', { format: { algoType: 'EDDSA', curve: 'ED25519' }, chains: ['SOLANA'] }),
    );
    const k = await eventually(
      'key Ready',
      async () => {
        const o = await getKey('hot-wallet');
        return keyStatus(o).phase === 'Ready' ? o : undefined;
      },
      180_000,
    );
    const s = keyStatus(k);
    assert.match(s.keyId!, /^key_[0-9a-f]{32}$/);
    const remote = await gateway.get(s.keyId!);
    assert.equal(remote.label, 'keys/hot-wallet');
    assert.equal(s.publicKey, remote.public_key);
    assert.equal(s.address, remote.address);
    assert.deepEqual(
      Object.keys(s.addresses ?? {}).map((c) => c.toLowerCase()),
      Object.keys(remote.addresses)
        .filter((c) => c.toLowerCase() === 'solana')
        .map((c) => c.toLowerCase()),
    );
    assert.equal(condition(k, 'Ready')?.status, 'True');
    assert.ok(k.metadata.finalizers?.includes('custos.dev/archive-key'));
  });

  test('a lost status never makes a second key: the label lookup adopts the existing one', async () => {
    const before = keyStatus(await getKey('hot-wallet')).keyId!;
    // As if the operator died after the gateway made the key but before status was written.
    await client.mergePatch(`${CR}/managedkeys/hot-wallet/status`, { status: { keyId: null, phase: 'Pending' } });
    const k = await eventually(
      'key re-mirrored',
      async () => {
        const o = await getKey('hot-wallet');
        return keyStatus(o).phase === 'Ready' && keyStatus(o).keyId ? o : undefined;
      },
      60_000,
    );
    assert.equal(keyStatus(k).keyId, before);
    const found = await gateway.findByLabel('keys/hot-wallet');
    assert.equal(found?.key_id, before);
  });

  test('spec.keyStatus FROZEN freezes the key on the gateway', async () => {
    await client.mergePatch(`${CR}/managedkeys/hot-wallet`, { spec: { keyStatus: 'FROZEN' } });
    await eventually('Frozen', async () => keyStatus(await getKey('hot-wallet')).phase === 'Frozen', 60_000);
    assert.equal((await gateway.get(keyStatus(await getKey('hot-wallet')).keyId!)).status, 'FROZEN');
  });

  test('a key the cluster cannot hold is refused with a clear condition', async () => {
    await client.create(
      `${CR}/managedkeys`,
      managedKey('too-wide', { shardProperties: { shardCount: 5, threshold: 2 } }),
    );
    const k = await eventually('Failed', async () => {
      const o = await getKey('too-wide');
      return keyStatus(o).phase === 'Failed' ? o : undefined;
    });
    assert.match(condition(k, 'Ready')!.message, /shardCount 5 exceeds the cluster's 4 nodes/);
    await client.delete(`${CR}/managedkeys/too-wide`);
  });

  test('KeyRotation: a due Refresh runs through the gateway, Reshare reports Unsupported, schedules are validated', async () => {
    // The key was frozen above, and a frozen key refuses a refresh (409 KEY_FROZEN): unfreeze it first.
    await client.mergePatch(`${CR}/managedkeys/hot-wallet`, { spec: { keyStatus: 'ACTIVE' } });
    const keyId = keyStatus(await getKey('hot-wallet')).keyId!;
    await eventually('key ACTIVE again', async () =>
      (await gateway.get(keyId)).status === 'ACTIVE' ? true : undefined,
    );
    await client.create(`${CR}/keyrotations`, {
      apiVersion: 'custos.dev/v1alpha1',
      kind: 'KeyRotation',
      metadata: { name: 'now', namespace: NS },
      spec: { keyRef: { name: 'hot-wallet' }, type: 'Refresh' },
    });
    await client.create(`${CR}/keyrotations`, {
      apiVersion: 'custos.dev/v1alpha1',
      kind: 'KeyRotation',
      metadata: { name: 'move', namespace: NS },
      spec: { keyRef: { name: 'hot-wallet' }, type: 'Reshare', reshare: { replaceNode: 'tss1', toNode: 'tss2' } },
    });
    await client.create(`${CR}/keyrotations`, {
      apiVersion: 'custos.dev/v1alpha1',
      kind: 'KeyRotation',
      metadata: { name: 'weekly', namespace: NS },
      spec: { keyRef: { name: 'hot-wallet' }, schedule: '0 3 * * 0' },
    });
    await client.create(`${CR}/keyrotations`, {
      apiVersion: 'custos.dev/v1alpha1',
      kind: 'KeyRotation',
      metadata: { name: 'broken', namespace: NS },
      spec: { keyRef: { name: 'hot-wallet' }, schedule: 'every sunday at 3' },
    });
    const now = await eventually(
      'one-shot refresh ran',
      async () => {
        const o = await client.get(`${CR}/keyrotations/now`);
        return (o?.status as { lastOutcome?: string })?.lastOutcome ? o : undefined;
      },
      240_000,
    );
    assert.equal((now.status as { lastOutcome: string }).lastOutcome, 'Succeeded', JSON.stringify(now.status));
    assert.equal((now.status as { shareVersion: number }).shareVersion, 2);
    assert.equal(condition(now, 'Ready')?.reason, 'Succeeded');
    const move = await eventually('reshare ran', async () => {
      const o = await client.get(`${CR}/keyrotations/move`);
      return (o?.status as { lastOutcome?: string })?.lastOutcome ? o : undefined;
    });
    assert.equal((move.status as { lastOutcome: string }).lastOutcome, 'Unsupported');
    assert.match(condition(move, 'Ready')!.message, new RegExp(UNSUPPORTED_MESSAGE.slice(0, 30)));
    const weekly = await eventually('scheduled', async () => {
      const o = await client.get(`${CR}/keyrotations/weekly`);
      return condition(o, 'Ready')?.reason === 'Scheduled' ? o : undefined;
    });
    const next = new Date((weekly.status as { nextRunTime: string }).nextRunTime);
    assert.equal(next.getUTCDay(), 0);
    assert.equal(next.getUTCHours(), 3);
    const broken = await eventually('invalid schedule reported', async () => {
      const o = await client.get(`${CR}/keyrotations/broken`);
      return condition(o, 'Ready') ? o : undefined;
    });
    assert.equal(condition(broken, 'Ready')?.reason, 'InvalidSchedule');
  });

  test('deleting the ManagedKey archives the key and never destroys it', async () => {
    const keyId = keyStatus(await getKey('hot-wallet')).keyId!;
    await client.delete(`${CR}/managedkeys/hot-wallet`);
    await eventually('resource gone', async () => (await getKey('hot-wallet')) === undefined, 60_000);
    const remote = await gateway.get(keyId);
    assert.equal(remote.status, 'ARCHIVED');
    assert.equal(remote.public_key.length > 0, true);
  });
});

describe('node readiness probe', () => {
  test('succeeds against an unsealed node over mTLS and fails once the node is down', async () => {
    const node = lc.nodes[0]!;
    const env = { ...process.env, CUSTOS_HOME: lc.home, CUSTOS_NODE_ID: node.id, CUSTOS_LISTEN: node.address };
    const probe = () =>
      run(process.execPath, ['--import', 'tsx', join(ROOT, 'operator/probes/node-ready.ts')], { env, cwd: ROOT }).then(
        () => 0,
        (e: { code?: number; stderr?: string }) => e.code ?? -1,
      );
    assert.equal(await probe(), 0);
    await lc.killNode(node.id);
    assert.equal(await probe(), 1);
  });
});
