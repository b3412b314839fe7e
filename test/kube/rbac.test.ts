/**
 * The chart's RBAC is enough for the operator and no more: the chart's ServiceAccount, ClusterRole,
 * Role and bindings (rendered by helm) are installed into a real API server, and the operator runs
 * impersonating that ServiceAccount.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { binary, startControlPlane, type ControlPlane } from './support/control-plane.ts';
import { clientFor, condition, ensureNamespace, eventually, installCrds, readYaml, ROOT } from './support/kube.ts';
import { KubeClient, KubeError, type KubeObject } from '../../operator/kube/client.ts';
import { Operator } from '../../operator/manager.ts';
import { RESOURCES } from '../../operator/api/v1alpha1/index.ts';
import { crdFileName } from '../../operator/crdgen.ts';

const SA = 'system:serviceaccount:custos-system:custos';
let cp: ControlPlane;
let admin: KubeClient;
let op: Operator;
let asOperator: KubeClient;

beforeAll(async () => {
  cp = await startControlPlane();
  admin = clientFor(cp).client;
  await installCrds(admin, [
    ...RESOURCES.map((r) => join(ROOT, 'crds', crdFileName(r))),
    join(ROOT, 'test/kube/fixtures/cert-manager-crds.yaml'),
  ]);
  await ensureNamespace(admin, 'custos-system');
  await ensureNamespace(admin, 'vault');
  const { stdout } = await promisify(execFile)(binary('helm'), [
    'template',
    'custos',
    join(ROOT, 'charts/custos'),
    '--namespace',
    'custos-system',
    '--kube-version',
    '1.30.0',
  ]);
  for (const doc of parseAllDocuments(stdout)) {
    const o = doc.toJS() as KubeObject | null;
    if (o && /Role|RoleBinding|ServiceAccount/.test(o.kind)) await admin.apply(o, 'custos-test');
  }
  const config = parse(readFileSync(cp.kubeconfigPath, 'utf8')) as { users: { user: Record<string, string> }[] };
  config.users[0]!.user.as = SA;
  const path = join(cp.dir, 'operator-sa.kubeconfig');
  writeFileSync(path, stringify(config), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  asOperator = new KubeClient(kc);
  op = new Operator({
    kc,
    log: pino({ level: 'silent' }),
    namespace: 'custos-system',
    identity: 'rbac',
    leaseDurationSeconds: 4,
    renewEveryMs: 500,
  });
  op.start();
});

afterAll(async () => {
  await op?.stop();
  await cp?.stop();
});

test('with only the chart RBAC the operator leads, reconciles and reports status', async () => {
  await eventually('leadership under the ServiceAccount', async () => op.leading);
  const cluster = readYaml(join(ROOT, 'config/samples/kmscluster.yaml'))[0]!;
  await admin.create('/apis/custos.dev/v1alpha1/namespaces/vault/kmsclusters', {
    ...cluster,
    metadata: { ...cluster.metadata, namespace: 'vault' },
  });
  const c = await eventually('status written', async () => {
    const o = await admin.get('/apis/custos.dev/v1alpha1/namespaces/vault/kmsclusters/custody');
    return condition(o, 'Ready') ? o : undefined;
  });
  assert.equal(condition(c, 'CertificatesReady')?.reason, 'Issuing');
  assert.equal((await admin.list('/apis/apps/v1/namespaces/vault/statefulsets')).items.length, 4);
  assert.equal((await admin.list('/apis/batch/v1/namespaces/vault/cronjobs')).items.length, 4);
  const errors = (await op.metrics.errors.get()).values.reduce((n, v) => n + v.value, 0);
  assert.equal(errors, 0, 'no reconcile was refused by RBAC');

  await admin.create('/apis/custos.dev/v1alpha1/namespaces/vault/managedkeys', {
    apiVersion: 'custos.dev/v1alpha1',
    kind: 'ManagedKey',
    metadata: { name: 'k', namespace: 'vault' },
    spec: { clusterRef: { name: 'custody' } },
  });
  await eventually('finalizer added', async () =>
    (await admin.get('/apis/custos.dev/v1alpha1/namespaces/vault/managedkeys/k'))?.metadata.finalizers?.includes(
      'custos.dev/archive-key',
    ),
  );
});

test('and no more: secrets cannot be listed, pods and namespaces are out of reach', async () => {
  const denied = async (path: string) =>
    asOperator.list(path).then(
      () => 'allowed',
      (e: unknown) => (e instanceof KubeError ? String(e.status) : String(e)),
    );
  assert.equal(await denied('/api/v1/namespaces/vault/secrets'), '403');
  assert.equal(await denied('/api/v1/pods'), '403');
  assert.equal(await denied('/api/v1/namespaces'), '403');
  assert.equal(await denied('/apis/apps/v1/daemonsets'), '403');
});
